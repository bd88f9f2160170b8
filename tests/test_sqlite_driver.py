"""SQLite through one hand-over per statement (bot/storage/sqlite_driver.py): the same
answers as any driver, errors as SQLAlchemy's, and one trip to the connection's thread for
each statement. (Every other test on SQLite runs through it too.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import aiosqlite
import pytest
from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import User

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    yield db
    await db.close()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions handed to the connection's thread, in order."""
    handed: list[str] = []
    hand_over = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append(getattr(fn, "__name__", repr(fn)))
        return await hand_over(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return handed


def _user(user_id: int) -> dict[str, Any]:
    return dict(id=user_id, chat_id=user_id, created_at=NOW, draft={}, language="en",
                active=True, work_days=31, breaks_per_day=4, place="desk", rotation=0)


async def test_each_statement_is_one_trip_and_answers_as_usual(database: Database,
                                                               trips: list[str]) -> None:
    async with database.session() as session:
        await session.execute(insert(User), [_user(1), _user(2), _user(3)])
        trips.clear()
        changed = await session.execute(
            update(User).where(User.id >= 2).values(language="es")
            .execution_options(synchronize_session=False))
        returned = await session.execute(
            update(User).where(User.id == 3).values(place="home").returning(User.id))
        counted = await session.scalar(select(func.count()).where(User.language == "es"))
        statements = list(trips)
        assert cast(CursorResult[Any], changed).rowcount == 2
        assert returned.scalars().all() == [3]
        assert counted == 2
    assert statements == ["_run", "_run", "_run"]
    async with database.session() as session:
        found = await session.get(User, 3)
        assert found is not None and (found.language, found.place) == ("es", "home")
        assert found.created_at == NOW


async def test_a_broken_constraint_is_sqlalchemys_error_and_changes_nothing(
    database: Database,
) -> None:
    async with database.session() as session:
        await session.execute(insert(User), [_user(1)])
    with pytest.raises(IntegrityError):
        async with database.session() as session:
            await session.execute(insert(User), [_user(2)])
            await session.execute(insert(User), [_user(1)])  # the same id again
    async with database.session() as session:
        assert list(await session.scalars(select(User.id))) == [1]
