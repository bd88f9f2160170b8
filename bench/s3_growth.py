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
from datetime import time as dtime
from datetime import timedelta
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


class WakeUpBench:
    """The real dispatcher on one database, for timing single wake-ups."""

    def __init__(self, url: str, count: int) -> None:
        from bench.common import TOKEN
        from bot.config import load_settings
        from bot.domain.content import load_program
        from bot.outbox.dispatcher import Dispatcher
        from bot.storage.db import Database
        from handlers.account import unsubscribe as deactivate
        from handlers.jobs import make_jobs
        from handlers.turn import Services

        at = MONDAY_10 + timedelta(seconds=1)
        settings = load_settings(telegram_bot_token=TOKEN, database_url=url, _env_file=None)
        self.database = Database(settings.database_url, settings.database_pool_size)
        self.services = services = Services(settings, self.database, lambda: at,
                                            load_program())
        self.sender = NullSender()
        self.dispatcher = Dispatcher(self.database, self.sender, services.clock,
                                     make_jobs(services), on_blocked=deactivate,
                                     worker="bench-wake")
        self.count = count
        self.sending: list[float] = []
        self.empty: list[float] = []
        self.n = 0

    async def warm(self) -> None:
        await self.dispatcher.tick()  # connections, statement caches

    async def once(self) -> None:
        """One wake-up that finds one due reminder, then one that finds nothing."""
        from sqlalchemy import insert

        from bot.storage.models import DueMessage

        # Every seeded user works at 10:00 UTC on a Monday (see _rows / seed_pg_generated).
        user_id = 1 + (self.n * 7919) % min(self.count, 200)
        async with self.database.session() as session:
            await session.execute(insert(DueMessage), [reminder_row(
                user_id, MONDAY_10 - timedelta(seconds=self.n)) | {"key": f"wake:{self.n}"}])
        self.n += 1
        started = time.perf_counter()
        await self.dispatcher.tick()
        self.sending.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        await self.dispatcher.tick()
        self.empty.append(1000 * (time.perf_counter() - started))

    def result(self) -> dict[str, Any]:
        return {"sending_ms": statistics.median(self.sending),
                "empty_ms": statistics.median(self.empty), "sent": self.sender.sent,
                "sending_samples_ms": self.sending, "empty_samples_ms": self.empty}


async def measure_process(url: str, module: str, logs: Path, label: str,
                          cap: float = 600) -> dict[str, Any]:
    async with standin_server(record_calls=True) as standin:
        run = await start_process(standin, ["-m", module], bot_env(standin.base_url, url),
                                  logs / f"s3-{label}.log", timeout=cap, give_up=True)
        await run.stop()
    return {"ready_seconds": run.ready_after, "gave_up_after": run.gave_up_after,
            "rss_mb": run.rss_at_ready.get("VmRSS", 0) / 1024,
            "peak_rss_mb": run.rss_at_ready.get("VmHWM", 0) / 1024}


async def run(dbs: BenchDatabases, *, sqlite_sizes: list[int], pg_sizes: list[int],
              naive_sizes: list[int], rounds: int, repeats: int, naive_cap: float,
              logs: Path) -> list[Figure]:
    sizes = [("sqlite", n) for n in sqlite_sizes] + [("postgres", n) for n in pg_sizes]
    urls: dict[tuple[str, int], str] = {}
    results: dict[tuple[str, int], dict[str, Any]] = {}
    try:
        for key in sizes:
            started = time.perf_counter()
            urls[key] = await seed(dbs, *key)
            results[key] = {"seed_seconds": time.perf_counter() - started, "real_runs": []}
        # Start-ups alternate between sizes, so a noisy moment does not favour one size.
        for n in range(rounds):
            for key in sizes if n % 2 == 0 else sizes[::-1]:
                results[key]["real_runs"].append(
                    await measure_process(urls[key], "bot", logs, f"bot-{key[0]}-{key[1]}"))
        for key in sizes:
            runs = results[key]["real_runs"]
            results[key]["real"] = {
                "ready_seconds": statistics.median(r["ready_seconds"] for r in runs),
                "rss_mb": statistics.median(r["rss_mb"] for r in runs)}
            results[key]["naive"] = await measure_process(
                urls[key], "bench.naive_bot", logs, f"naive-{key[0]}-{key[1]}", naive_cap) \
                if key[0] == "sqlite" and key[1] in naive_sizes else None
        benches = {key: WakeUpBench(urls[key], key[1]) for key in sizes}
        try:
            for bench in benches.values():
                await bench.warm()
            for _ in range(repeats):
                for bench in benches.values():
                    await bench.once()
        finally:
            for bench in benches.values():
                await bench.database.close()
        for key, bench in benches.items():
            results[key]["wake"] = bench.result()
    finally:
        for (kind, _count), url in urls.items():
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
                extra={k: v for k, v in r.items() if k != "wake"}))
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
                samples=r["wake"]["sending_samples_ms"],
                baseline_samples=smallest["wake"]["sending_samples_ms"],
                extra={"empty_samples_ms": r["wake"]["empty_samples_ms"]}))
            naive = r["naive"]
            if naive is not None:
                naive_label = f"real bot, {count:,} users (same database)"
                capped = naive["ready_seconds"] is None
                ready = naive["gave_up_after"] if capped else naive["ready_seconds"]
                mem = naive["rss_mb"] / r["real"]["rss_mb"]
                start = ready / r["real"]["ready_seconds"]
                goal = "ratio >= 5 (memory or start-up)" if top else ""
                met = (mem >= 5 or start >= 5) if top else None
                bound = (f"still scheduling when stopped at {ready:.0f} s: both figures are "
                         "lower bounds") if capped else ""
                figures.append(Figure(
                    NAME, f"{count:,} users: naive design (job per user per break) memory",
                    naive["rss_mb"], "MB", r["real"]["rss_mb"], naive_label, goal=goal,
                    met=met, note=bound, extra={"lower_bound": capped}))
                figures.append(Figure(
                    NAME, f"{count:,} users: naive design start → first getUpdates",
                    ready, "s", r["real"]["ready_seconds"], naive_label,
                    goal=goal, met=met, note=bound, extra={"lower_bound": capped}))
    return figures
