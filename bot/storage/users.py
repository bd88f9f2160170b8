"""Users: registering, ending their open breaks, and erasing everything about one.

Functions take an `AsyncSession` in a transaction and the current time; they never commit.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.i18n import language_for
from bot.storage.db import among, insert_for
from bot.storage.models import USER_TABLES, Break, User

OPEN_BREAK_STATES = ("pending", "active", "rating")


async def get(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def lock(session: AsyncSession, user_id: int) -> User | None:
    """The user, locked until the transaction ends: one turn per user at a time, across
    every instance sharing the database."""
    return await session.get(User, user_id, with_for_update=True)


async def lock_many(session: AsyncSession, user_ids: Collection[int]) -> None:
    """Locks these users (in id order: two instances never deadlock) until the transaction
    ends. Only PostgreSQL has row locks: SQLite's writer holds the whole database, and
    reading the rows would cost a hand-over to its thread for each."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(User.id).where(among(session, User.id, user_ids))
                              .order_by(User.id).with_for_update())


async def register(
    session: AsyncSession, user_id: int, chat_id: int, language_code: str | None, now: datetime
) -> tuple[User, bool]:
    """Returns the user, creating them on first contact; True when they are new.

    Only the Telegram id (and chat id, to write back) is kept until consent. Two instances
    registering the same new user at once insert one row; both then hold it locked.
    """
    result = await session.execute(
        insert_for(session)(User)
        .values(id=user_id, chat_id=chat_id, language=language_for(language_code),
                created_at=now, active=True, draft={}, screening=None)
        .on_conflict_do_nothing(index_elements=["id"]))
    new = bool(cast(CursorResult[Any], result).rowcount)
    user = await lock(session, user_id)
    assert user is not None  # inserted now, or by the instance that won the race
    user.chat_id = chat_id
    return user, new


async def end_open_breaks(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Every break still waiting, running or asking for its rating counts as missed."""
    await session.execute(
        update(Break)
        .where(Break.user_id == user_id, Break.status.in_(OPEN_BREAK_STATES))
        .values(status="missed", ended_at=now)
    )


async def erase(session: AsyncSession, user_id: int) -> None:
    """Deletes every row about the user, in every table (children first)."""
    for table in USER_TABLES:
        column = table.id if table is User else table.user_id  # type: ignore[attr-defined]
        await session.execute(delete(table).where(column == user_id))
