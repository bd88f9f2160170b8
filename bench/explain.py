"""EXPLAIN (ANALYZE, BUFFERS) of the hot paths' queries on a 1M-user PostgreSQL database.

    python -m bench.explain --seed          # create mb_bench_explain: 1M users with history
    python -m bench.explain                 # print each hot query's plan (top lines)
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


if __name__ == "__main__":
    main()
