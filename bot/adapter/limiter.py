"""The rate limiter of the bot's answers to users: PTB's pacing, with flood waits per chat.

PTB's AIORateLimiter paces requests (overall per second, each group per minute) and, on a
429, holds *every* request until its retry_after is over: one user tapping fast enough for
Telegram to flood-limit their chat kept every other user's replies and edits waiting as
long. Here a 429 for a request that names a chat holds only that chat's requests; the
others go on at once. A 429 for a request that names none still holds everything.

    ApplicationBuilder().rate_limiter(ChatFloodLimiter(overall_max_rate=28, max_retries=5))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import constants
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

ChatKey = int | str
Sleep = Callable[[float], Awaitable[None]]

# A request without a chat_id that meets a 429 holds this key: every request waits for it.
_WHOLE_BOT = "*"
# Beyond this many group pacers, the idle ones are dropped (as PTB's limiter does).
_MAX_GROUPS = 512


class _Hold:
    """A flood wait in progress for one key: `over` is set when the last one sitting it out
    has waited its retry_after."""

    __slots__ = ("over", "sitting")

    def __init__(self) -> None:
        self.sitting = 0
        self.over = asyncio.Event()


class ChatFloodLimiter(BaseRateLimiter[int]):
    """Paces requests as PTB's AIORateLimiter does and retries a 429 after its retry_after
    (up to `max_retries` times, or the request's own `rate_limit_args`), holding meanwhile
    only the requests of the chat that met it.

    Pacing, as PTB's: requests with a chat_id share `overall_max_rate` per
    `overall_time_period`; groups and channels (negative ids, @names) each
    `group_max_rate` per `group_time_period`; paid broadcasts their own 1000/s.

    answerCallbackQuery goes straight through: it names no chat and counts toward no chat's
    limit, and render retries it with its own short back-off, so a pressed button's spinner
    never waits behind anyone's flood wait.

    `sleep` waits out a retry_after (tests pass a controlled one)."""

    UNPACED = frozenset({"answerCallbackQuery"})

    def __init__(
        self,
        overall_max_rate: float = constants.FloodLimit.MESSAGES_PER_SECOND,
        overall_time_period: float = 1,
        group_max_rate: float = constants.FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period: float = 60,
        max_retries: int = 0,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._overall: AsyncLimiter | None = (
            AsyncLimiter(overall_max_rate, overall_time_period)
            if overall_max_rate and overall_time_period else None)
        self._group_rate = (group_max_rate, group_time_period) \
            if group_max_rate and group_time_period else None
        self._groups: dict[ChatKey, AsyncLimiter] = {}
        self._paid = AsyncLimiter(constants.FloodLimit.PAID_MESSAGES_PER_SECOND, 1)
        self._max_retries = max_retries
        self._sleep = sleep
        self._holds: dict[ChatKey, _Hold] = {}

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        if endpoint in self.UNPACED:
            return await callback(*args, **kwargs)
        max_retries = rate_limit_args or self._max_retries
        chat = _chat_key(data.get("chat_id"))
        paid = bool(data.get("allow_paid_broadcast", False))
        for attempt in range(max_retries + 1):
            await self._wait_holds(chat)
            try:
                await self._paced(chat, paid)
                # Pacing may have taken a while: a 429 met meanwhile holds this one too.
                await self._wait_holds(chat)
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if attempt == max_retries:
                    log.warning("429 on %s for chat %s after %s retries: giving up",
                                endpoint, chat, max_retries)
                    raise
                wait = _seconds(exc) + 0.1
                if chat is None:
                    log.info("429 on %s (no chat): every request waits %.1f s", endpoint, wait)
                else:
                    log.info("429 on %s for chat %s: its requests wait %.1f s", endpoint, chat,
                             wait)
                await self._sit_out(_WHOLE_BOT if chat is None else chat, wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _paced(self, chat: ChatKey | None, paid: bool) -> None:
        """Takes this request's place in PTB's pacing (an AsyncLimiter's acquire is all
        its `async with` does)."""
        if paid:
            await self._paid.acquire()
            return
        if self._group_rate is not None and chat is not None and _is_group(chat):
            await self._group(chat).acquire()
        if chat is not None and self._overall is not None:
            await self._overall.acquire()

    def _group(self, chat: ChatKey) -> AsyncLimiter:
        assert self._group_rate is not None
        if len(self._groups) > _MAX_GROUPS:
            for key, limiter in list(self._groups.items()):
                if key != chat and limiter.has_capacity(limiter.max_rate):
                    del self._groups[key]
        if chat not in self._groups:
            self._groups[chat] = AsyncLimiter(*self._group_rate)
        return self._groups[chat]

    async def _wait_holds(self, chat: ChatKey | None) -> None:
        while True:
            hold = self._holds.get(_WHOLE_BOT)
            if hold is None and chat is not None:
                hold = self._holds.get(chat)
            if hold is None:
                return
            await hold.over.wait()

    async def _sit_out(self, key: ChatKey, seconds: float) -> None:
        """Holds `key`'s requests for `seconds` (longer if another 429 for it is being sat
        out: the hold ends with the last)."""
        hold = self._holds.get(key)
        if hold is None:
            hold = self._holds[key] = _Hold()
        hold.sitting += 1
        try:
            await self._sleep(seconds)
        finally:
            hold.sitting -= 1
            if hold.sitting == 0:
                del self._holds[key]
                hold.over.set()


def _chat_key(chat_id: object) -> ChatKey | None:
    """PTB's reading of a chat_id: an int where it is one, else the @name as given."""
    if chat_id is None or isinstance(chat_id, int):
        return chat_id
    text = str(chat_id)
    with contextlib.suppress(ValueError):
        return int(text)
    return text


def _is_group(chat: ChatKey | None) -> bool:
    """Groups and channels: negative ids and @names (private chats are positive ids)."""
    return isinstance(chat, str) or (isinstance(chat, int) and chat < 0)


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # Whether it reads as int or timedelta (PTB is switching), the seconds are the same.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
