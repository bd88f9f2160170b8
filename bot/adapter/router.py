"""Routes an update to the feature that answers it (handlers/routes.py), in one transaction.

    register_handlers(application)

Updates run concurrently; one user's are taken one at a time, so no quick tap is lost: every
turn takes the user's row `FOR UPDATE` first (several instances share the database), and an
asyncio lock per user in this process (SQLite has no row locks) also keeps the replies of
one user's quick taps in the order of the taps.

A webhook update's id is recorded in the turn's own transaction (`Delivery`): it counts as
handled exactly when the turn's work is committed.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import ChatMember, ChatMemberUpdated, Message, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.adapter.render import answer_at_once, render
from bot.adapter.wakeup import wake_at
from bot.domain.callbacks import unpack
from bot.storage import users
from bot.storage.db import insert_for
from bot.storage.models import HandledUpdate
from handlers import account, routes
from handlers.routes import Route
from handlers.turn import Services, Turn

MAX_TEXT = 1000  # longer typed text is cut: nothing the bot asks for is that long


@dataclass
class Delivery:
    """A webhook update in hand. `failed`: its turn was not committed, so the request must
    fail and Telegram deliver it again."""

    update_id: int
    failed: bool = False


delivery: ContextVar[Delivery | None] = ContextVar("delivery", default=None)


async def _first_time(session: AsyncSession, update_id: int, now: Any) -> bool:
    """Records the update id; False if some instance already handled this update."""
    result = await session.execute(
        insert_for(session)(HandledUpdate).values(update_id=update_id, handled_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"]))
    return bool(cast(CursorResult[Any], result).rowcount)


def register_handlers(application: Application) -> None:
    application.add_handler(ChatMemberHandler(on_member_change,
                                              ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.COMMAND, on_command))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.LOCATION, on_location))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(filters.ALL, on_other))


def _lock_for(application: Application, user_id: int) -> asyncio.Lock:
    locks: weakref.WeakValueDictionary[int, asyncio.Lock] = application.bot_data.setdefault(
        "turn_locks", weakref.WeakValueDictionary())
    lock = locks.get(user_id)
    if lock is None:
        lock = locks[user_id] = asyncio.Lock()
    return lock


async def _handle(update: Update, context: ContextTypes.DEFAULT_TYPE, route: Route | None,
                  text: str = "", register: bool = False, greet_unknown: bool = True,
                  answered: Awaitable[None] | None = None) -> None:
    """Runs `route` for the update's user (None: the route of the step they are on).
    `answered`: the pressed button's answer, already on its way (render waits for it)."""
    tg_user, chat = update.effective_user, update.effective_chat
    if tg_user is None or chat is None or chat.type != "private":
        return  # The bot lives in private chats only.
    services: Services = context.application.bot_data["services"]
    if route is None and not services.places.loaded:
        # A typed answer or a location may name a place: in the first seconds after start
        # it waits for the indexes here, holding no lock or database connection.
        await services.places.ready()
    webhook = delivery.get()
    async with _lock_for(context.application, tg_user.id):
        try:
            async with services.database.session() as session:
                now = services.clock()
                if webhook is not None and not await _first_time(session, webhook.update_id,
                                                                 now):
                    return  # delivered twice: the first delivery's turn was committed
                if register:
                    user, _new = await users.register(session, tg_user.id, chat.id,
                                                      tg_user.language_code, now)
                else:
                    found = await users.lock(session, tg_user.id)
                    if found is None:
                        if greet_unknown:
                            await render(update, context, account.unknown_user(
                                tg_user.language_code), answered)
                        return
                    user = found
                message = update.effective_message
                location = message.location if message is not None else None
                turn = Turn(session, services, user, now, text=text,
                            first_name=tg_user.first_name,
                            latitude=location.latitude if location else None,
                            longitude=location.longitude if location else None,
                            message_id=_pressed_message_id(update),
                            pressed_photo=_pressed_photo(update))
                chosen = route or routes.step(user.step)
                answer = await routes.gated(chosen, turn)(turn)
        except (SQLAlchemyError, OSError):
            if webhook is not None:
                webhook.failed = True
            raise
        # After the commit, still in the user's turn: replies go out in the order of taps.
        await render(update, context, answer, answered)
    if turn.wake_at is not None:
        wake_at(context.application, turn.wake_at)


async def on_member_change(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Blocking the bot ends everything for the user at once; unblocking is a return."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None:
        return
    if change.new_chat_member.status == ChatMember.BANNED:
        await _handle(update, context, routes.BLOCKED, greet_unknown=False)
    elif change.old_chat_member.status == ChatMember.BANNED:
        await _handle(update, context, routes.command("start"), register=True)


def _pressed_message_id(update: Update) -> int | None:
    query = update.callback_query
    return query.message.message_id if query is not None and query.message is not None \
        else None


def _pressed_photo(update: Update) -> bool:
    query = update.callback_query
    return query is not None and isinstance(query.message, Message) and bool(query.message.photo)


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
    # The spinner stops before the turn waits for the user's lock or the database.
    answered = answer_at_once(query)
    try:
        await _handle(update, context, routes.button(unpack(query.data)), answered=answered)
    finally:
        await answered  # also when the turn failed or was not this bot's to take


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
