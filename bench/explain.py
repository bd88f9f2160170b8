"""EXPLAIN (ANALYZE, BUFFERS) of the hot paths' queries on a 1M-user PostgreSQL database.

    python -m bench.explain --seed          # create mb_bench_explain: 1M users with history
    python -m bench.explain                 # each hot query's plan (top lines, timing)
    python -m bench.explain --drop          # remove the database

The database has 1,000,000 onboarded users (as scenario 3), each with a pending reminder,
three past breaks (one rated) and their sent reminders, so that a scan instead of an index
shows as what it costs at that size.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

from bench.common import MONDAY_10, PG_URL, _asyncpg_dsn, migrate, seed_pg_generated

NAME = "mb_bench_explain"
URL = PG_URL.rsplit("/", 1)[0] + f"/{NAME}"
USERS = 1_000_000


async def seed() -> None:
    import asyncpg

    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{NAME}"')
    finally:
        await admin.close()
    started = time.monotonic()
    await migrate(URL)
    await seed_pg_generated(URL, USERS, MONDAY_10 + timedelta(days=1))
    con = await asyncpg.connect(_asyncpg_dsn(URL))
    try:
        # Three past breaks a user (days 1..3 before), the last one rated; their reminders.
        await con.execute(
            """
            INSERT INTO breaks (user_id, kind, status, planned_at, started_at, ended_at, place,
                                positions, positions_done, position_index, attempt, short,
                                snoozes, stopped_for_pain)
            SELECT u, 'reminder', 'done', $1::timestamptz - d * interval '1 day',
                   $1::timestamptz - d * interval '1 day', $1::timestamptz - d * interval '1 day',
                   'desk', '[]'::json, '[]'::json, 0, 0, false, 0, false
            FROM generate_series(1, $2::bigint) AS u, generate_series(1, 3) AS d
            """, MONDAY_10, USERS)
        await con.execute(
            """
            INSERT INTO due_messages (user_id, kind, key, due_at, status, attempts, payload,
                                      break_id, done_at)
            SELECT user_id, 'reminder', 'remind:' || id, planned_at, 'sent', 1, '{}'::json,
                   id, planned_at
            FROM breaks
            """)
        await con.execute(
            """
            INSERT INTO ratings (user_id, break_id, kind, rated_at, pain, stiffness)
            SELECT user_id, max(id), 'break', max(planned_at), 2, 3 FROM breaks GROUP BY user_id
            """)
        await con.execute("VACUUM ANALYZE")
    finally:
        await con.close()
    print(f"seeded {NAME} in {time.monotonic() - started:.0f} s")


async def capture() -> dict[str, list[tuple[str, tuple[Any, ...]]]]:
    """The statements of each hot path, with their parameters, run for real on the database:
    a dispatcher wake-up sending one reminder, a rating tap's two presses, /progress."""
    from sqlalchemy import event

    from bench.s3_growth import WakeUpBench
    from bot.domain.callbacks import RatingTap
    from bot.storage import users
    from bot.storage.models import Break
    from handlers import progress, ratings
    from handlers.turn import Services, Turn

    wake = WakeUpBench(URL, USERS)
    await wake.warm()
    paths: dict[str, list[tuple[str, tuple[Any, ...]]]] = {}
    current: list[tuple[str, tuple[Any, ...]]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        current.append((statement, tuple(parameters or ())))

    event.listen(wake.database.engine.sync_engine, "before_cursor_execute", record)
    services: Services = wake.services
    now = services.clock()
    user_id = 4242
    wake.n = int(time.time())  # a fresh reminder key on every run
    await wake.once()
    paths["reminder wake-up"], current[:] = list(current), []
    async with wake.database.session() as session:
        brk = Break(user_id=user_id, kind="reminder", status="rating", planned_at=now,
                    started_at=now, place="desk", positions=["fh_9090"],
                    positions_done=["fh_9090"])
        session.add(brk)
    current.clear()
    for name, tap in (("rating tap: pain", RatingTap(brk.id, 3)),
                      ("rating tap: stiffness (saves)", RatingTap(brk.id, 3, 4))):
        async with wake.database.session() as session:
            user = await users.lock(session, user_id)
            assert user is not None
            await ratings.on_rating_button(Turn(session, services, user, now, message_id=1),
                                           tap)
        paths[name], current[:] = list(current), []
    async with wake.database.session() as session:
        user = await users.lock(session, user_id)
        assert user is not None
        await progress.progress(Turn(session, services, user, now))
    paths["/progress"], current[:] = list(current), []
    await wake.database.close()
    return paths


async def explain() -> None:
    import asyncpg

    paths = await capture()
    con = await asyncpg.connect(_asyncpg_dsn(URL))
    seen: set[str] = set()
    try:
        for path, statements in paths.items():
            print(f"\n## {path}: {len(statements)} statements")
            for statement, params in statements:
                one_line = " ".join(statement.split())
                if one_line.split()[0].upper() not in ("SELECT", "UPDATE", "DELETE") \
                        or one_line in seen:
                    continue
                seen.add(one_line)
                tx = con.transaction()
                await tx.start()
                try:
                    rows = await con.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *params)
                except (asyncpg.PostgresError, asyncpg.DataError) as exc:
                    print(f"- {one_line[:160]}\n    (not explained: {exc})")
                    continue
                finally:
                    await tx.rollback()
                plan = [row[0] for row in rows]
                print(f"- {one_line[:200]}")
                for line in plan:
                    if any(word in line for word in ("Scan", "Execution Time", "Buffers",
                                                     "Sort", "Limit", "LockRows")):
                        print("    " + line.strip())
    finally:
        await con.close()


async def drop() -> None:
    import asyncpg

    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explain")
    parser.add_argument("--seed", action="store_true")
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()
    if args.seed:
        asyncio.run(seed())
    elif args.drop:
        asyncio.run(drop())
    else:
        asyncio.run(explain())


if __name__ == "__main__":
    main()
