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

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    Table,
    any_,
    bindparam,
    event,
    func,
    select,
    true,
    update,
)
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


# On SQLite each row a statement reads or writes (through the `?` of an executemany, or a
# row of its result) is a hand-over of the interpreter lock between the event loop and the
# connection's thread, and while the loop is busy each waits for the loop's next system
# call: a 200-row select took 6.7 ms instead of 0.45, and its connection was held all that
# time. So many rows cross as one JSON text, which the database builds or reads itself.


async def fetch_rows(session: AsyncSession, stmt: Select[*tuple[Any, ...]]
                     ) -> list[tuple[Any, ...]]:
    """The rows of a select of columns, in no particular order, each value as its column's
    type gives it (a UTC datetime, a list from JSON, a bool). On SQLite in one step."""
    if session.get_bind().dialect.name == "postgresql":
        return [tuple(row) for row in await session.execute(stmt)]
    dialect = session.get_bind().dialect
    inner = stmt.subquery()
    packed = await session.scalar(select(func.json_group_array(func.json_array(*inner.c))))
    processors = [column.type.dialect_impl(dialect).result_processor(dialect, None)
                  for column in inner.c]
    return [tuple(value if process is None or value is None else process(value)
                  for process, value in zip(processors, row, strict=True))
            for row in json.loads(packed or "[]")]


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                      skip_existing: Sequence[str] = ()) -> None:
    """Inserts rows that all have the same columns; with `skip_existing` (the columns of a
    unique constraint), a row that would repeat one already there is left out. On SQLite in
    one step."""
    if not rows:
        return
    insert = insert_for(session)(table)
    if skip_existing:
        insert = insert.on_conflict_do_nothing(index_elements=list(skip_existing))
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(insert, list(rows))
        return
    dialect = session.get_bind().dialect
    names = list(rows[0])
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                  for name in names]
    packed = json.dumps([[value if process is None or value is None else process(value)
                          for process, value in zip(processors, map(row.__getitem__, names),
                                                    strict=True)]
                         for row in rows])
    given = func.json_each(bindparam("rows", packed)).table_valued("value").alias("given")
    await session.execute(insert.from_select(
        names, select(*(given.c.value.op("->>")(i) for i in range(len(names))))
        # (A WHERE, or SQLite would read ON CONFLICT as the join's ON.)
        .where(true())))


def make_engine(url: str, pool_size: int = 5) -> AsyncEngine:
    # hide_parameters: a failed statement's error (and so its logged traceback) leaves out
    # the values, which can be a user's secret calendar address.
    options: dict[str, Any] = {"hide_parameters": True}
    if url.startswith("sqlite"):
        # SQLite has one writer at a time: one connection per process makes concurrent
        # tasks queue for it in asyncio instead of polling the file lock with sleeps. A
        # file's connection never goes stale: no ping before each transaction.
        options.update(pool_size=1, max_overflow=0, pool_timeout=120,
                       connect_args={"timeout": 30})
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
