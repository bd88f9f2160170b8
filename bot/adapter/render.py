"""Turns the domain's `Answer` into Telegram messages for the update being handled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import httpx
from telegram import Bot, CallbackQuery, Message, Update
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ContextTypes

from bot.adapter.photos import Photos
from bot.adapter.sender import edit_in_place, inline_args, send_reply
from bot.domain.replies import Answer, Reply
from handlers.breaks import remember_live_message
from handlers.turn import Services

log = logging.getLogger(__name__)

T = TypeVar("T")
# A reply is worth a few seconds of retrying when Telegram has a passing failure.
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)


class MaybeDelivered(Exception):
    """A send failed in a way that leaves open whether Telegram delivered it."""


def never_arrived(exc: NetworkError) -> bool:
    """Whether a failed call certainly did not reach Telegram: the connection was never
    made, or Telegram answered with an error (5xx, 429). A call that timed out or broke off
    after it was sent may have been delivered."""
    if isinstance(exc, RetryAfter):
        return True
    cause = exc.__cause__
    if isinstance(exc, TimedOut):
        return isinstance(cause, httpx.ConnectTimeout | httpx.PoolTimeout)
    if isinstance(cause, httpx.HTTPError):
        return isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    return True  # an HTTP error answer: nothing was done


async def retrying(call: Callable[[], Awaitable[T]], idempotent: bool = False) -> T:
    """Runs a Bot API call again after a passing failure. A new message is sent again only
    if it certainly did not arrive (a duplicate is worse than a lost reply: the user can
    tap again); edits and button answers may be repeated."""
    for delay in RETRY_DELAYS:
        try:
            return await call()
        except (BadRequest, Forbidden):
            raise  # our mistake or the user's choice: trying again will not help
        except NetworkError as exc:
            if not (idempotent or never_arrived(exc)):
                raise MaybeDelivered(str(exc)) from exc
            log.warning("Telegram call failed (%s); trying again in %ss", exc, delay)
            await asyncio.sleep(delay)
    return await call()


def answer_at_once(query: CallbackQuery) -> asyncio.Task[None]:
    """Answers a pressed button before the turn's database work, so its spinner stops at
    once; the outcome comes in the edited (or a new) message, never in the answer."""

    async def answer() -> None:
        try:
            await retrying(query.answer, idempotent=True)
        except TelegramError as exc:  # e.g. a query too old: the reply still comes
            log.info("could not answer button %s: %s", query.id, exc)

    return asyncio.create_task(answer(), name=f"answer-{query.id}")


async def render(update: Update, context: ContextTypes.DEFAULT_TYPE, answer: Answer,
                 answered: Awaitable[None] | None = None) -> None:
    """Sends the answer's replies; `answered` is the button's answer already on its way
    (answer_at_once), waited for so that it always comes first."""
    query = update.callback_query
    replies = answer.replies
    if query is not None:
        await (answered if answered is not None else answer_at_once(query))
        if not replies and answer.toast:
            # Nothing else shows the outcome (a stale or repeated tap): a quiet message.
            replies = [Reply(answer.toast, silent=True)]
    chat = update.effective_chat
    if chat is None:
        return
    photos: Photos | None = context.application.bot_data.get("photos")
    pressed = query.message if query is not None and isinstance(query.message, Message) \
        else None
    pressed_photo = pressed is not None and bool(pressed.photo)
    for reply in replies:
        if reply.edit and pressed is not None and reply.replaces(pressed_photo):
            try:
                await retrying(partial(_edit_pressed, context.bot, photos, pressed, reply),
                               idempotent=True)
                continue
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    continue
                log.info("could not edit message %s: %s; sending instead",
                         pressed.message_id, exc.message)
        if reply.edit and pressed is not None and pressed.reply_markup is not None:
            # It comes as a new message instead: the pressed message's buttons are spent.
            with contextlib.suppress(TelegramError):
                await retrying(partial(context.bot.edit_message_reply_markup, chat.id,
                                       pressed.message_id, reply_markup=None), idempotent=True)
        try:
            message = await retrying(partial(send_reply, context.bot, chat.id, reply, photos))
        except MaybeDelivered as exc:
            # The turn is committed; an apology or a resend could only add a duplicate.
            log.warning("a reply to chat %s may not have arrived (%s); not sent again",
                        chat.id, exc)
            return
        if reply.live_of is not None:
            services: Services = context.application.bot_data["services"]
            try:
                await remember_live_message(services, *reply.live_of, message.message_id,
                                            bool(message.photo))
            except Exception:
                # The reply arrived: the hold then starts in a message of its own.
                log.exception("could not record message %s as a break's live message",
                              message.message_id)


async def _edit_pressed(bot: Bot, photos: Photos | None, pressed: Message,
                        reply: Reply) -> None:
    """Replaces the pressed message: its text, or its caption and, when the reply shows
    another picture, the picture too."""
    if reply.picture is not None and photos is not None and pressed.photo \
            and await photos.file_id(reply.picture) != pressed.photo[-1].file_id:
        await photos.replace(bot, pressed.chat_id, pressed.message_id, reply.picture,
                             reply.text, **inline_args(reply))
        return
    await edit_in_place(bot, pressed.chat_id, pressed.message_id, reply, bool(pressed.photo))
