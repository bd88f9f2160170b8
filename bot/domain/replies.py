"""What the bot says, as plain data: the domain builds replies, handlers render them.

Keeping these free of `telegram` types lets the domain be tested without a bot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.callbacks import CallbackData


@dataclass(frozen=True)
class Button:
    label: str
    callback: CallbackData

    @property
    def data(self) -> str:
        """What Telegram carries back when the button is pressed (at most 64 bytes)."""
        return self.callback.pack()


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # A reply keyboard under the text field; "location" asks for the user's location.
    keyboard: tuple[tuple[str, ...], ...] = ()
    location_button: str | None = None
    remove_keyboard: bool = False
    # Replace the message whose button was pressed instead of sending a new one.
    edit: bool = False
    # Arrives without a notification sound (Telegram's disable_notification).
    silent: bool = False
    # A picture (PNG) or a file sent with the text as its caption; never edited in place.
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None

    @property
    def has_file(self) -> bool:
        return self.photo is not None or self.document is not None


@dataclass
class Answer:
    """A handler's result: messages to send, and `toast`, what a pressed button did in a few
    words: the button is answered before the work is done, so the toast is shown (as a quiet
    message) only when no reply shows the outcome."""

    replies: list[Reply] = field(default_factory=list)
    toast: str | None = None

    def say(self, text: str, *rows: tuple[Button, ...] | list[Button], **options: object) -> Answer:
        self.replies.append(Reply(text, tuple(tuple(row) for row in rows), **options))  # type: ignore[arg-type]
        return self


def row(*buttons: Button) -> tuple[Button, ...]:
    return buttons
