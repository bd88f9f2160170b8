"""Guided breaks end to end: the real `python -m bot` against the Bot API stand-in.

The database is seeded before the bot starts with a set-up user (and, for the first test,
a reminder due a minute after the clock starts), so no test walks through onboarding. The
bot's clock starts on Monday 30 November 2026 at 09:00 UTC and runs fast, so a two-minute
hold takes seconds; follow-up times are checked on the bot's own clock, in the database.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.outbox import due
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Rating, User
from standin import BotAPIStandIn, ChatMessage, SimulatedUser
from tests.simulate import as_utc

pytestmark = pytest.mark.e2e

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SPEED = 30.0  # a 2-minute hold lasts 4 real seconds
USER = 1001
STEP_ROWS = ("select key, due_at, done_at, status from due_messages "
             "where kind = 'step' order by due_at, id")
BREAK = ("select id, kind, status, positions, positions_done, stopped_for_pain, started_at "
         "from breaks order by id desc limit 1")


async def seed(tmp_path: Path, reminder_in: timedelta | None = None) -> str:
    """A migrated database holding one set-up user (baseline pain 3), and maybe a reminder."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.session() as session:
            session.add(User(id=USER, chat_id=USER, language="en", created_at=MONDAY_9,
                             consented_at=MONDAY_9, onboarded_at=MONDAY_9, active=True,
                             draft={}, time_zone="UTC", work_start=clock_time(8),
                             work_end=clock_time(18), breaks_per_day=4, place="desk", rotation=0))
            await session.flush()
            session.add(Rating(user_id=USER, kind="baseline", rated_at=MONDAY_9, pain=3,
                               stiffness=4))
            if reminder_in is not None:
                await due.schedule(session, USER, "reminder", "remind:seeded",
                                   MONDAY_9 + reminder_in)
    finally:
        await database.close()
    return url


async def start(run_bot: Any, url: str, clock_start: datetime = MONDAY_9) -> Any:
    return await run_bot(database_url=url, clock_start=clock_start, clock_speed=SPEED)


async def message_with(user: SimulatedUser, text: str, wait: float = 20) -> ChatMessage:
    return await user.next_message(timeout=wait,
                                   predicate=lambda m: text in (m.text or ""))


async def edited_to(user: SimulatedUser, message: ChatMessage, text: str) -> None:
    await user.wait_until(lambda: text in (message.text or ""), timeout=20)


def as_list(value: Any) -> list[str]:
    """A JSON column as read back with plain SQL."""
    return json.loads(value) if isinstance(value, str) else list(value)


async def latest_break(bot: Any) -> Any:
    rows = await bot.query(BREAK)
    assert rows, "no break in the database"
    return rows[0]


async def step_rows(bot: Any) -> list[tuple[str, datetime, datetime | None, str]]:
    return [(key, as_utc(due_at), as_utc(done_at) if done_at else None, status)
            for key, due_at, done_at, status in await bot.query(STEP_ROWS)]


async def wait_for_sent(bot: Any, key: str) -> None:
    for _ in range(200):
        if await bot.query("select 1 from due_messages where key = :key and status = 'sent'",
                           key=key):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} was never recorded as sent")


def assert_on_time(rows: list[tuple[str, datetime, datetime | None, str]],
                   started: dict[int, datetime], slack: timedelta) -> None:
    """Each sent follow-up fell due at its offset and went out within `slack` of it."""
    offsets = {"switch": timedelta(seconds=60), "done": timedelta(seconds=120)}
    for key, due_at, done_at, status in rows:
        if status != "sent":
            continue
        _kind, _break, index, _attempt, stage = key.split(":")
        assert due_at == started[int(index)] + offsets[stage], key
        assert done_at is not None and timedelta(0) <= done_at - due_at <= slack, (
            key, due_at, done_at)


async def test_reminder_start_follow_ups_and_a_two_tap_rating(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path, reminder_in=timedelta(minutes=1))
    ana = standin.user(USER, first_name="Ana")  # the chat exists before the bot writes
    bot = await start(run_bot, url)
    reminder = await message_with(ana, "Time for a stretch break")

    pressed_at = time.monotonic()
    await ana.press_button(reminder, "Start now")
    await edited_to(ana, reminder, "1/2")
    assert {label for row in reminder.buttons for label, _d in row} >= {
        "✓ Next", "↺ Repeat", "✋ It hurts"}
    switch = await message_with(ana, "Switch sides now")
    # 60 s of the bot's clock is 2 real seconds.
    assert 1.0 < time.monotonic() - pressed_at < 6.0
    done = await message_with(ana, "Time! Half-kneeling 90-90 is done")
    assert 3.0 < time.monotonic() - pressed_at < 9.0
    assert switch.buttons and done.buttons

    await ana.press_button(done, "Next")
    await edited_to(ana, done, "2/2")
    await message_with(ana, "Switch sides now")
    prompt = await message_with(ana, "How is your pain right now")
    await ana.press_button(prompt, "4")
    await edited_to(ana, prompt, "Pain 4/10")
    await ana.press_button(prompt, "6")
    await edited_to(ana, prompt, "Saved: pain 4/10, stiffness 6/10")

    brk = await latest_break(bot)
    break_id, kind, status, positions, positions_done, stopped, started_at = brk
    assert (kind, status, bool(stopped)) == ("reminder", "done", False)
    assert as_list(positions_done) == as_list(positions) == ["fh_9090", "fh_side"]
    ratings = await bot.query("select pain, stiffness, break_id, kind from ratings "
                              "where kind = 'break'")
    assert ratings == [(4, 6, break_id, "break")]
    rows = await step_rows(bot)
    assert [status for *_rest, status in rows] == ["sent"] * 4
    second_started = as_utc((await bot.query(
        "select due_at from due_messages where key = :key",
        key=f"step:{break_id}:1:1:switch"))[0][0]) - timedelta(seconds=60)
    assert_on_time(rows, {0: as_utc(started_at), 1: second_started},
                   slack=timedelta(seconds=15))
    await bot.stop()


