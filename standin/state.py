"""Records the stand-in keeps about what happened, as read by tests.

`ChatMessage` is one message in a simulated private chat (sent by the bot or by
the user), kept up to date in place when the bot edits or deletes it, so a test
holding a message sees later edits. `CallRecord` is one Bot API call,
`CallbackAnswer` one answerCallbackQuery, `StoredFile` an uploaded file,
`Signal` the wake-up used by the waiting helpers, and `image_size` reads the
dimensions Telegram reports for a photo.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]


class Signal:
    """Wakes every coroutine waiting in `wait()` when `notify()` is called."""

    __slots__ = ("_waiters",)

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    async def wait(self, seconds: float) -> None:
        """Return on the next notify() or after `seconds`, whichever is first."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await asyncio.wait_for(fut, max(seconds, 0.0))
        except TimeoutError:
            pass
        finally:
            if fut in self._waiters:
                self._waiters.remove(fut)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG/GIF/JPEG/WebP/BMP image, (0, 0) if unknown, None if no image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], int.from_bytes(data[i + 2:i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = int.from_bytes(data[i + 5:i + 7], "big"), int.from_bytes(
                    data[i + 7:i + 9], "big")
                return w, h
            i += 2 + length
        return 0, 0
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" or data[:2] == b"BM":
        return 0, 0
    return None


@dataclass
class StoredFile:
    """A file the bot uploaded or a simulated user sent (`data` is empty for URLs)."""

    file_id: str
    file_unique_id: str
    data: bytes
    filename: str | None = None
    mime_type: str | None = None
    url: str | None = None


@dataclass
class Edit:
    """The state of a message right after one edit."""

    at: float
    text: str | None
    caption: str | None
    reply_markup: JSON | None


@dataclass(eq=False)
class ChatMessage:
    """A message in a private chat; `text`/`caption` are what the user sees."""

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: JSON
    chat: JSON
    text: str | None = None
    raw_text: str | None = None
    parse_mode: str | None = None
    entities: list[JSON] | None = None
    caption: str | None = None
    raw_caption: str | None = None
    reply_markup: JSON | None = None
    file: StoredFile | None = None
    media_kind: str | None = None  # "photo" or "document" when `file` is set
    image_size: tuple[int, int] = (0, 0)
    extra: JSON = field(default_factory=dict)  # location, sticker, ... for user messages
    reply_to: ChatMessage | None = None
    edits: list[Edit] = field(default_factory=list)
    deleted: bool = False
    edit_date: int | None = None

    # -- views for assertions
    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (text, callback_data); url buttons have None."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(b["text"], b.get("callback_data")) for b in row] for row in rows]

    @property
    def reply_keyboard(self) -> list[list[JSON]] | None:
        """Reply keyboard rows as KeyboardButton dicts, or None."""
        rows = (self.reply_markup or {}).get("keyboard")
        if rows is None:
            return None
        return [[{"text": b} if isinstance(b, str) else b for b in row] for row in rows]

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.reply_markup or {}).get("remove_keyboard"))

    @property
    def photo(self) -> bytes | None:
        return self.file.data if self.file and self.media_kind == "photo" else None

    @property
    def document(self) -> bytes | None:
        return self.file.data if self.file and self.media_kind == "document" else None

    @property
    def filename(self) -> str | None:
        return self.file.filename if self.file else None

    @property
    def shown(self) -> str:
        """What the user reads: the text, or the caption under a photo or a file."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def edited(self) -> bool:
        return bool(self.edits)

    def find_button(self, text: str) -> JSON:
        """The inline button whose text is `text` (exact, else case-insensitive substring)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        flat = [b for row in rows for b in row]
        for button in flat:
            if button["text"] == text:
                return button
        matches = [b for b in flat if text.lower() in b["text"].lower()]
        if len(matches) == 1:
            return matches[0]
        raise LookupError(
            f"no single button {text!r} on message {self.message_id}; buttons: {self.buttons}"
        )

    def summary(self) -> str:
        """One line for failure reports."""
        who = "bot" if self.from_bot else "user"
        body = self.text if self.text is not None else f"[{self.media_kind or 'other'}]"
        if self.caption:
            body += f" caption={self.caption!r}"
        body = body.replace("\n", "\\n")
        if len(body) > 160:
            body = body[:157] + "..."
        flags = f" (edited x{len(self.edits)})" if self.edits else ""
        if self.deleted:
            flags += " (deleted)"
        keys = f" buttons={self.buttons}" if self.buttons else ""
        if self.reply_keyboard:
            keys += f" keyboard={[[b['text'] for b in r] for r in self.reply_keyboard]}"
        return f"#{self.message_id} {who}: {body!r}{keys}{flags}"

    # -- Bot API shape
    def to_dict(self, with_reply: bool = True) -> JSON:
        msg: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        if self.text is not None:
            msg["text"] = self.text
            if self.entities:
                msg["entities"] = self.entities
        if self.file is not None:
            f = self.file
            size = len(f.data)
            if self.media_kind == "photo":
                w, h = self.image_size
                msg["photo"] = [{"file_id": f.file_id, "file_unique_id": f.file_unique_id,
                                 "file_size": size, "width": w, "height": h}]
            else:
                doc: JSON = {"file_id": f.file_id, "file_unique_id": f.file_unique_id,
                             "file_size": size}
                if f.filename:
                    doc["file_name"] = f.filename
                if f.mime_type:
                    doc["mime_type"] = f.mime_type
                msg["document"] = doc
        if self.caption is not None:
            msg["caption"] = self.caption
        msg.update(self.extra)
        # Telegram echoes only inline keyboards back inside a Message.
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            msg["reply_markup"] = self.reply_markup
        if with_reply and self.reply_to is not None:
            msg["reply_to_message"] = self.reply_to.to_dict(with_reply=False)
        return msg


@dataclass
class CallRecord:
    """One Bot API request: canonical method name, decoded params, HTTP status."""

    method: str
    params: JSON
    at: float
    status: int
    description: str | None = None
    chat_id: int | None = None
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query (answerCallbackQuery)."""

    callback_query_id: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int = 0
    at: float = field(default_factory=time.time)
