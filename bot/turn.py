"""One exchange with a user: what the domain gets from the handler layer.

Domain functions take a `Turn` and return an `Answer`; they never talk to Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.models import User
from bot.services import Services


@dataclass
class Turn:
    session: AsyncSession
    services: Services
    user: User
    now: datetime
    text: str = ""  # the typed text, command arguments, or the button's data after its prefix
    latitude: float | None = None
    longitude: float | None = None
    # The soonest due message this turn scheduled, so the dispatcher can wake for it.
    wake_at: datetime | None = field(default=None)

    def t(self, message: str, **params: object) -> str:
        """Translates a sentence into the user's language."""
        return _(message, self.user.language, **params)

    def wake(self, when: datetime) -> None:
        if self.wake_at is None or when < self.wake_at:
            self.wake_at = when
