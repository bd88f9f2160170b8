"""The `Sender` for Telegram: renders replies into PTB calls and maps its errors.

`send_reply` is the one place a `Reply` becomes a message (text, photo or document); the
handlers use it for answers and `TelegramSender` for due messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from aiolimiter import AsyncLimiter
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.domain.replies import Reply
from bot.outbox.delivery import Blocked, Rejected, TryLater

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None
CAPTION_LIMIT = 1024  # Telegram's limit for the text under a photo or a document


def markup_for(reply: Reply) -> Markup:
    if reply.buttons:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
             for row in reply.buttons]
        )
    if reply.keyboard or reply.location_button:
        rows = [[KeyboardButton(label) for label in row] for row in reply.keyboard]
        if reply.location_button:
            rows.insert(0, [KeyboardButton(reply.location_button, request_location=True)])
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


async def send_reply(bot: Bot, chat_id: int, reply: Reply) -> Message:
    """Sends a reply as a new message; a photo or document carries the text as its caption,
    or, when the text is too long for one, is followed by it as a message of its own."""
    markup = markup_for(reply)
    if not reply.has_file:
        return await bot.send_message(chat_id, reply.text, reply_markup=markup,
                                      disable_notification=reply.silent or None)
    fits = len(reply.text) <= CAPTION_LIMIT
    caption = reply.text if fits and reply.text else None
    file_markup = markup if fits else None
    if reply.photo is not None:
        message = await bot.send_photo(
            chat_id, InputFile(reply.photo, filename=reply.filename or "chart.png"),
            caption=caption, reply_markup=file_markup)
    else:
        assert reply.document is not None
        message = await bot.send_document(
            chat_id, InputFile(reply.document, filename=reply.filename or "file"),
            caption=caption, reply_markup=file_markup)
    if not fits:
        message = await bot.send_message(chat_id, reply.text, reply_markup=markup)
    return message


class TelegramSender:
    """Sends due messages, paced to `per_second` (None: not paced, for a server without
    Telegram's limits); never retries (the dispatcher does)."""

    def __init__(self, bot: Bot, per_second: float | None = 25.0) -> None:
        self.bot = bot
        self._pace = AsyncLimiter(per_second, 1) if per_second else contextlib.nullcontext()

    async def send(self, chat_id: int, reply: Reply) -> int:
        async with self._pace:
            with _mapped_errors():
                message = await send_reply(self.bot, chat_id, reply)
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        markup = markup_for(reply)
        async with self._pace:
            with _mapped_errors():
                try:
                    await self.bot.edit_message_text(
                        reply.text, chat_id=chat_id, message_id=message_id,
                        reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                    )
                except BadRequest as exc:
                    if "not modified" not in exc.message.lower():
                        raise


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turns PTB's exceptions into the domain's delivery failures."""
    try:
        yield
    except Forbidden as exc:
        raise Blocked(exc.message) from exc
    except RetryAfter as exc:
        raise TryLater(exc.message, retry_after=_seconds(exc.retry_after)) from exc
    except BadRequest as exc:  # a subclass of NetworkError: it must come first
        raise Rejected(exc.message) from exc
    except TelegramError as exc:  # NetworkError, TimedOut, server errors
        raise TryLater(str(exc)) from exc


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