async def test_a_restart_mid_position_resumes_on_time_and_sends_nothing_twice(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")  # the chat exists before the bot writes
    bot = await start(run_bot, url)
    await ana.command("/stretch")
    position = await message_with(ana, "1/2")
    pressed_at = time.monotonic()
    await message_with(ana, "Switch sides now")
    # Telegram has the cue; once the bot has recorded that too, it is killed in the middle
    # of the hold: the "done" row is in the database, not in memory. (A kill between the
    # two is the one window where a message could go twice; see bot/outbox/dispatcher.py.)
    await wait_for_sent(bot, "step:1:0:0:switch")
    await bot.kill()
    started_at = as_utc((await latest_break(bot))[6])
    fake_now = started_at + timedelta(seconds=(time.monotonic() - pressed_at) * SPEED)
    bot = await start(run_bot, url, clock_start=fake_now)

    done = await message_with(ana, "Time! Half-kneeling 90-90 is done")
    await ana.press_button(done, "Next")
    prompt = await message_with(ana, "How is your pain right now", wait=30)
    await ana.press_button(prompt, "2")
    await edited_to(ana, prompt, "Pain 2/10")
    await ana.press_button(prompt, "3")
    await edited_to(ana, prompt, "Saved: pain 2/10, stiffness 3/10")

    # What was sent, as first sent (the "done" message was since edited into position 2).
    texts = [str(call.params.get("text")) for call in standin.calls_to("sendMessage")
             if call.ok and call.chat_id == USER]
    assert sum("Switch sides now" in t for t in texts) == 2  # once per position
    assert sum("Half-kneeling 90-90 is done" in t for t in texts) == 1
    assert sum("How is your pain right now" in t for t in texts) == 1
    rows = await step_rows(bot)
    assert [status for *_rest, status in rows] == ["sent"] * 4
    assert len({key for key, *_rest in rows}) == 4
    assert rows[1][0].endswith(":0:0:done") and rows[1][1] == started_at + timedelta(seconds=120)
    # The new process's clock took over where the old one stopped: every follow-up went out
    # within half a real second of its due time, including the one due across the restart.
    for key, due_at, done_at, _status in rows:
        assert done_at is not None and timedelta(0) <= done_at - due_at <= timedelta(
            seconds=15), key
    assert (await latest_break(bot))[2] == "done"
    assert position.edits == []  # the first position's message was left as it was
    await bot.stop()


async def test_it_hurts_ends_the_break_with_the_safety_message(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")  # the chat exists before the bot writes
    bot = await start(run_bot, url)
    await ana.command("/stretch")
    position = await message_with(ana, "1/2")
    await ana.press_button(position, "It hurts")
    safety = await message_with(ana, "you said it hurts")
    assert "physiotherapist" in (safety.text or "")
    brk = await latest_break(bot)
    assert (brk[2], bool(brk[5])) == ("partial", True)
    # Nothing else of this break arrives, and its old buttons do nothing.
    await asyncio.sleep(5)  # 150 s of the bot's clock: past the whole hold
    assert not any("Switch sides" in (m.text or "") for m in ana.messages)
    await ana.press_button(position, "Next")
    await ana.wait_until(lambda: any(a.text == "This break has already ended."
                                     for a in ana.callback_answers))
    assert (await latest_break(bot))[2] == "partial"
    await bot.stop()


async def test_an_abandoned_break_ends_on_its_own(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")
    bot = await run_bot(database_url=url, clock_start=MONDAY_9, clock_speed=200.0)
    await ana.command("/stretch")
    done = await message_with(ana, "is done")
    # 15 minutes after the hold ended is 4.5 real seconds at this speed.
    await edited_to(ana, done, "saved as partial")
    assert done.buttons == []
    brk = await latest_break(bot)
    assert brk[2] == "partial" and as_list(brk[4]) == ["fh_9090"]
    database = Database(url)
    try:
        async with database.session() as session:
            assert await session.scalar(select(Rating).where(Rating.kind == "break")) is None
    finally:
        await database.close()
    await bot.stop()
