"""One exchange with a user, as features see it: a `Turn` in, an `Answer` out.

    async def pause(turn: Turn) -> Answer: ...                       # a command or a step
    async def on_button(turn: Turn, tap: PauseChoice) -> Answer: ...  # a button, its data typed

Features never talk to Telegram; the adapter (bot/adapter) builds the turn inside one
database transaction and renders the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.content import Program
from bot.domain.guided_break import Studio
from bot.domain.i18n import _
from bot.domain.pictures import Pictures
from bot.storage.db import Database
from bot.storage.models import User
from handlers.places import Places


@dataclass
class Services:
    """What handlers and jobs share: settings, the database, the clock and the content."""

    settings: Settings
    database: Database
    clock: Clock
    program: Program
    # Each position's and test's picture; None sends the texts alone.
    pictures: Pictures | None = None
    # The bot's @name without the "@", known once Telegram answered getMe (invitation links).
    bot_username: str = ""
    # Place names and locations to time zones; its indexes load in a thread at start-up.
    places: Places = field(default_factory=Places)

    @property
    def studio(self) -> Studio:
        return Studio(self.settings.studio_name, self.settings.studio_contact)


class Owned(Protocol):
    user_id: int


Row = TypeVar("Row", bound=Owned)


@dataclass
class Turn:
    session: AsyncSession
    services: Services
    user: User
    now: datetime
    text: str = ""  # the typed text or the command's arguments
    first_name: str = ""  # as Telegram gives it with the update; never stored
    latitude: float | None = None
    longitude: float | None = None
    # The message whose button was pressed (what an edit replaces), if any.
    message_id: int | None = None
    # Whether that message is a photo (an edit then changes its caption or picture).
    pressed_photo: bool = False
    # The soonest due message this turn scheduled, so the dispatcher can wake for it.
    wake_at: datetime | None = field(default=None)

    def t(self, message: str, **params: object) -> str:
        """Translates a sentence into the user's language."""
        return _(message, self.user.language, **params)

    def wake(self, when: datetime | None) -> None:
        if when is not None and (self.wake_at is None or when < self.wake_at):
            self.wake_at = when

    async def own(self, model: type[Row], row_id: int) -> Row | None:
        """The row a button names, locked for this turn, if it is this user's: a forged or
        another user's id finds nothing."""
        row = await self.session.get(model, row_id, with_for_update=True)
        return row if row is not None and row.user_id == self.user.id else None
