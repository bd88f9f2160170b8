"""Scenario 6, the countdown under load: many users in a break while reminders fall due.

The real `python -m bot` runs on PostgreSQL against a stand-in that enforces Telegram's
30 sends/s overall and 1/s per chat (edits count too). `holds` users are in the middle of a
hold, each with a live message that the countdown edits every COUNTDOWN_SECONDS; during the
same `spread` seconds, `reminders` other users' reminders fall due evenly. The countdown
alone would want holds / COUNTDOWN_SECONDS edits per second (50/s for 1,000 holds every
20 s), more than Telegram allows: its edits are best effort and must be the ones shed.

Measured from the stand-in's call log: how late each reminder went out (sent - due), the
countdown edits that went through and their rate, and 429s. The baseline, in the same run,
is the same reminders with nobody in a break (the countdown has nothing to do).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    TOKEN,
    BenchDatabases,
    Figure,
    bot_env,
    insert_rows,
    lateness,
    migrate,
    now_utc,
    reminder_row,
    standin_server,
    start_process,
    user_row,
    wall_window_around,
)

NAME = "6 countdown under load"
CEILING = 30.0
HOLD_USERS = 3_000_001
REMINDER_USERS = 4_000_001
LEAD = timedelta(seconds=8)  # the bot starts in a few seconds; the minute begins after


async def _live_messages(standin: Any, chats: list[int]) -> dict[int, int]:
    """One bot message per chat, as the hold's live message (sent before limits apply)."""
    import aiohttp

    url = f"{standin.base_url}{TOKEN}/sendMessage"
    out: dict[int, int] = {}
    async with aiohttp.ClientSession() as http:
        for chat in chats:
            async with http.post(url, json={"chat_id": chat, "text": "1/1 · hold"}) as resp:
                out[chat] = int((await resp.json())["result"]["message_id"])
    return out


async def _seed(url: str, standin: Any, holds: int, reminders: int,
                spread: float) -> tuple[float, dict[int, float]]:
    """Users in a hold (started just before the minute) and reminders due over it."""
    from sqlalchemy import insert

    from bot.storage.db import Database
    from bot.storage.models import Break

    first_due = now_utc() + LEAD
    start, end = wall_window_around(first_due, timedelta(hours=2), timedelta(hours=3))

    def user(user_id: int) -> dict[str, Any]:
        return user_row(user_id, zone="UTC", start=start, end=end, breaks=4, days=0b1111111)

    hold_chats = [HOLD_USERS + i for i in range(holds)]
    reminder_chats = [REMINDER_USERS + i for i in range(reminders)]
    due_at = {chat: first_due + timedelta(seconds=spread * i / max(reminders, 1))
              for i, chat in enumerate(reminder_chats)}
    await insert_rows(url, [user(c) for c in hold_chats + reminder_chats],
                      [reminder_row(c, at) for c, at in due_at.items()])
    messages = await _live_messages(standin, hold_chats)
    started = first_due - timedelta(seconds=5)  # 4-minute holds: the minute is on side one
    rows = [dict(user_id=c, kind="stretch", status="active", planned_at=started,
                 started_at=started, ended_at=None, place="desk", positions=["fh_9090"],
                 positions_done=[], position_index=0, attempt=0, message_id=messages[c],
                 hold_started_at=started, short=False, snoozes=0, stopped_for_pain=False)
            for c in hold_chats]
    database = Database(url)
    try:
        for i in range(0, len(rows), 5000):
            async with database.session() as session:
                await session.execute(insert(Break), rows[i:i + 5000])
    finally:
        await database.close()
    return first_due.timestamp(), {c: at.timestamp() for c, at in due_at.items()}


async def _run(dbs: BenchDatabases, holds: int, reminders: int, spread: float,
               every: float, logs: Path, label: str) -> dict[str, Any]:
    url = await dbs.pg_url()
    try:
        await migrate(url)
        async with standin_server(record_calls=True) as standin:
            first_due, due = await _seed(url, standin, holds, reminders, spread)
            standin.enforce_limits(per_second=CEILING, per_chat_per_second=1)
            bot = await start_process(
                standin, ["-m", "bot"],
                bot_env(standin.base_url, url, COUNTDOWN_SECONDS=f"{every:g}"),
                logs / f"s6-{label}.log")
            try:
                # The whole minute, and time for the last reminders to go out.
                end = first_due + spread + 2
                while time.time() < end or _reminded(standin, due) < len(due):
                    if time.time() > end + 60:
                        break
                    await asyncio.sleep(0.5)
            finally:
                await bot.stop()
            calls = list(standin.calls)
    finally:
        await dbs.drop_pg(url)
    window = (first_due, first_due + spread)
    edits = [c for c in calls if c.method == "editMessageText" and c.status == 200
             and window[0] <= c.at <= window[1]]
    wanted = holds * int(spread // every)
    return {
        **lateness(calls, due),
        "edits": len(edits), "edits_wanted": wanted, "edit_rate": len(edits) / spread,
        "too_many_requests": sum(1 for c in calls if c.status == 429),
        "edit_statuses": {str(status): sum(1 for c in calls if c.method == "editMessageText"
                                           and c.status == status)
                          for status in {c.status for c in calls}},
        "bot_ready_after": bot.ready_after,
    }


def _reminded(standin: Any, due: dict[int, float]) -> int:
    return len({c.chat_id for c in standin.calls
                if c.method == "sendMessage" and c.status == 200 and c.chat_id in due})


async def run(dbs: BenchDatabases, *, holds: int, reminders: int, spread: float,
              every: float, logs: Path) -> list[Figure]:
    base = await _run(dbs, 0, reminders, spread, every, logs, "baseline")
    load = await _run(dbs, holds, reminders, spread, every, logs, "load")
    lost = load["reminders_due"] - load["reminders_sent"]
    shed = max(0, load["edits_wanted"] - load["edits"])
    return [
        Figure(NAME, f"{reminders:,} reminders due within {spread:g} s while {holds:,} users "
               "hold a stretch: 95th percentile lateness (sent - due)", load["late_p95"], "s",
               base["late_p95"], "the same reminders, nobody in a break",
               goal="within 1 s of the baseline",
               met=load["late_p95"] is not None and base["late_p95"] is not None
               and load["late_p95"] <= base["late_p95"] + 1.0,
               note=f"worst {load['late_max']:.2f} s vs {base['late_max']:.2f} s"
               if load["late_max"] is not None and base["late_max"] is not None else "",
               extra={"load": load, "baseline": base}),
        Figure(NAME, "reminders lost", lost, "", load["reminders_due"], "reminders due",
               goal="0", met=lost == 0),
        Figure(NAME, f"countdown edits delivered (one per hold every {every:g} s wanted "
               f"{load['edits_wanted'] / spread:.0f}/s)", load["edit_rate"], "msg/s", CEILING,
               "Telegram's ceiling, 30 msg/s", goal="below the ceiling, the rest shed",
               met=load["edit_rate"] < CEILING,
               note=f"{load['edits']:,} sent, {shed:,} shed of {load['edits_wanted']:,}"),
        Figure(NAME, "429s received with the countdown running", load["too_many_requests"], "",
               base["too_many_requests"], "the same reminders, nobody in a break", goal="0",
               met=load["too_many_requests"] == 0),
    ]
