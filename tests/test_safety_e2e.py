"""A stop for pain that holds, end to end: the real `python -m bot` against the Bot API
stand-in, on a fast clock.

The user works 09:00–10:00 UTC with one break a day (09:30 plus a small per-user offset).
On Monday a pain of 8 stops a break at about 09:05; the bot's clock then
runs through the rest of the work day with no reminder. The bot is started again on
Tuesday morning (23 hours at this speed would take minutes): the first reminder opens with
the check-in, and a typed "me duele" stops the break it leads to.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Rating, User
from handlers.planning import plan_next
from standin import BotAPIStandIn, ChatMessage, SimulatedUser

pytestmark = pytest.mark.e2e

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FAST, FASTER = 120.0, 600.0
USER = 1001


async def _seed(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.session() as session:
            user = User(id=USER, chat_id=USER, language="en", created_at=MONDAY_9,
                        consented_at=MONDAY_9, onboarded_at=MONDAY_9, active=True, draft={},
                        time_zone="UTC", work_start=time(9), work_end=time(10),
                        breaks_per_day=1, place="desk", rotation=0)
            session.add(user)
            await session.flush()
            session.add(Rating(user_id=USER, kind="baseline", rated_at=MONDAY_9, pain=3,
                               stiffness=4))
            await plan_next(session, user, MONDAY_9)
    finally:
        await database.close()
    return url


async def _message_with(user: SimulatedUser, text: str) -> ChatMessage:
    return await user.next_message(timeout=20, predicate=lambda m: text in (m.text or ""))


def _reminders(user: SimulatedUser) -> list[ChatMessage]:
    return [m for m in user.messages if (m.text or "").startswith(
        ("Time for a stretch break", "How is the hip today"))]


async def test_a_pain_of_8_holds_for_the_day_and_the_next_day_opens_with_a_check_in(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await _seed(tmp_path)
    ana = standin.user(USER, first_name="Ana")
    bot = await run_bot(database_url=url, clock_start=MONDAY_9, clock_speed=FAST)
    await ana.command("/stretch")
    position = await _message_with(ana, "1/1")
    await ana.press_button(position, "Ready")
    await _message_with(ana, "How is your pain right now")
    await ana.send("8 2")
    stopped = await _message_with(ana, "a pain of 8 out of 10")
    assert "until your next work day" in (stopped.text or "")
    assert "This is not medical advice." in (stopped.text or "")
    stopped_at = datetime.fromisoformat(str((await bot.query(
        "select pain_stop_at from users"))[0][0])).replace(tzinfo=UTC)
    assert stopped_at < MONDAY_9 + timedelta(minutes=25)  # before the day's break was due
    assert await bot.stop() == 0

    # The rest of Monday on a faster clock: the 09:30 break stays silent.
    bot = await run_bot(database_url=url, clock_start=stopped_at + timedelta(minutes=1),
                        clock_speed=FASTER)
    await asyncio.sleep((60 * 60) / FASTER)  # an hour of the bot's clock: past 10:00
    assert _reminders(ana) == []
    planned = await bot.query("select due_at from due_messages where kind = 'reminder' "
                              "and status = 'pending'")
    assert [str(at)[:10] for (at,) in planned] == ["2026-12-01"]
    assert await bot.stop() == 0

    # Tuesday morning: the first reminder asks how the hip is.
    tuesday_break = datetime.fromisoformat(str(planned[0][0])).replace(tzinfo=UTC)
    bot = await run_bot(database_url=url, clock_start=tuesday_break - timedelta(minutes=1),
                        clock_speed=FAST)
    check_in = await _message_with(ana, "How is the hip today?")
    assert _reminders(ana) == [check_in]
    await ana.press_button(check_in, "The same")
    await ana.wait_until(lambda: "Time for a stretch break" in (check_in.text or ""),
                         timeout=20)
    await ana.press_button(check_in, "Start now")
    await ana.wait_until(lambda: "1/1" in (check_in.text or ""), timeout=20)
    await ana.send("me duele")
    await _message_with(ana, "you said it hurts")
    status, stopped_for_pain = (await bot.query(
        "select status, stopped_for_pain from breaks order by id desc limit 1"))[0]
    assert (status, bool(stopped_for_pain)) == ("partial", True)

    await ana.command("/help")
    shown = (await _message_with(ana, "Get help now")).text or ""
    assert "see a GP or physiotherapist soon" in shown
    assert shown.index("loss of bladder") < shown.index("soon") < shown.index(
        "unexplained weight loss")
    assert await bot.stop() == 0
