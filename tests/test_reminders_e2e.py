"""Break reminders end to end: the real process, a fast clock, the Bot API stand-in.

The user works 09:00–10:00 in Madrid with four breaks (09:07, 09:22, 09:37, 09:52 plus a
small per-user offset); the bot's clock runs 120 times faster than real time, so a work
hour takes 30 seconds.
"""

from __future__ import annotations

import asyncio
import time as wall
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import normalise_database_url
from bot.domain.schedule import break_times
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import User
from handlers.planning import plan_next, preferences
from standin import BotAPIStandIn, ChatMessage, SimulatedUser

pytestmark = pytest.mark.e2e

SPEED = 120.0
# Monday 30 November 2026, 09:00 in Madrid.
START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
REMINDER = "Time for a stretch break"


def _user(user_id: int, end: time = time(10), breaks: int = 4) -> User:
    return User(id=user_id, chat_id=user_id, created_at=START, consented_at=START,
                onboarded_at=START, active=True, draft={}, time_zone="Europe/Madrid",
                work_days=0b0011111, work_start=time(9), work_end=end,
                breaks_per_day=breaks, place="desk",
                # Asked whether the plan fits this week already: every slot is a reminder.
                plan_fit_at=START)


async def _seed(url: str, *user_ids: int, end: time = time(10), breaks: int = 4) -> list[User]:
    await asyncio.to_thread(upgrade, url)
    database = Database(normalise_database_url(url))
    users = [_user(user_id, end, breaks) for user_id in user_ids]
    async with database.session() as session:
        session.add_all(users)
        await session.flush()
        for user in users:
            await plan_next(session, user, START)
    await database.close()
    return users


def _todays_breaks(user: User) -> list[datetime]:
    return break_times(preferences(user), date(2026, 11, 30))


# What a reminder says when sent, and after it expired, was snoozed or skipped.
REMINDER_STATES = (REMINDER, "This break has passed", "Snoozed", "Skipped")


def _reminders(user: SimulatedUser) -> list[ChatMessage]:
    return [m for m in user.messages
            if any((m.text or "").startswith(state) for state in REMINDER_STATES)]


async def eventually(bot: Any, sql: str, expected: list[Any], timeout: float = 10) -> None:
    deadline = wall.monotonic() + timeout
    while (rows := await bot.query(sql)) != expected:
        assert wall.monotonic() < deadline, f"{sql} gave {rows}, not {expected}"
        await asyncio.sleep(0.1)


class FastTime:
    """Where the bot's fast clock is, seen from the test."""

    def __init__(self, start: datetime, speed: float = SPEED) -> None:
        self.start, self.speed, self.origin = start, speed, wall.monotonic()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(wall.monotonic() - self.origin) * self.speed)

    async def until(self, moment: datetime) -> None:
        await asyncio.sleep(max(0.0, (moment - self.now()).total_seconds() / self.speed))


