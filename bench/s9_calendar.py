"""Scenario 9, calendar feeds: many users' feeds re-fetched on schedule while reminders fall due.

The real `python -m bot` runs on PostgreSQL against the stand-in; `feeds` users have a
calendar feed served by a local HTTP server in this process (CALENDAR_ALLOW_LOOPBACK=1),
fetched every `every_minutes` (30 in production, the default; a shorter interval sees more
rounds in less time at a higher fetch rate). Their work windows
lie outside the run, so every fetch is pure overhead for the reminders. During the same
`spread` seconds `reminders` other users' reminders fall due evenly.

Measured: fetches per 10-second bucket at the feed server (spread evenly: the coefficient
of variation of the buckets), reminders' lateness (sent - due) at the stand-in, and the bot's
resident memory sampled every 5 s (the last minute against the first). The baseline, in the
same run, is the same reminders with no feeds; it runs after the load, so a long run shows
the answer to "does memory level off?" first.

Every minute of each run prints one flushed line (fetches that minute, the bot's VmRSS,
reminders sent so far and their lateness p95 so far) and rewrites the series so far to
`<logs>/s9-<label>-minutes.json`, so a long run that is stopped early still tells.

    python -m bench.s9_calendar [--feeds 10000] [--reminders 600] [--spread 300] [--every 30]
    python -m bench --only 9        # the same at the full table's size (about 5 minutes)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    BenchDatabases,
    Figure,
    bot_env,
    insert_rows,
    lateness,
    local_http,
    migrate,
    now_utc,
    reminder_row,
    rss_kb,
    standin_server,
    start_process,
    user_row,
    wall_window_around,
)

NAME = "9 calendar feeds"
FEED_USERS = 5_000_001
REMINDER_USERS = 6_000_001
LEAD = timedelta(seconds=10)
BUCKET = 10.0
# A run waits `spread` seconds for its reminders; on top of that the set-up (10,000 feed
# users seeded, the bot started) and the stop. Generous, so a long run is never cut short.
SETUP_ALLOWANCE = 900.0


def _ics(day: datetime) -> bytes:
    start = day.replace(hour=3, minute=0, second=0, microsecond=0)
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:standup\r\nDTSTART:{start:%Y%m%dT%H%M%S}Z\r\n"
            f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%S}Z\r\n"
            "RRULE:FREQ=DAILY\r\nSUMMARY:Stand-up\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n").encode()


@asynccontextmanager
async def feed_server(body: bytes) -> AsyncIterator[tuple[str, list[float]]]:
    from aiohttp import web

    hits: list[float] = []

    async def serve(_request: web.Request) -> web.Response:
        hits.append(time.time())
        return web.Response(body=body, content_type="text/calendar")

    app = web.Application()
    app.router.add_get("/f/{user}/basic.ics", serve)
    async with local_http(app) as base:
        yield base, hits


async def _seed(url: str, base: str, feeds: int, reminders: int, spread: float,
                every: timedelta) -> tuple[float, dict[int, float]]:
    from sqlalchemy import insert

    from bot.storage.db import Database
    from bot.storage.models import CalendarFeed
    from handlers.calendar import next_fetch

    first_due = now_utc() + LEAD
    # Feed users work 03:00-05:00 UTC, reminder users around now: no feed user's break
    # falls in the run (their fetches only cost), unless the run is near 03:00 UTC.
    feed_users = [FEED_USERS + i for i in range(feeds)]
    reminder_chats = [REMINDER_USERS + i for i in range(reminders)]
    start, end = wall_window_around(first_due, timedelta(hours=1), timedelta(hours=2))
    due_at = {chat: first_due + timedelta(seconds=spread * i / max(reminders, 1))
              for i, chat in enumerate(reminder_chats)}
    users = [user_row(u, zone="UTC", start=datetime(2026, 1, 1, 3).time(),
                      end=datetime(2026, 1, 1, 5).time(), breaks=4, days=0b1111111)
             for u in feed_users]
    users += [user_row(c, zone="UTC", start=start, end=end, breaks=4, days=0b1111111)
              for c in reminder_chats]
    await insert_rows(url, users, [reminder_row(c, at) for c, at in due_at.items()])
    rows = [dict(user_id=u, url=f"{base}/f/{u}/basic.ics", added_at=first_due,
                 next_fetch_at=next_fetch(u, first_due, every)) for u in feed_users]
    database = Database(url)
    try:
        for i in range(0, len(rows), 5000):
            async with database.session() as session:
                await session.execute(insert(CalendarFeed), rows[i:i + 5000])
    finally:
        await database.close()
    return first_due.timestamp(), {c: at.timestamp() for c, at in due_at.items()}


async def _run(dbs: BenchDatabases, feeds: int, reminders: int, spread: float,
               every_minutes: float, logs: Path, label: str) -> dict[str, Any]:
    url = await dbs.pg_url()
    every = timedelta(minutes=every_minutes)
    rss: list[tuple[float, int]] = []
    minutes: list[dict[str, Any]] = []
    try:
        await migrate(url)
        async with standin_server(record_calls=True) as standin, \
                feed_server(_ics(datetime.now(UTC))) as (base, hits):
            first_due, due = await _seed(url, base, feeds, reminders, spread, every)
            bot = await start_process(
                standin, ["-m", "bot"],
                bot_env(standin.base_url, url, CALENDAR_ALLOW_LOOPBACK="1",
                        CALENDAR_FETCH_MINUTES=f"{every_minutes:g}"),
                logs / f"s9-{label}.log")
            print(f"[s9 {time.strftime('%H:%M:%S')}] {label}: {feeds:,} feeds, {reminders:,} "
                  f"reminders over {spread:g} s, bot pid {bot.proc.pid} polling after "
                  f"{bot.ready_after:.1f} s", file=sys.stderr, flush=True)
            try:
                end = first_due + spread + 2
                full = int(spread // 60)
                while True:
                    rss.append((time.time(), rss_kb(bot.proc.pid).get("VmRSS", 0)))
                    while len(minutes) < full \
                            and time.time() >= first_due + 60 * (len(minutes) + 1):
                        minutes.append(_minute(len(minutes), first_due, hits, rss,
                                               standin.calls, due))
                        _report(label, minutes, logs)
                    if time.time() >= end:
                        break
                    await asyncio.sleep(min(5.0, max(end - time.time(), 0.0)))
            finally:
                await bot.stop()
            calls = list(standin.calls)
            fetch_times = [t for t in hits if first_due <= t < first_due + spread]
    finally:
        await dbs.drop_pg(url)
    buckets = Counter(int((t - first_due) // BUCKET) for t in fetch_times)
    counts = [buckets.get(i, 0) for i in range(int(spread // BUCKET))]
    per_minute = [m["fetches"] for m in minutes[:int(spread // 60)]]
    scheduled = _scheduled(feeds, first_due, spread, every)
    first_minute = [kb for t, kb in rss if t < first_due + 60]
    last_minute = [kb for t, kb in rss if t >= first_due + spread - 60]
    return {
        **lateness(calls, due),
        "fetches": len(fetch_times),
        "fetches_expected": feeds * spread / every.total_seconds(),
        "fetch_buckets": counts, "fetch_cv": _cv(counts),
        "fetches_per_minute": per_minute, "fetch_cv_minute": _cv(per_minute),
        "scheduled_per_minute": scheduled,
        "rss_first_minute_mb": statistics.mean(first_minute) / 1024 if first_minute else None,
        "rss_last_minute_mb": statistics.mean(last_minute) / 1024 if last_minute else None,
        "rss_samples_kb": [kb for _t, kb in rss],
        "minutes": minutes,
    }


def _minute(index: int, first_due: float, hits: list[float], rss: list[tuple[float, int]],
            calls: list[Any], due: dict[int, float]) -> dict[str, Any]:
    """Minute `index` of the run (from the first due reminder): fetches in it, the bot's
    last VmRSS sample, and the reminders due by its end."""
    start, end = first_due + 60 * index, first_due + 60 * (index + 1)
    so_far = lateness(list(calls), {c: t for c, t in due.items() if t < end})
    return {
        "minute": index,
        "fetches": sum(1 for t in hits if start <= t < end),
        "rss_mb": rss[-1][1] / 1024 if rss else None,
        "reminders_sent": so_far["reminders_sent"], "reminders_due": so_far["reminders_due"],
        "late_p95": so_far["late_p95"],
    }


def _report(label: str, minutes: list[dict[str, Any]], logs: Path) -> None:
    m = minutes[-1]
    p95 = f"{m['late_p95']:.2f} s" if m["late_p95"] is not None else "n/a"
    rss = f"{m['rss_mb']:.1f} MB" if m["rss_mb"] is not None else "n/a"
    print(f"[s9 {time.strftime('%H:%M:%S')}] {label} minute {m['minute']:>3}: "
          f"{m['fetches']:>5} fetches, VmRSS {rss}, reminders {m['reminders_sent']}/"
          f"{m['reminders_due']} sent, lateness p95 {p95}", file=sys.stderr, flush=True)
    (logs / f"s9-{label}-minutes.json").write_text(json.dumps(minutes, indent=1))


def _scheduled(feeds: int, first_due: float, spread: float, every: timedelta) -> list[int]:
    """Fetches per whole minute as the schedule itself places them (each user's moment of
    the interval is a hash of its id: even only on average)."""
    from handlers.calendar import next_fetch

    start = datetime.fromtimestamp(first_due, UTC)
    counts = Counter[int]()
    for user in range(FEED_USERS, FEED_USERS + feeds):
        at = next_fetch(user, start, every).timestamp()
        while at < first_due + spread:
            counts[int((at - first_due) // 60)] += 1
            at += every.total_seconds()
    return [counts.get(i, 0) for i in range(int(spread // 60))]


def _spread(counts: list[int]) -> float | None:
    """Busiest minute over quietest."""
    quietest = min(counts, default=0)
    return max(counts) / quietest if quietest else None


def _cv(counts: list[int]) -> float | None:
    """Coefficient of variation: 0 for perfectly even counts."""
    return statistics.pstdev(counts) / statistics.mean(counts) \
        if counts and statistics.mean(counts) else None


async def run(dbs: BenchDatabases, *, feeds: int, reminders: int, spread: float,
              every_minutes: float, logs: Path) -> list[Figure]:
    limit = spread + SETUP_ALLOWANCE
    load = await asyncio.wait_for(
        _run(dbs, feeds, reminders, spread, every_minutes, logs, "load"), limit)
    base = await asyncio.wait_for(
        _run(dbs, 0, reminders, spread, every_minutes, logs, "baseline"), limit)
    rate = load["fetches"] / spread
    wanted = feeds / (every_minutes * 60)
    lost = load["reminders_due"] - load["reminders_sent"]
    per_minute = load["fetches_per_minute"]
    measured, planned = _spread(per_minute), _spread(load["scheduled_per_minute"])
    first, last = load["rss_first_minute_mb"], load["rss_last_minute_mb"]
    return [
        Figure(NAME, f"{feeds:,} feeds re-fetched every {every_minutes:g} min: fetches/s",
               rate, "/s", wanted, "feeds / interval", goal="ratio 0.9-1.1",
               met=0.9 <= rate / wanted <= 1.1 if wanted else None,
               note=f"coefficient of variation per {BUCKET:g} s {load['fetch_cv']:.2f}"
               if load["fetch_cv"] is not None else ""),
        Figure(NAME, "fetches in the busiest minute / in the quietest", measured, "",
               planned, "the same for the schedule itself", goal="ratio <= 1.1",
               met=measured <= 1.1 * planned if measured is not None and planned else None,
               note=f"{len(per_minute)} whole minutes, {min(per_minute)}-{max(per_minute)} "
               "fetches" if per_minute else "no whole minute"),
        Figure(NAME, f"{reminders:,} reminders due within {spread:g} s meanwhile: 95th "
               "percentile lateness (sent - due)", load["late_p95"], "s", base["late_p95"],
               "the same reminders, no feeds", goal="within 1 s of the baseline",
               met=load["late_p95"] is not None and base["late_p95"] is not None
               and load["late_p95"] <= base["late_p95"] + 1.0,
               extra={"load": load, "baseline": base}),
        Figure(NAME, "reminders lost", lost, "", load["reminders_due"], "reminders due",
               goal="0", met=lost == 0),
        Figure(NAME, "bot memory (VmRSS), last minute", last, "MB", first,
               "its first minute", goal="ratio <= 1.1",
               met=last <= 1.1 * first if last is not None and first else None,
               note=f"without feeds {base['rss_last_minute_mb']:.0f} MB"
               if base["rss_last_minute_mb"] is not None else ""),
    ]


def main() -> int:
    from bench.run import table

    parser = argparse.ArgumentParser(prog="python -m bench.s9_calendar")
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--reminders", type=int, default=600)
    parser.add_argument("--spread", type=float, default=300.0)
    parser.add_argument("--every", type=float, default=30.0, help="minutes between fetches")
    args = parser.parse_args()
    logs = Path(__file__).parent / "results" / f"logs-s9-{int(time.time())}"
    logs.mkdir(parents=True, exist_ok=True)

    async def go() -> list[Figure]:
        dbs = BenchDatabases()
        try:
            return await run(dbs, feeds=args.feeds, reminders=args.reminders,
                             spread=args.spread, every_minutes=args.every, logs=logs)
        finally:
            await dbs.close()

    figures = asyncio.run(go())
    print(table(figures))
    (logs / "s9.json").write_text(json.dumps(
        [{"name": f.name, "value": f.value, "baseline": f.baseline, "extra": f.extra}
         for f in figures], default=str, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
