"""The answers' rate limiter: a 429 for one chat holds that chat's requests only, every
other chat's go on at once; a 429 naming no chat holds everything; PTB's pacing is kept.

Telegram is a fake whose 429s are chosen per chat, and each retry_after is waited out by a
controlled sleep that ends only when the test says: what runs meanwhile is what a flood
wait does not hold."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.adapter.limiter import ChatFloodLimiter

ANA, BEN, GROUP = 1001, 2002, -100123


class FakeTelegram:
    """Answers requests, logging (endpoint, chat_id) in order; `flood(chat, seconds)` makes
    that chat's next request meet a 429 with that retry_after."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.answered: list[tuple[str, Any]] = []
        self._floods: dict[Any, list[int]] = {}

    def flood(self, chat: Any, retry_after: int, times: int = 1) -> None:
        self._floods.setdefault(chat, []).extend([retry_after] * times)

    async def post(self, endpoint: str, data: dict[str, Any]) -> dict[str, Any]:
        chat = data.get("chat_id")
        self.calls.append((endpoint, chat))
        await asyncio.sleep(0)  # on the way: other requests may start meanwhile
        pending = self._floods.get(chat)
        if pending:
            raise RetryAfter(pending.pop(0))
        self.answered.append((endpoint, chat))
        return {"ok": True}


class Waits:
    """The limiter's sleep: each retry_after waited out is recorded and lasts until
    `end(i)` (or `end_all()`)."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._ends: list[asyncio.Event] = []
        self.changed = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        over = asyncio.Event()
        self.asked.append(seconds)
        self._ends.append(over)
        self.changed.set()
        await over.wait()

    async def started(self, count: int) -> None:
        while len(self.asked) < count:
            self.changed.clear()
            await self.changed.wait()

    def end(self, index: int) -> None:
        self._ends[index].set()

    def end_all(self) -> None:
        for over in self._ends:
            over.set()


async def settle() -> None:
    """Lets every task that can run do so (no clock involved: loop turns only)."""
    for _ in range(200):
        await asyncio.sleep(0)


def request(limiter: ChatFloodLimiter, telegram: FakeTelegram, endpoint: str,
            chat: Any = None, **data: Any) -> asyncio.Task[Any]:
    if chat is not None:
        data["chat_id"] = chat
    call: Awaitable[Any] = limiter.process_request(
        telegram.post, (endpoint, data), {}, endpoint, data, None)
    return asyncio.ensure_future(call)


@pytest.fixture
def telegram() -> FakeTelegram:
    return FakeTelegram()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def limiter(waits: Waits) -> ChatFloodLimiter:
    return ChatFloodLimiter(overall_max_rate=28, max_retries=5, sleep=waits)


async def test_a_429_for_one_chat_holds_that_chat_only(
    limiter: ChatFloodLimiter, telegram: FakeTelegram, waits: Waits
) -> None:
    telegram.flood(ANA, retry_after=10)
    ana_edit = request(limiter, telegram, "editMessageText", ANA)
    await waits.started(1)  # Ana's edit met a 429: it waits 10 s before trying again
    assert waits.asked == [10.1]
    ana_next = request(limiter, telegram, "sendMessage", str(ANA))  # her chat, as text
    ben_reply = request(limiter, telegram, "sendMessage", BEN)
    ben_edit = request(limiter, telegram, "editMessageText", BEN)
    await settle()
    # Ben's reply and edit are through while Ana's wait is still on; Ana's next message
    # waits behind her edit.
    assert ben_reply.done() and ben_edit.done()
    assert telegram.answered == [("sendMessage", BEN), ("editMessageText", BEN)]
    assert not ana_edit.done() and not ana_next.done()
    waits.end(0)
    assert await ana_edit == {"ok": True} and await ana_next == {"ok": True}
    assert telegram.answered[2:] == [("editMessageText", ANA), ("sendMessage", str(ANA))]
    # Ana's edit was tried twice: the 429, then once her wait was over.
    assert telegram.calls.count(("editMessageText", ANA)) == 2


async def test_a_429_naming_no_chat_holds_every_request(
    limiter: ChatFloodLimiter, telegram: FakeTelegram, waits: Waits
) -> None:
    telegram.flood(None, retry_after=5)
    commands = request(limiter, telegram, "setMyCommands")
    await waits.started(1)
    ben_reply = request(limiter, telegram, "sendMessage", BEN)
    answer = request(limiter, telegram, "answerCallbackQuery", callback_query_id="7")
    await settle()
    # A button's answer still goes at once; messages wait with everything else.
    assert answer.done() and not ben_reply.done() and not commands.done()
    assert telegram.answered == [("answerCallbackQuery", None)]
    waits.end_all()
    await asyncio.gather(commands, ben_reply)
    assert telegram.answered[1:] == [("setMyCommands", None), ("sendMessage", BEN)]


async def test_the_hold_of_a_chat_lasts_until_its_longest_429_is_over(
    limiter: ChatFloodLimiter, telegram: FakeTelegram, waits: Waits
) -> None:
    # Two of Ana's edits were in flight; both met a 429, the second with the longer wait.
    telegram.flood(ANA, retry_after=3)
    telegram.flood(ANA, retry_after=9)
    first = request(limiter, telegram, "editMessageText", ANA)
    second = request(limiter, telegram, "editMessageText", ANA)
    await waits.started(2)
    assert sorted(waits.asked) == [3.1, 9.1]
    waits.end(waits.asked.index(3.1))
    await settle()
    assert telegram.answered == [] and not first.done()  # the 9 s wait is still on
    waits.end(waits.asked.index(9.1))
    await asyncio.gather(first, second)
    assert telegram.answered == [("editMessageText", ANA)] * 2


async def test_after_max_retries_the_429_reaches_the_caller(
    waits: Waits, telegram: FakeTelegram
) -> None:
    limiter = ChatFloodLimiter(max_retries=2, sleep=waits)
    telegram.flood(ANA, retry_after=1, times=3)
    edit = request(limiter, telegram, "editMessageText", ANA)
    for waited in (1, 2):
        await waits.started(waited)
        waits.end(waited - 1)
    with pytest.raises(RetryAfter):
        await edit
    assert telegram.calls == [("editMessageText", ANA)] * 3
    # The chat is not left held: its next message goes at once.
    assert await request(limiter, telegram, "sendMessage", ANA) == {"ok": True}


async def test_pacing_as_ptbs_overall_and_per_group(
    waits: Waits, telegram: FakeTelegram
) -> None:
    # Rates so low that nothing frees up while the test runs.
    limiter = ChatFloodLimiter(overall_max_rate=3, overall_time_period=3600,
                               group_max_rate=1, group_time_period=3600, sleep=waits)
    first = [request(limiter, telegram, "sendMessage", chat) for chat in (GROUP, ANA)]
    second_in_group = request(limiter, telegram, "sendMessage", GROUP)
    await settle()
    assert all(task.done() for task in first) and not second_in_group.done()
    third = request(limiter, telegram, "sendMessage", BEN)
    fourth = request(limiter, telegram, "sendMessage", BEN)
    no_chat = request(limiter, telegram, "getMe")
    await settle()
    # Three requests with a chat per period; requests naming no chat are not counted.
    assert third.done() and not fourth.done() and no_chat.done()
    for task in (second_in_group, fourth):
        task.cancel()
    await asyncio.gather(second_in_group, fourth, return_exceptions=True)
