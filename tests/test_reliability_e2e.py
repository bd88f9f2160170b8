"""The real bot process against the stand-in: a stop in the middle of a long drain, and a
user blocking and unblocking the bot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import insert

from bot.storage.db import Database
from bot.storage.models import DueMessage, User
from standin import BotAPIStandIn

pytestmark = [pytest.mark.e2e]

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
REMINDER = "Time for a stretch break"


def _users(count: int) -> list[dict[str, Any]]:
    return [dict(id=5000 + i, chat_id=5000 + i, language="en", created_at=NOW,
                 consented_at=NOW, onboarded_at=NOW, active=True, draft={}, time_zone="UTC",
                 work_days=0b1111111, work_start=time(9), work_end=time(17), breaks_per_day=4,
                 place="desk", rotation=0) for i in range(count)]


@pytest.mark.postgres
async def test_sigterm_in_a_long_drain_stops_at_once_and_loses_nothing(
    standin: BotAPIStandIn, run_bot: Any, pg_url: str
) -> None:
    users = _users(3000)
    database = Database(pg_url)
    async with database.session() as session:
        await session.execute(insert(User), users)
        await session.execute(insert(DueMessage), [
            dict(user_id=user["id"], kind="reminder", key="reminder:now", due_at=NOW,
                 status="pending", payload={}, attempts=0) for user in users])
    for user in users:
        standin.user(user["id"])
    # A slow Telegram: draining all of them would take minutes.
    standin.slow("sendMessage", 0.5)
    bot = await run_bot("dispatch", database_url=pg_url, wait_ready=False, clock_start=NOW,
                        DISPATCH_MESSAGES_PER_SECOND="1000")
    await standin.wait_until(lambda: len(standin.calls_to("sendMessage")) >= 20, timeout=120)
    # The platform's grace: SIGKILL 30 s after SIGTERM.
    assert await bot.stop(timeout=30) == 0
    delivered = [call.chat_id for call in standin.calls_to("sendMessage")
                 if call.ok and REMINDER in str(call.params.get("text", ""))]
    rows = await bot.query("select status, count(*) from due_messages where key ="
                           " 'reminder:now' group by status")
    counts = dict(rows)
    await database.close()
    assert "claimed" not in counts, "nothing is left claimed for others to wait out"
    assert len(delivered) == len(set(delivered)) == counts.get("sent", 0)
    assert counts.get("sent", 0) + counts.get("pending", 0) == len(users)
    assert counts.get("pending", 0) > 0  # the rest is for the other instances


async def test_a_block_is_noticed_at_once_and_an_unblock_is_a_return(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Any
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
    from bot.storage.migrate import upgrade

    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    [user] = _users(1)
    async with database.session() as session:
        await session.execute(insert(User), [user])
        await session.execute(insert(DueMessage), [dict(
            user_id=user["id"], kind="reminder", key="reminder:later",
            due_at=datetime.now(UTC) + timedelta(hours=1), status="pending", payload={},
            attempts=0)])
    await database.close()
    ana = standin.user(user["id"])
    bot = await run_bot(database_url=url)

    async def active() -> bool:
        [(value,)] = await bot.query("select active from users")
        return bool(value)

    ana.block()
    for _ in range(400):
        if not await active():
            break
        await asyncio.sleep(0.05)
    assert not await active()
    assert await bot.query("select count(*) from due_messages where status = 'pending'") \
        == [(0,)]
    assert standin.calls_to("sendMessage") == []  # nothing was sent to find it out

    ana.unblock()
    welcome = await ana.next_message()
    assert "Welcome back! Reminders are on again." in (welcome.text or "")
    assert await active()
    assert await bot.stop() == 0