async def test_reminders_arrive_in_the_window_and_not_outside(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.storage.db'}"
    (seeded,) = await _seed(url, 1001)
    ana = standin.user(1001)
    clock = FastTime(START)
    bot = await run_bot(database_url=url, clock_start=START, clock_speed=SPEED)
    breaks = _todays_breaks(seeded)
    await clock.until(breaks[-1] + timedelta(minutes=1))
    await ana.wait_until(lambda: len(_reminders(ana)) == 4, timeout=15)
    assert [label for row in _reminders(ana)[-1].buttons for label, _ in row] == [
        "Start now", "Snooze 10 min", "In a meeting", "I moved already", "Skip this one"]
    # After the window (10:00) nothing more arrives.
    await clock.until(START + timedelta(hours=2))
    assert len(_reminders(ana)) == 4
    rows = await bot.query("select planned_at, status from breaks order by planned_at")
    assert [datetime.fromisoformat(str(at)).replace(tzinfo=UTC) for at, _ in rows] == breaks
    # Unanswered reminders expired quietly as missed; the next day's first break waits.
    assert {status for _, status in rows} == {"missed"}
    (next_due,) = (await bot.query(
        "select due_at from due_messages where kind = 'reminder' and status = 'pending'"))[0]
    assert datetime.fromisoformat(str(next_due)).replace(tzinfo=UTC) == \
        break_times(preferences(seeded), date(2026, 12, 1))[0]
    assert await bot.stop() == 0


async def test_snooze_and_skip(standin: BotAPIStandIn, run_bot: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.storage.db'}"
    # Two breaks in a long day and a long expiry: a reminder stays open for minutes of real
    # time, so the taps land before it passes however busy the machine is (expiry is not
    # what this test is about). The clock starts a minute before the first break.
    (seeded,) = await _seed(url, 1001, end=time(17), breaks=2)
    ana = standin.user(1001)
    await run_bot(database_url=url, clock_start=_todays_breaks(seeded)[0] - timedelta(minutes=1),
                  clock_speed=SPEED, REMINDER_EXPIRY_MINUTES="240")
    first = await ana.next_message(timeout=15)
    await ana.press_button(first, "Snooze 10 min")
    await ana.wait_until(lambda: "Snoozed" in (first.text or ""))
    assert first.buttons == []
    again = await ana.next_message(timeout=15, predicate=lambda m: REMINDER in (m.text or ""))
    await ana.press_button(again, "Skip this one")
    await ana.wait_until(lambda: "Skipped" in (again.text or ""))
    # The old reminder's button no longer does anything.
    await ana.press(first, "b:1:go", check=False)
    assert "Snoozed" in (first.text or "")
    await ana.wait_until(lambda: any("no longer active" in (m.text or "") or
                                     "already handled" in (m.text or "")
                                     for m in ana.messages))


async def test_kill_9_mid_day_loses_nothing_and_duplicates_nothing(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.storage.db'}"
    (seeded,) = await _seed(url, 1001)
    ana = standin.user(1001)
    breaks = _todays_breaks(seeded)
    # A slow clock until the kill: the second break is 90 real seconds after the first, so
    # the kill comes between them however busy the machine is.
    bot = await run_bot(database_url=url, clock_start=breaks[0] - timedelta(seconds=20),
                        clock_speed=10)
    await ana.wait_until(lambda: len(_reminders(ana)) >= 1, timeout=30)
    await bot.kill()
    assert len(_reminders(ana)) == 1
    # Back 3 minutes after the 09:22 break fell due while it was down (the new process's
    # clock starts there), fast enough to reach the last break in 18 real seconds and slow
    # enough that a slow start-up (11 real seconds) stays inside the 20-minute grace.
    bot = await run_bot(database_url=url, clock_start=breaks[1] + timedelta(minutes=3),
                        clock_speed=90)
    await ana.wait_until(lambda: len(_reminders(ana)) >= 4, timeout=90)
    rows = await bot.query("select planned_at, message_id, status from breaks")
    planned = sorted(datetime.fromisoformat(str(at)).replace(tzinfo=UTC) for at, *_ in rows)
    assert planned == breaks  # every break is accounted for, none twice
    # 3 minutes late is within the grace: sent late rather than lost.
    assert len(_reminders(ana)) == 4
    assert await bot.stop() == 0


async def test_a_blocked_user_stops_receiving_and_start_brings_them_back(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.storage.db'}"
    await _seed(url, 1001, 1002)
    ana, ben = standin.user(1001), standin.user(1002)
    ana.block()
    bot = await run_bot(database_url=url, clock_start=START, clock_speed=SPEED)
    await ben.wait_until(lambda: len(_reminders(ben)) == 2, timeout=20)
    assert _reminders(ana) == []
    assert await bot.query("select active from users where id = 1001") in ([(False,)], [(0,)])
    assert await bot.query(
        "select count(*) from due_messages where user_id = 1001 and status = 'pending'"
    ) == [(0,)]
    ana.unblock()
    await ana.command("/start")
    back = await ana.next_message(timeout=15)
    assert "Reminders are on again" in (back.text or "")
    await ana.wait_until(lambda: len(_reminders(ana)) == 1, timeout=20)


async def test_a_429_storm_delays_but_loses_nothing(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.storage.db'}"
    user_ids = list(range(2001, 2021))
    await _seed(url, *user_ids)
    users = [standin.user(user_id) for user_id in user_ids]
    standin.fail_next("sendMessage", status=429, retry_after=1, times=15)
    # A slower clock here: each 429 costs a real second, which must stay inside the grace.
    bot = await run_bot(database_url=url, clock_start=START + timedelta(minutes=6),
                        clock_speed=10)
    await standin.wait_until(lambda: all(len(_reminders(u)) == 1 for u in users), timeout=60)
    assert sum(1 for call in standin.calls if call.status == 429) == 15
    # The bot records a send right after Telegram accepts it.
    await eventually(bot, "select count(*) from breaks where message_id is not null", [(20,)])
    assert await bot.query("select count(*) from breaks where status = 'missed' and "
                           "message_id is null") == [(0,)]
