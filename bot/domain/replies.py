"""What the bot says, as plain data: the domain builds replies, handlers render them.

Keeping these free of `telegram` types lets the domain be tested without a bot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from bot.domain.callbacks import CallbackData

# Telegram's limit for the text under a photo or a document, in UTF-16 code units (an
# emoji outside the basic plane counts twice).
CAPTION_LIMIT: Final = 1024


def telegram_length(text: str) -> int:
    """The length Telegram checks its limits against (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def caption_fits(text: str) -> bool:
    """Whether `text` fits under a photo; a longer text follows the photo as a message."""
    return telegram_length(text) <= CAPTION_LIMIT


def clip_caption(text: str) -> str:
    """`text` cut to fit under a photo, ending in "…" when cut."""
    if caption_fits(text):
        return text
    kept = text.encode("utf-16-le")[:2 * (CAPTION_LIMIT - 1)].decode("utf-16-le", "ignore")
    return kept.rstrip() + "…"


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
    # A position's or test's picture (bot.domain.pictures key): sent as a photo with the
    # text as its caption when it fits, else followed by the text as a message of its own.
    picture: str | None = None
    # On an edit: the message is a photo, so its caption is what changes.
    caption: bool = False
    # Pictures with their captions, sent as albums (of up to 10) before the text, if any.
    album: tuple[tuple[str, str], ...] = ()
    # (break id, attempt) of a break whose live message this reply becomes when it is
    # sent as a new message: its id is recorded once Telegram gives it.
    live_of: tuple[int, int] | None = None

    @property
    def has_file(self) -> bool:
        return self.photo is not None or self.document is not None

    def replaces(self, pressed_photo: bool) -> bool:
        """Whether this reply (with `edit`) can take the place of the pressed message: a
        text message cannot become a photo, nor a photo carry a text too long for a
        caption. Otherwise it comes as a new message."""
        if self.has_file or self.album:
            return False
        if self.picture is not None and not pressed_photo:
            return False
        return caption_fits(self.text) if pressed_photo else True


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
