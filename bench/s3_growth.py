"""Scenario 3, growth with users: memory, start-up and a dispatcher wake-up as users grow.

For each size a database is seeded with N onboarded users and each one's next reminder
(due tomorrow: nothing is sent during the measurement). Then:

- the real `python -m bot` starts against the stand-in: the time from spawn to its first
  getUpdates request, and its resident memory (VmRSS) at that moment;
- the naive design (bench/naive_bot.py: one JobQueue job per user per break, re-created
  from the users table at start-up, as PTB's timerbot example leads to) is measured the
  same way on the same database;
- one dispatcher wake-up is timed in this process on the same database: a reminder falls
  due for one user, the real dispatcher claims, sends (to a null sender) and records it.

Growth figures use the smallest size as the baseline; naive figures use the real bot at
the same size.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import time as dtime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    MONDAY_10,
    ZONES_AT_10_UTC,
    BenchDatabases,
    Figure,
    bot_env,
    insert_rows,
    migrate,
    now_utc,
    reminder_row,
    seed_pg_generated,
    standin_server,
    start_process,
    user_row,
)

NAME = "3 growth with users"


def _rows(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rng = random.Random(3)
    due_from = max(now_utc(), MONDAY_10) + timedelta(days=1)
    users, due = [], []
    for user_id in range(1, count + 1):
        users.append(user_row(user_id, zone=rng.choice(ZONES_AT_10_UTC), start=dtime(8),
                              end=dtime(18), breaks=rng.randint(1, 8)))
        due.append(reminder_row(user_id, due_from + timedelta(seconds=user_id % 28800)))
    return users, due


async def seed(dbs: BenchDatabases, kind: str, count: int) -> str:
    if kind == "sqlite":
        url = dbs.sqlite_url(f"s3-{count}")
        await migrate(url)
        users, due = _rows(count)
        await insert_rows(url, users, due)
    else:
        url = await dbs.pg_url()
        await migrate(url)
        await seed_pg_generated(url, count, max(now_utc(), MONDAY_10) + timedelta(days=1))
    return url


class NullSender:
    def __init__(self) -> None:
        self.sent = 0

    async def send(self, chat_id: int, reply: Any) -> int:
        self.sent += 1
        return self.sent

    async def edit(self, chat_id: int, message_id: int, reply: Any) -> None:
        return None


async def time_wake_ups(url: str, count: int, repeats: int) -> dict[str, Any]:
    """Median time of one dispatcher wake-up that sends one due reminder, and of an empty one."""
    from sqlalchemy import insert, text

    from bot.config import load_settings
    from bot.content import load_program
    from bot.db import Database
    from bot.dispatcher import Dispatcher
    from bot.jobs import make_jobs
    from bot.models import DueMessage
    from bot.services import Services
    from bot.users import deactivate
    from bench.common import TOKEN

    at = MONDAY_10 + timedelta(seconds=1)
    settings = load_settings(telegram_bot_token=TOKEN, database_url=url, _env_file=None)
    database = Database(settings.database_url, settings.database_pool_size)
    services = Services(settings, database, lambda: at, load_program())
    sender = NullSender()
    dispatcher = Dispatcher(database, sender, services.clock, make_jobs(services),
                            on_blocked=deactivate, worker="bench-wake")
    rng = random.Random(count)
    sending: list[float] = []
    empty: list[float] = []
    try:
        async with database.session() as session:
            zones = dict((await session.execute(text(
                "SELECT id, time_zone FROM users WHERE id <= 200"))).all())
        # Users for whom 10:00 UTC on Monday is work time (all S3 users are, on SQLite).
        candidates = [uid for uid, zone in zones.items() if zone in ZONES_AT_10_UTC]
        await dispatcher.tick()  # warm: connections, statement caches
        for n in range(repeats):
            user_id = candidates[n % len(candidates)] if candidates else rng.randint(1, count)
            async with database.session() as session:
                await session.execute(insert(DueMessage), [reminder_row(
                    user_id, MONDAY_10 - timedelta(seconds=n)) | {"key": f"wake:{n}"}])
            started = time.perf_counter()
            await dispatcher.tick()
            sending.append(time.perf_counter() - started)
            started = time.perf_counter()
            await dispatcher.tick()
            empty.append(time.perf_counter() - started)
    finally:
        await database.close()
    return {"sending_ms": 1000 * statistics.median(sending),
            "empty_ms": 1000 * statistics.median(empty), "sent": sender.sent,
            "sending_samples_ms": [1000 * s for s in sending],
            "empty_samples_ms": [1000 * s for s in empty]}


async def measure_process(url: str, module: str, logs: Path, label: str) -> dict[str, Any]:
    async with standin_server(record_calls=True) as standin:
        run = await start_process(standin, ["-m", module], bot_env(standin.base_url, url),
                                  logs / f"s3-{label}.log", timeout=600)
        await run.stop()
    return {"ready_seconds": run.ready_after,
            "rss_mb": run.rss_at_ready.get("VmRSS", 0) / 1024,
            "peak_rss_mb": run.rss_at_ready.get("VmHWM", 0) / 1024}


async def run(dbs: BenchDatabases, *, sqlite_sizes: list[int], pg_sizes: list[int],
              naive_sizes: list[int], repeats: int, logs: Path) -> list[Figure]:
    results: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, sizes in (("sqlite", sqlite_sizes), ("postgres", pg_sizes)):
        for count in sizes:
            started = time.perf_counter()
            url = await seed(dbs, kind, count)
            seeded = time.perf_counter() - started
            real = await measure_process(url, "bot", logs, f"bot-{kind}-{count}")
            naive = await measure_process(url, "bench.naive_bot", logs,
                                          f"naive-{kind}-{count}") \
                if count in naive_sizes and kind == "sqlite" else None
            wake = await time_wake_ups(url, count, repeats)
            results[(kind, count)] = {"real": real, "naive": naive, "wake": wake,
                                      "seed_seconds": seeded}
            if kind == "postgres":
                await dbs.drop_pg(url)
    return _figures(results, sqlite_sizes, pg_sizes)


def _figures(results: dict[tuple[str, int], dict[str, Any]], sqlite_sizes: list[int],
             pg_sizes: list[int]) -> list[Figure]:
    figures: list[Figure] = []
    smallest = results[("sqlite", sqlite_sizes[0])]
    largest_sqlite = sqlite_sizes[-1]
    base_label = f"real bot, {sqlite_sizes[0]:,} users (SQLite)"
    for kind, sizes in (("sqlite", sqlite_sizes), ("postgres", pg_sizes)):
        db = "SQLite" if kind == "sqlite" else "PostgreSQL"
        for count in sizes:
            r = results[(kind, count)]
            top = kind == "sqlite" and count == largest_sqlite
            mem_ratio = r["real"]["rss_mb"] / smallest["real"]["rss_mb"]
            start_ratio = r["real"]["ready_seconds"] / smallest["real"]["ready_seconds"]
            figures.append(Figure(
                NAME, f"{count:,} users ({db}): memory after start-up", r["real"]["rss_mb"],
                "MB", smallest["real"]["rss_mb"], base_label,
                goal="ratio <= 1.2" if top else "", met=mem_ratio <= 1.2 if top else None,
                extra=r))
            figures.append(Figure(
                NAME, f"{count:,} users ({db}): start → first getUpdates",
                r["real"]["ready_seconds"], "s", smallest["real"]["ready_seconds"],
                base_label, goal="ratio <= 1.5" if top else "",
                met=start_ratio <= 1.5 if top else None))
            figures.append(Figure(
                NAME, f"{count:,} users ({db}): one wake-up sending one reminder",
                r["wake"]["sending_ms"], "ms", smallest["wake"]["sending_ms"], base_label,
                note=f"empty wake-up {r['wake']['empty_ms']:.1f} ms "
                     f"(at {sqlite_sizes[0]:,}: {smallest['wake']['empty_ms']:.1f} ms)",
                samples=r["wake"]["sending_samples_ms"]))
            naive = r["naive"]
            if naive is not None:
                naive_label = f"real bot, {count:,} users (same database)"
                mem = naive["rss_mb"] / r["real"]["rss_mb"]
                start = naive["ready_seconds"] / r["real"]["ready_seconds"]
                goal = "ratio >= 5 (memory or start-up)" if top else ""
                met = (mem >= 5 or start >= 5) if top else None
                figures.append(Figure(
                    NAME, f"{count:,} users: naive design (job per user per break) memory",
                    naive["rss_mb"], "MB", r["real"]["rss_mb"], naive_label, goal=goal,
                    met=met))
                figures.append(Figure(
                    NAME, f"{count:,} users: naive design start → first getUpdates",
                    naive["ready_seconds"], "s", r["real"]["ready_seconds"], naive_label,
                    goal=goal, met=met))
    return figures
