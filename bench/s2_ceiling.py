"""Scenario 2, at Telegram's ceiling: N reminders due in one minute, the stand-in limiting.

The real `python -m bot` runs on a PostgreSQL database seeded with N users whose reminders
fall due evenly over one minute (real time, the system clock), against a stand-in that
enforces 30 sends/s overall and 1/s per chat and answers 429 with retry_after beyond.
The figures come from the stand-in's call log: the rate of accepted sends while the
queue drains, the 429s, the time from the first due instant to the last send, and the
chats that got their reminder (checked against the database too).

The baseline, in the same run, is a bare loop of PTB `send_message` calls through
`AIORateLimiter(max_retries=5)` (as the app builds it) against the same limits.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    BenchDatabases,
    Figure,
    bot_env,
    count_rows,
    insert_rows,
    migrate,
    now_utc,
    reminder_row,
    run_worker,
    standin_server,
    start_process,
    user_row,
    wall_window_around,
)

NAME = "2 at Telegram's ceiling"
CEILING = 30.0
FIRST_USER = 2_000_001
LEAD = timedelta(seconds=8)  # the bot starts in a few seconds; the minute begins after


async def _seed(url: str, count: int, spread: float) -> tuple[float, float]:
    """Seeds users and reminders due evenly over `spread` seconds; returns the first and
    last due instants as time.time()."""
    first_due = now_utc() + LEAD
    start, end = wall_window_around(first_due, timedelta(hours=2), timedelta(hours=3))
    users, due = [], []
    for i in range(count):
        user_id = FIRST_USER + i
        users.append(user_row(user_id, zone="UTC", start=start, end=end, breaks=4,
                              days=0b1111111))
        due.append(reminder_row(user_id, first_due + timedelta(seconds=spread * i / count)))
    await insert_rows(url, users, due)
    return first_due.timestamp(), (first_due + timedelta(seconds=spread)).timestamp()


async def _engine(dbs: BenchDatabases, count: int, spread: float,
                  logs: Path) -> dict[str, Any]:
    url = await dbs.pg_url()
    try:
        await migrate(url)
        async with standin_server(record_calls=True) as standin:
            standin.enforce_limits(per_second=CEILING, per_chat_per_second=1)
            first_due, last_due = await _seed(url, count, spread)
            bot = await start_process(standin, ["-m", "bot"], bot_env(standin.base_url, url),
                                      logs / "s2-bot.log")
            try:
                sent = await _wait_for_sends(standin, count, first_due)
            finally:
                await bot.stop()
            calls = [c for c in standin.calls if c.method == "sendMessage"]
        in_db = await count_rows(url, "SELECT count(*) FROM due_messages WHERE kind = "
                                      "'reminder' AND status = 'sent'")
    finally:
        await dbs.drop_pg(url)
    ok = [c for c in calls if c.status == 200]
    limited = [c for c in calls if c.status == 429]
    times = sorted(c.at for c in ok)
    chats = {c.chat_id for c in ok}
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    return {
        "sent": len(ok), "distinct_chats": len(chats), "sent_in_db": in_db,
        "too_many_requests": len(limited), "other_errors": len(calls) - len(ok) - len(limited),
        "rate": (len(times) - 1) / span if len(times) > 1 else None,
        "drain_seconds": times[-1] - first_due if times else None,
        "first_send_after_due": times[0] - first_due if times else None,
        "last_due_to_last_send": times[-1] - last_due if times else None,
        "timed_out": sent < count, "bot_ready_after": bot.ready_after,
        "per_second": _per_second(times),
    }


def _per_second(times: list[float]) -> list[int]:
    if not times:
        return []
    counts = [0] * (int(times[-1] - times[0]) + 1)
    for at in times:
        counts[int(at - times[0])] += 1
    return counts


async def _wait_for_sends(standin: Any, count: int, first_due: float) -> int:
    """Waits until `count` chats got their reminder (or clearly will not)."""
    deadline = first_due + 3 * count / CEILING + 60
    chats: set[int | None] = set()
    seen = 0
    while len(chats) < count and time.time() < deadline:
        await asyncio.sleep(0.5)
        calls = standin.calls
        chats.update(c.chat_id for c in calls[seen:]
                     if c.method == "sendMessage" and c.status == 200)
        seen = len(calls)
    return len(chats)


async def _baseline(count: int, logs: Path) -> dict[str, Any]:
    async with standin_server(record_calls=True) as standin:
        standin.enforce_limits(per_second=CEILING, per_chat_per_second=1)
        result = await run_worker(["limited", "--base-url", standin.base_url, "--first-chat",
                                   str(FIRST_USER), "--count", str(count)],
                                  timeout=count / 10 + 120, log=logs / "s2-baseline.log")
        calls = [c for c in standin.calls if c.method == "sendMessage"]
    times = sorted(c.at for c in calls if c.status == 200)
    result["too_many_requests"] = sum(1 for c in calls if c.status == 429)
    result["rate"] = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None
    return result


async def run(dbs: BenchDatabases, *, count: int, spread: float, baseline_count: int,
              logs: Path) -> list[Figure]:
    base = await _baseline(baseline_count, logs)
    eng = await _engine(dbs, count, spread, logs)
    ideal_drain = max(spread, count / CEILING)
    lost = count - eng["distinct_chats"]
    figures = [
        Figure(NAME, f"{count:,} reminders due within {spread:g} s: achieved send rate",
               eng["rate"],
               "msg/s", CEILING, "Telegram's ceiling, 30 msg/s", goal="ratio >= 0.95",
               met=eng["rate"] is not None and eng["rate"] / CEILING >= 0.95,
               extra={"engine": eng}),
        Figure(NAME, f"bare PTB loop + AIORateLimiter(max_retries=5), {baseline_count:,} "
               "sends: rate", base["rate"], "msg/s", CEILING, "Telegram's ceiling, 30 msg/s",
               note="the library alone, for reference", extra={"baseline": base}),
        Figure(NAME, "429s received by the engine", eng["too_many_requests"], "",
               base["too_many_requests"], f"bare PTB + AIORateLimiter loop, "
               f"{baseline_count:,} sends", goal="0",
               met=eng["too_many_requests"] == 0),
        Figure(NAME, "time to drain (first due → last send)", eng["drain_seconds"], "s",
               ideal_drain, f"ideal: {count:,} / 30 msg/s",
               note=f"first send {eng['first_send_after_due']:.2f}s after first due"
               if eng["first_send_after_due"] is not None else ""),
        Figure(NAME, "reminders lost", lost, "", count, "reminders due", goal="0",
               met=lost == 0 and eng["sent_in_db"] >= count,
               note=f"{eng['sent_in_db']:,} recorded as sent in the database"),
    ]
    return figures
