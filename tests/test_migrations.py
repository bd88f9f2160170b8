"""The same migrations build the same schema on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from bot.storage.db import Database
from bot.storage.migrate import downgrade, upgrade
from bot.storage.models import Base, User


async def _tables(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.close()


async def _round_trip(url: str) -> None:
    expected = set(Base.metadata.tables) | {"alembic_version"}
    await asyncio.to_thread(upgrade, url)
    assert await _tables(url) == expected
    await asyncio.to_thread(upgrade, url)  # a second run changes nothing
    await asyncio.to_thread(downgrade, url, "base")
    assert await _tables(url) == {"alembic_version"}
    await asyncio.to_thread(upgrade, url)
    assert await _tables(url) == expected


async def test_migrations_on_sqlite(tmp_path: Path) -> None:
    await _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")


@pytest.mark.postgres
async def test_migrations_on_postgres(empty_pg_url: str) -> None:
    await _round_trip(empty_pg_url)


async def test_datetimes_come_back_aware_in_utc(database: Database) -> None:
    madrid_noon = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    async with database.session() as session:
        session.add(User(id=1, chat_id=1, created_at=madrid_noon, work_start=time(9),
                         work_end=time(17), draft={}))
    async with database.session() as session:
        created = await session.scalar(select(User.created_at))
    assert created == madrid_noon
    assert created.tzinfo == UTC and created.hour == 10


async def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive"):
        async with database.session() as session:
            session.add(User(id=2, chat_id=2, created_at=datetime(2026, 7, 1), draft={}))
