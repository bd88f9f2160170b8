"""The `Sender` for Telegram: renders replies into PTB calls and maps its errors.

`send_reply` is the one place a `Reply` becomes a message (text, photo or document); the
handlers use it for answers and `TelegramSender` for due messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

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

from bot.adapter.photos import Photos
from bot.domain.replies import Reply, caption_fits, clip_caption
from bot.outbox.delivery import Blocked, Rejected, TryLater

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None


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


def markup_args(reply: Reply) -> dict[str, Any]:
    """The reply's buttons as keyword arguments of a PTB send or edit. Inline buttons go as
    the Bot API's own JSON (PTB's `api_kwargs`): PTB's button objects, built and serialised
    for every message, cost a reminder ~0.15 ms of CPU, plain data a tenth of that."""
    if reply.buttons:
        return {"api_kwargs": {"reply_markup": {"inline_keyboard": [
            [{"text": b.label, "callback_data": b.data} for b in row]
            for row in reply.buttons]}}}
    markup = markup_for(reply)
    return {} if markup is None else {"reply_markup": markup}


async def send_reply(bot: Bot, chat_id: int, reply: Reply, photos: Photos | None = None
                     ) -> Message:
    """Sends a reply as a new message; a photo or document carries the text as its caption,
    or, when the text is too long for one, is followed by it as a message of its own (which
    then has the buttons). Albums come first. Returns the message that has the buttons."""
    markup = markup_args(reply)
    silent = reply.silent or None
    if reply.album and photos is not None:
        albums = await photos.send_album(bot, chat_id, reply.album)
        if not reply.text:
            return albums[-1]
    if reply.picture is not None and photos is not None:
        if caption_fits(reply.text):
            return await photos.send(bot, chat_id, reply.picture, reply.text,
                                     disable_notification=silent, **markup)
        # One sound for the pair: the text's.
        await photos.send(bot, chat_id, reply.picture, None, disable_notification=True)
    if not reply.has_file:
        return await bot.send_message(chat_id, reply.text, disable_notification=silent,
                                      **markup)
    fits = caption_fits(reply.text)
    caption = reply.text if fits and reply.text else None
    file_markup = markup if fits else {}
    if reply.photo is not None:
        message = await bot.send_photo(
            chat_id, InputFile(reply.photo, filename=reply.filename or "chart.png"),
            caption=caption, **file_markup)
    else:
        assert reply.document is not None
        message = await bot.send_document(
            chat_id, InputFile(reply.document, filename=reply.filename or "file"),
            caption=caption, **file_markup)
    if not fits:
        message = await bot.send_message(chat_id, reply.text, **markup)
    return message


class TelegramSender:
    """Sends due messages, paced to `per_second` (None: not paced, for a server without
    Telegram's limits); never retries (the dispatcher does)."""

    def __init__(self, bot: Bot, per_second: float | None = 25.0,
                 photos: Photos | None = None) -> None:
        self.bot = bot
        self.photos = photos
        self._pace = AsyncLimiter(per_second, 1) if per_second else contextlib.nullcontext()

    async def send(self, chat_id: int, reply: Reply) -> int:
        async with self._pace:
            with _mapped_errors():
                message = await send_reply(self.bot, chat_id, reply, self.photos)
        return message.message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        async with self._pace:
            with _mapped_errors():
                try:
                    await edit_in_place(self.bot, chat_id, message_id, reply, reply.caption)
                except BadRequest as exc:
                    said = exc.message.lower()
                    if "not modified" in said:
                        return
                    # The message is not the kind the break remembered (a live message
                    # replaced while this moment was due): Telegram knows, so edit the other.
                    if "no caption in the message" not in said \
                            and "no text in the message" not in said:
                        raise
                    await edit_in_place(self.bot, chat_id, message_id, reply,
                                        not reply.caption)


async def edit_in_place(bot: Bot, chat_id: int, message_id: int, reply: Reply,
                        captioned: bool) -> None:
    """Replaces a message's text (a photo's caption when `captioned`) and inline buttons."""
    inline = inline_args(reply)
    if captioned:
        await bot.edit_message_caption(chat_id=chat_id, message_id=message_id,
                                       caption=clip_caption(reply.text), **inline)
    else:
        await bot.edit_message_text(reply.text, chat_id=chat_id, message_id=message_id,
                                    **inline)


def inline_args(reply: Reply) -> dict[str, Any]:
    """`markup_args` for an edit: only inline buttons (none given removes them)."""
    return markup_args(reply) if reply.buttons else {}


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
