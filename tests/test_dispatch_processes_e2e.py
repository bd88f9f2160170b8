"""Two dispatcher processes on the real PostgreSQL server deliver every reminder once.

Both run `python -m bot dispatch` against one database with the same fast clock (a
morning of reminders in about a minute), as several web or dispatcher instances would.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from bot.domain.schedule import break_times
from bot.storage.db import Database
from bot.storage.models import User
from handlers.planning import plan_next, preferences
from standin import BotAPIStandIn
from tests.test_reminders_e2e import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

START = datetime(2026, 11, 30, 7, 55, tzinfo=UTC)  # 08:55 in Madrid
SPEED = 240.0
REMINDER = "Time for a stretch break"
ZONES = ["Europe/Madrid", "Europe/Paris", "Africa/Lagos"]  # all UTC+1 on that day


def _user(user_id: int, rng: random.Random) -> User:
    return User(id=user_id, chat_id=user_id, created_at=START, consented_at=START,
                onboarded_at=START, active=True, draft={}, time_zone=rng.choice(ZONES),
                work_days=0b0011111, work_start=time(9), work_end=time(rng.choice([11, 12])),
                breaks_per_day=rng.randint(1, 8), place="desk",
                # Asked whether the plan fits this week already: every slot is a reminder.
                plan_fit_at=START)


async def test_two_dispatcher_processes_send_every_reminder_once(
    standin: BotAPIStandIn, run_bot: Any, pg_url: str
) -> None:
    rng = random.Random(11)
    users = [_user(9000 + i, rng) for i in range(60)]
    database = Database(pg_url)
    async with database.session() as session:
        session.add_all(users)
        await session.flush()
        for user in users:
            await plan_next(session, user, START)
    await database.close()
    for user in users:
        standin.user(user.id)
    expected = {user.id: break_times(preferences(user), date(2026, 11, 30)) for user in users}

    # Both must take part whatever the machine's load:
    # - Both clocks read START at the same real instant, however far apart the processes
    #   start. Otherwise the one started first runs ahead and claims every row before the
    #   other's clock reaches it.
    # - Each send is slow at first, so the process that claimed rows is busy with them (it
    #   claims nothing more until they end) and the reminders falling due meanwhile can only
    #   go to the other one. Once both have claimed rows, sends are quick again. (Half a
    #   second per send stays well inside the bot's own timeout.)
    # - A reminder may go out late: at this speed a starved process's second is four minutes.
    standin.slow("sendMessage", 0.5)
    started_at = datetime.now(UTC).isoformat()
    bots = await asyncio.gather(*(
        run_bot("dispatch", database_url=pg_url, wait_ready=False, clock_start=START,
                clock_speed=SPEED, DISPATCH_INTERVAL_SECONDS="30",
                CLOCK_STARTED_AT=started_at, LATE_GRACE_MINUTES="600")
        for _ in range(2)))
    await eventually(bots[0], "select count(distinct claimed_by) from due_messages "
                     "where claimed_by is not null", [(2,)], timeout=60)
    standin.slow("sendMessage", 0)

    def sent() -> Counter[int]:
        return Counter(call.chat_id for call in standin.calls
                       if call.method == "sendMessage" and call.ok
                       and REMINDER in str(call.params.get("text", "")))

    total = sum(len(times) for times in expected.values())
    # 12:00 local is 3 h 5 min after the start: 46 s at this speed.
    await standin.wait_until(lambda: sum(sent().values()) >= total, timeout=120)
    await asyncio.sleep(3)
    assert sent() == Counter({user_id: len(times) for user_id, times in expected.items()})
    rows = await bots[0].query("select user_id, planned_at from breaks")
    planned = {(user_id, at.astimezone(UTC)) for user_id, at in rows}
    assert planned == {(user_id, at) for user_id, times in expected.items() for at in times}
    workers = await bots[0].query(
        "select count(distinct claimed_by) from due_messages where status = 'sent'")
    assert workers == [(2,)], "both processes took part"
    for bot in bots:
        assert await bot.stop() == 0
