"""Turns the domain's `Answer` into Telegram messages for the update being handled."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import ContextTypes

from bot.adapter.sender import markup_for, send_reply
from bot.domain.replies import Answer

log = logging.getLogger(__name__)

T = TypeVar("T")
# A reply is worth a few seconds of retrying when Telegram has a passing failure.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


async def retrying(call: Callable[[], Awaitable[T]]) -> T:
    """Runs a Bot API call again after 5xx answers, timeouts and refused connections."""
    for delay in RETRY_DELAYS:
        try:
            return await call()
        except (BadRequest, Forbidden):
            raise  # our mistake or the user's choice: trying again will not help
        except NetworkError as exc:
            log.warning("Telegram call failed (%s); trying again in %ss", exc, delay)
            await asyncio.sleep(delay)
    return await call()


async def render(update: Update, context: ContextTypes.DEFAULT_TYPE, answer: Answer) -> None:
    query = update.callback_query
    if query is not None:
        # Always answer a pressed button, or its spinner keeps turning.
        await retrying(lambda: query.answer(answer.toast))
    chat = update.effective_chat
    if chat is None:
        return
    for reply in answer.replies:
        markup = markup_for(reply)
        # A photo or a file cannot replace a text message: it always comes as a new one.
        if reply.edit and not reply.has_file and query is not None and query.message is not None:
            try:
                message_id = query.message.message_id
                inline = markup if isinstance(markup, InlineKeyboardMarkup) else None
                await retrying(partial(context.bot.edit_message_text, reply.text,
                                       chat_id=chat.id, message_id=message_id,
                                       reply_markup=inline))
                continue
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    continue
                log.info("could not edit message %s: %s; sending instead",
                         query.message.message_id, exc.message)
        await retrying(partial(send_reply, context.bot, chat.id, reply))
