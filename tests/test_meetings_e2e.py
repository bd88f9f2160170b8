"""Reminders that give way to meetings, "I moved already", and the check-in instead of
nagging, end to end: the real process on a fast clock, the Bot API stand-in, SQLite and
PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from bot.domain.schedule import break_times
from bot.storage.db import Database
from bot.storage.models import User
from handlers.planning import plan_next, preferences
from standin import BotAPIStandIn, ChatMessage, SimulatedUser
from tests.test_reminders_e2e import REMINDER, FastTime, eventually

pytestmark = pytest.mark.e2e

SPEED = 240.0  # an hour in 15 seconds
MONDAY = date(2026, 11, 30)
START = datetime(2026, 11, 30, 7, 55, tzinfo=UTC)  # 08:55 in Madrid
ANA = 1001


async def _seed(url: str, end: time, breaks: int) -> User:
    user = User(id=ANA, chat_id=ANA, created_at=START, consented_at=START, onboarded_at=START,
                active=True, draft={}, time_zone="Europe/Madrid", work_days=0b0011111,
                work_start=time(9), work_end=end, breaks_per_day=breaks, place="desk",
                screening=[])
    database = Database(url)
    async with database.session() as session:
        session.add(user)
        await session.flush()
        await plan_next(session, user, START)
    await database.close()
    return user


def _labels(message: ChatMessage) -> list[list[str]]:
    return [[label for label, _data in row] for row in message.buttons]


def _is_reminder(message: ChatMessage) -> bool:
    return REMINDER in (message.text or "")


async def _shows(user: SimulatedUser, message: ChatMessage, words: str) -> None:
    await user.wait_until(lambda: words in (message.text or ""), timeout=15)


async def _as_utc(bot: Any, sql: str) -> list[datetime]:
    return [datetime.fromisoformat(str(at)).replace(tzinfo=UTC) for (at,) in
            await bot.query(sql)]


async def test_in_a_meeting_moves_one_break_keeps_the_plan_and_drops_past_the_day(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    seeded = await _seed(database_url, time(13), 2)  # breaks near 10:00 and 12:00
    first, second = break_times(preferences(seeded), MONDAY)
    ana = standin.user(ANA)
    # Started before the bot's clock, at the same speed: never behind it.
    ahead = FastTime(START, SPEED)
    bot = await run_bot(database_url=database_url, clock_start=START, clock_speed=SPEED)
    # The bot's clock started a moment ago: this one, at the same speed, is no later.
    clock = FastTime(START, SPEED)

    reminder = await ana.next_message(timeout=60, predicate=_is_reminder)
    assert _labels(reminder) == [["Start now"], ["Snooze 10 min", "In a meeting"],
                                 ["I moved already", "Skip this one"]]
    await ana.press_button(reminder, "In a meeting")
    await _shows(ana, reminder, "In a meeting?")
    # No calendar: the fixed choices, and where to connect one.
    assert _labels(reminder) == [["30 min", "1 hour"], ["« Back"]]
    assert "/calendar" in (reminder.text or "")
    await ana.press_button(reminder, "1 hour")
    await _shows(ana, reminder, "Moved: I'll remind you at 11:")
    assert reminder.buttons == []
    # The rest of the day's plan stays: the next break is where it was.
    assert await _as_utc(bot, "select due_at from due_messages where kind = 'reminder' "
                              "and status = 'pending'") == [second]
    (moved_to,) = await _as_utc(bot, "select due_at from due_messages where kind = 'snooze'")
    # An hour from the press, which came after the reminder and before this moment (on a
    # busy machine the press may come many fast minutes after the reminder).
    assert first + timedelta(minutes=59) < moved_to <= ahead.now() + timedelta(minutes=61)

    moved = await ana.next_message(timeout=60, predicate=_is_reminder)
    # The same break, come back when moved to (its row is what sent it).
    assert moved.message_id != reminder.message_id
    await eventually(bot, "select status from due_messages where kind = 'snooze'", [("sent",)])
    await ana.press_button(moved, "I moved already")
    await _shows(ana, moved, "noted as done on your own")

    last = await ana.next_message(timeout=60, predicate=_is_reminder)
    await ana.press_button(last, "In a meeting")
    await _shows(ana, last, "In a meeting?")
    await ana.press_button(last, "1 hour")
    await _shows(ana, last, "past the end of your work day (13:00), so I've dropped this break")
    assert "Your next break: tomorrow at 10:" in (last.text or "")
    # Never sent late: nothing more comes today.
    await clock.until(second + timedelta(hours=2))
    assert [m.message_id for m in ana.messages] == [reminder.message_id, moved.message_id,
                                                     last.message_id]
    assert await bot.query("select status from breaks order by planned_at") == [
        ("moved_already",), ("dropped",)]

    await ana.command("/progress")
    chart = await ana.next_message(timeout=30)
    assert "1 of them on your own" in (chart.caption or ""), chart.caption
    await ana.command("/export")
    export = await ana.next_message(timeout=30)
    assert export.document is not None
    rows = list(csv.DictReader(io.StringIO(export.document.decode("utf-8"))))
    assert [r["status"] for r in rows if r["record"] == "break"] == ["moved_already", "dropped"]
    assert await bot.stop() == 0


async def test_three_skips_bring_one_check_in_and_not_another_within_the_week(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    await _seed(database_url, time(13), 8)  # a break every 30 minutes
    ana = standin.user(ANA)
    # The clock runs from the moment the process starts: 20 minutes before the first break
    # (5 real seconds) leave a slow start-up the time to be ready for it, so the first
    # reminder is open for its whole half hour too.
    bot = await run_bot(database_url=database_url, clock_start=START - timedelta(minutes=15),
                        clock_speed=SPEED)

    async def skip_next() -> None:
        reminder = await ana.next_message(timeout=30)
        assert _is_reminder(reminder), reminder.text
        await ana.press_button(reminder, "Skip this one")
        await _shows(ana, reminder, "Skipped.")

    for _ in range(3):
        await skip_next()
    check_in = await ana.next_message(timeout=30)
    assert "Does the plan fit your days" in (check_in.text or ""), check_in.text
    assert _labels(check_in) == [["Fewer breaks", "Other times"],
                                 ["Pause for a while", "Keep as is"]]
    # Ignored: it counts as "keep". Three more skips in a row ask nothing more.
    for _ in range(3):
        await skip_next()
    following = await ana.next_message(timeout=30)
    assert _is_reminder(following), following.text
    # The check-in in place of a reminder made no break; the skips are all there.
    assert await bot.query("select count(*) from breaks where status = 'skipped'") == [(6,)]
    # Ignored, it ended quietly before the next reminder: no buttons left to press.
    assert "This check-in has passed" in (check_in.text or "")
    assert check_in.buttons == []
    assert await bot.stop() == 0
