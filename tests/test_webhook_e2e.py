"""Webhook mode on the real PostgreSQL server: two instances behind a load balancer.

The Bot API stand-in delivers updates by webhook to a small round-robin balancer in front
of two `python -m bot web` processes sharing one database, as on a Procfile platform.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bench.soak import Balancer, healthy
from bench.soak import free_port as _free_port
from bot.storage.db import Database
from bot.storage.models import DueMessage, User
from standin import BotAPIStandIn
from tests.conftest import TOKEN, BotProcess

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

SECRET = "s3cret-webhook-token-for-tests"
REMINDER = "Time for a stretch break"


def _heroku_url(pg_url: str) -> str:
    """The shape a Procfile platform hands out."""
    return pg_url.replace("postgresql+asyncpg://", "postgres://") + "?sslmode=disable"


async def _web_instances(run_bot: Any, pg_url: str, count: int = 2) -> tuple[list[BotProcess],
                                                                              Balancer]:
    ports = [_free_port() for _ in range(count)]
    balancer = Balancer(ports)
    await balancer.start()
    bots = []
    for port in ports:
        bots.append(await run_bot("web", database_url=_heroku_url(pg_url), wait_ready=False,
                                  PORT=str(port), WEBHOOK_URL=f"http://127.0.0.1:{balancer.port}",
                                  WEBHOOK_SECRET=SECRET))
    for port in ports:
        await healthy(port)
    return bots, balancer


async def _wait_webhook(standin: BotAPIStandIn) -> None:
    await standin.wait_until(lambda: standin.webhook is not None, timeout=20)


async def _seed_due_reminders(pg_url: str, user_ids: list[int], due_at: datetime) -> None:
    """Users whose work window is now, each with a reminder due at `due_at`."""
    now = datetime.now(UTC)
    start = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(hours=3)).time().replace(second=0, microsecond=0)
    database = Database(pg_url)
    async with database.session() as session:
        for user_id in user_ids:
            session.add(User(id=user_id, chat_id=user_id, created_at=now, consented_at=now,
                             onboarded_at=now, active=True, draft={}, time_zone="UTC",
                             work_days=0b1111111, work_start=start, work_end=end,
                             breaks_per_day=1, place="desk"))
        await session.flush()
        for user_id in user_ids:
            session.add(DueMessage(user_id=user_id, kind="reminder", key=f"remind:{user_id}",
                                   due_at=due_at, status="pending", payload={}, attempts=0))
    await database.close()


def _sent_per_chat(standin: BotAPIStandIn, text: str) -> Counter[int]:
    return Counter(call.chat_id for call in standin.calls
                   if call.method.lower() == "sendmessage" and call.ok
                   and text in str(call.params.get("text", "")))


async def test_two_web_instances_handle_each_update_and_reminder_once(
    standin: BotAPIStandIn, run_bot: Any, pg_url: str
) -> None:
    reminder_users = list(range(5001, 5041))
    await _seed_due_reminders(pg_url, reminder_users, datetime.now(UTC) + timedelta(seconds=4))
    for user_id in reminder_users:
        standin.user(user_id)
    bots, balancer = await _web_instances(run_bot, pg_url)
    await _wait_webhook(standin)
    users = [standin.user(3000 + i) for i in range(30)]
    for user in users:
        await user.command("/start")
    await standin.wait_until(lambda: all(u.messages for u in users), timeout=30)
    await asyncio.sleep(1)
    assert all(len(user.messages) == 1 for user in users), "an update was answered twice"
    assert len(balancer.hits) == 2  # both instances took part

    await standin.wait_until(
        lambda: set(_sent_per_chat(standin, REMINDER)) == set(reminder_users), timeout=30)
    await asyncio.sleep(2)
    assert set(_sent_per_chat(standin, REMINDER).values()) == {1}

    # A request without the right secret is refused and processes nothing.
    forged = {"update_id": 999999, "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": 4242, "type": "private"},
        "from": {"id": 4242, "is_bot": False, "first_name": "Eve"}, "text": "/start",
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}}
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret-value-123"}):
            async with session.post(f"http://127.0.0.1:{balancer.port}/telegram", json=forged,
                                    headers=headers) as response:
                assert response.status == 403
    assert await bots[0].query("select count(*) from users where id = 4242") == [(0,)]
    for bot in bots:
        assert await bot.stop() == 0
    await balancer.stop()


async def test_sigterm_during_load_loses_nothing(
    standin: BotAPIStandIn, run_bot: Any, pg_url: str
) -> None:
    bots, balancer = await _web_instances(run_bot, pg_url)
    await _wait_webhook(standin)
    users = [standin.user(6000 + i) for i in range(60)]
    for user in users[:30]:
        await user.command("/help")
    started = time.monotonic()
    bots[0].process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    for user in users[30:]:
        await user.command("/help")
    assert await bots[0].stop(timeout=30) == 0
    assert time.monotonic() - started < 30
    await standin.wait_until(lambda: all(u.messages for u in users), timeout=30)
    await asyncio.sleep(1)
    assert [len(user.messages) for user in users] == [1] * 60
    assert await bots[1].stop() == 0
    await balancer.stop()


async def test_the_database_going_away_and_back_is_survived(
    standin: BotAPIStandIn, run_bot: Any, pg_url: str
) -> None:
    standin.hub.webhook_retries, standin.hub.webhook_retry_delay = 60, 0.5
    bots, balancer = await _web_instances(run_bot, pg_url, count=1)
    await _wait_webhook(standin)
    ana = standin.user(7001)
    await ana.command("/start")
    await ana.next_message(timeout=15)
    control = ["pg_ctlcluster", "--skip-systemctl-redirect",
               sorted(os.listdir("/etc/postgresql"))[0], "main"]
    await asyncio.to_thread(subprocess.run, [*control, "stop", "-m", "fast"], check=True)
    try:
        async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{balancer.ports[0]}/health"
        ) as response:
            assert response.status == 503
            assert (await response.json())["database"] == "unreachable"
        await ana.command("/privacy")  # arrives while the database is down
        await asyncio.sleep(2)
    finally:
        await asyncio.to_thread(subprocess.run, [*control, "start"], check=True)
    reply = await ana.next_message(timeout=40)
    assert "What I store" in (reply.text or "")
    assert (await healthy(balancer.ports[0]))["database"] == "ok"
    assert bots[0].process is not None and bots[0].process.returncode is None
    assert await bots[0].stop() == 0
    await balancer.stop()


async def test_the_token_never_reaches_the_logs(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    standin.fail_next("getUpdates", status=502, times=3)
    standin.fail_next("sendMessage", status=500, times=2)
    bot = await run_bot(LOG_LEVEL="DEBUG")
    ana = standin.user(8001)
    await ana.command("/start")
    await ana.next_message(timeout=20)
    assert await bot.stop() == 0
    # A bot that cannot reach Telegram at all logs failed requests with tracebacks.
    refused = await run_bot(wait_ready=False, LOG_LEVEL="DEBUG",
                            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{_free_port()}/bot")
    await asyncio.sleep(4)
    await refused.stop()
    logs = bot.log + refused.log
    assert "Traceback" in logs or "rror" in logs  # failures were logged...
    assert TOKEN not in logs  # ...without the token
    assert TOKEN.split(":")[1] not in logs
