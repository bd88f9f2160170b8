"""The database engine, sessions, and a UTC-only datetime column type.

    database = Database(settings.database_url)
    async with database.session() as session: ...
    await database.close()
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, Table, any_, bindparam, event, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.types import TypeDecorator

from bot.storage.sqlite_driver import one_trip_dbapi


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and always returns them aware in UTC.

    SQLite keeps no offset, so a naive value read back is UTC by construction; a naive
    value written is a bug (whose local time was it?) and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING (PostgreSQL and SQLite)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" \
        else sqlite.insert


def among(session: AsyncSession, column: QueryableAttribute[Any] | ColumnElement[Any],
          values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values`, for a batch's ids. On PostgreSQL as `= ANY(array)`: one parameter
    and one statement whatever the count, where an IN list binds each value on every
    execution (~8 µs each) and is a statement of its own to prepare for each count."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    return column.in_(values)


async def update_from_values(session: AsyncSession, table: Table, key: str, column: str,
                             pairs: Sequence[tuple[Any, Any]]) -> None:
    """Sets `column` to each pair's second value where `key` is its first, in one statement
    whatever the count (compiled once): on PostgreSQL `UPDATE … FROM unnest(keys, values)`,
    where an executemany is a round per row; on SQLite `UPDATE … FROM json_each(pairs)`,
    where each row of an executemany is a hand-over between the event loop and the
    database's thread. Values are numbers or text."""
    if not pairs:
        return
    if session.get_bind().dialect.name != "postgresql":
        given = func.json_each(bindparam("pairs", json.dumps(pairs))) \
            .table_valued("value").alias("given")
        await session.execute(
            update(table).where(table.c[key] == given.c.value.op("->>")(0))
            .values({column: given.c.value.op("->>")(1)})
            .execution_options(synchronize_session=False))
        return
    keys, new = zip(*pairs, strict=True)
    given = func.unnest(
        bindparam("keys", list(keys), type_=postgresql.ARRAY(table.c[key].type)),
        bindparam("new", list(new), type_=postgresql.ARRAY(table.c[column].type)),
    ).table_valued("k", "v").render_derived(name="given")
    await session.execute(
        update(table).where(table.c[key] == given.c.k).values({column: given.c.v})
        .execution_options(synchronize_session=False))


def make_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    # hide_parameters: a failed statement's error (and so its logged traceback) leaves out
    # the values, which can be a user's secret calendar address.
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        # SQLite has one writer at a time: one connection per process makes concurrent
        # tasks queue for it in asyncio instead of polling the file lock with sleeps. A
        # file's connection never goes stale: no ping before each transaction.
        options.update(pool_size=1, max_overflow=0, pool_timeout=120,
                       connect_args={"timeout": 30}, module=one_trip_dbapi())
    else:
        # A server's connection can drop (a restart, a network blip): pinged before use.
        options.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                       pool_pre_ping=True)
    engine = create_async_engine(url, **options)
    if url.startswith("sqlite"):

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # Durable at each checkpoint, not each commit: safe with WAL, much faster.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

    return engine


class Database:
    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return is_postgres(self.engine)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits on success and rolls back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    async def close(self) -> None:
        await self.engine.dispose()
