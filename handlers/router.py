"""Routes an update to the domain function that answers it, inside one transaction."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import ContextTypes

from bot import account, onboarding, users
from bot.app_routes import BUTTONS, COMMANDS, OPEN_COMMANDS, STEPS
from bot.replies import Answer
from bot.services import Services
from bot.turn import Turn
from bot.wakeup import wake_at
from handlers.render import render

Action = Callable[[Turn], Awaitable[Answer]]
_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()


def _lock_for(user_id: int) -> asyncio.Lock:
    lock = _locks.get(user_id)
    if lock is None:
        lock = _locks[user_id] = asyncio.Lock()
    return lock


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.application.bot_data["services"]
    return services


async def _handle(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    choose: Callable[[Turn], Action],
    text: str = "",
    register: bool = False,
) -> None:
    tg_user, chat = update.effective_user, update.effective_chat
    if tg_user is None or chat is None or chat.type != "private":
        return  # The bot lives in private chats only.
    services = _services(context)
    # Updates run concurrently; one user's taps are taken in order so none is lost.
    async with _lock_for(tg_user.id), services.database.session() as session:
        now = services.clock()
        if register:
            user, _new = await users.register(session, tg_user.id, chat.id,
                                              tg_user.language_code, now)
        else:
            found = await users.get(session, tg_user.id)
            if found is None:
                answer = account.unknown_user()
                await render(update, context, answer)
                return
            user = found
        message = update.effective_message
        location = message.location if message is not None else None
        turn = Turn(session, services, user, now, text=text,
                    latitude=location.latitude if location else None,
                    longitude=location.longitude if location else None)
        answer = await choose(turn)(turn)
    await render(update, context, answer)
    if turn.wake_at is not None:
        wake_at(context.application, turn.wake_at)


def _gate(action: Action, open_to_all: bool, during_setup: bool = True) -> Callable[[Turn], Action]:
    """Nothing but the open commands works before consent, and setup comes first."""

    def choose(turn: Turn) -> Action:
        if open_to_all:
            return action
        if turn.user.consented_at is None:
            return account.consent_first
        if not during_setup and turn.user.onboarded_at is None:
            return onboarding.finish_first
        return action

    return choose


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    word, _, args = message.text.partition(" ")
    name = word[1:].split("@")[0].lower()
    action = COMMANDS.get(name, account.unknown_command)
    known = name in COMMANDS
    await _handle(update, context, _gate(action, name in OPEN_COMMANDS, during_setup=not known),
                  args.strip(), register=name == "start")


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    prefix, _, rest = (query.data or "").partition(":")
    action = BUTTONS.get(prefix, account.stale_button)
    await _handle(update, context, _gate(action, prefix in ("c", "del")), rest)


def _by_step(turn: Turn) -> Action:
    step = (turn.user.step or "").split(":")[0]
    return STEPS.get(step, account.unknown_text)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    text = message.text if message is not None and message.text else ""
    await _handle(update, context, _by_step, text[:1000])


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _handle(update, context, _by_step)


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is None:
        return
    await _handle(update, context, lambda _turn: account.unknown_message)
