"""Routes an update to the feature that answers it (handlers/routes.py), in one transaction.

    register_handlers(application)

Updates run concurrently; one user's are taken one at a time, in order, so no quick tap is
lost: an asyncio lock per user in this process.
"""

from __future__ import annotations

import asyncio
import weakref

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.adapter.render import render
from bot.adapter.wakeup import wake_at
from bot.domain.callbacks import unpack
from bot.storage import users
from handlers import account, routes
from handlers.routes import Route
from handlers.turn import Services, Turn

_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
MAX_TEXT = 1000  # longer typed text is cut: nothing the bot asks for is that long


def register_handlers(application: Application) -> None:
    application.add_handler(MessageHandler(filters.COMMAND, on_command))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.LOCATION, on_location))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(filters.ALL, on_other))


def _lock_for(user_id: int) -> asyncio.Lock:
    lock = _locks.get(user_id)
    if lock is None:
        lock = _locks[user_id] = asyncio.Lock()
    return lock


async def _handle(update: Update, context: ContextTypes.DEFAULT_TYPE, route: Route | None,
                  text: str = "", register: bool = False) -> None:
    """Runs `route` for the update's user (None: the route of the step they are on)."""
    tg_user, chat = update.effective_user, update.effective_chat
    if tg_user is None or chat is None or chat.type != "private":
        return  # The bot lives in private chats only.
    services: Services = context.application.bot_data["services"]
    async with _lock_for(tg_user.id), services.database.session() as session:
        now = services.clock()
        if register:
            user, _new = await users.register(session, tg_user.id, chat.id,
                                              tg_user.language_code, now)
        else:
            found = await users.get(session, tg_user.id)
            if found is None:
                await render(update, context, account.unknown_user())
                return
            user = found
        message = update.effective_message
        location = message.location if message is not None else None
        turn = Turn(session, services, user, now, text=text,
                    latitude=location.latitude if location else None,
                    longitude=location.longitude if location else None,
                    message_id=_pressed_message_id(update))
        chosen = route or routes.step(user.step)
        answer = await routes.gated(chosen, turn)(turn)
    await render(update, context, answer)
    if turn.wake_at is not None:
        wake_at(context.application, turn.wake_at)


def _pressed_message_id(update: Update) -> int | None:
    query = update.callback_query
    return query.message.message_id if query is not None and query.message is not None \
        else None


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    word, _, args = message.text.partition(" ")
    name = word[1:].split("@")[0].lower()
    await _handle(update, context, routes.command(name), args.strip(), register=name == "start")


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    await _handle(update, context, routes.button(unpack(query.data)))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    await _handle(update, context, None, text[:MAX_TEXT])


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _handle(update, context, None)


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is None:
        return
    await _handle(update, context, routes.ANYTHING_ELSE)
