"""Turns the domain's `Answer` into Telegram messages for the update being handled."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.replies import Answer
from bot.telegram_sender import markup_for

log = logging.getLogger(__name__)


async def render(update: Update, context: ContextTypes.DEFAULT_TYPE, answer: Answer) -> None:
    query = update.callback_query
    if query is not None:
        # Always answer a pressed button, or its spinner keeps turning.
        await query.answer(answer.toast)
    chat = update.effective_chat
    if chat is None:
        return
    for reply in answer.replies:
        markup = markup_for(reply)
        if reply.edit and query is not None and query.message is not None:
            try:
                await context.bot.edit_message_text(
                    reply.text,
                    chat_id=chat.id,
                    message_id=query.message.message_id,
                    reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                )
                continue
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    continue
                log.info("could not edit message %s: %s; sending instead",
                         query.message.message_id, exc.message)
        await context.bot.send_message(chat.id, reply.text, reply_markup=markup)
