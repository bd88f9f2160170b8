"""How the domain talks to the outside: a `Sender` and the failures it reports.

The Telegram implementation is `TelegramSender` in `bot/adapter/sender.py`; tests pass their own.
"""

from __future__ import annotations

from typing import Protocol

from bot.domain.replies import Reply


class SendFailed(Exception):
    """A message could not be delivered."""


class Blocked(SendFailed):
    """The user blocked the bot or no longer exists (403): stop sending to them."""


class TryLater(SendFailed):
    """A passing failure (5xx, timeout, connection refused, 429 after retries)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Rejected(SendFailed):
    """Telegram refused this particular message (400): sending it again will not help."""


class Sender(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> int:
        """Sends a message and returns its message id."""

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        """Replaces a message's text and buttons (quietly: no notification)."""
