"""A user's calendar feed and busy times in the database.

    busy = await busy_times(session, user_id, start, end)   # [] without a feed
    due = await due_feeds(session, now, limit)               # (user id, due time), oldest first
    taken = await take_fetch(session, user_id, due_at, next_at)  # ours to fetch, or None
    changed = await store_busy(session, user_id, busy, start, end)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import delete, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import among
from bot.storage.models import BusyTime, CalendarFeed

Interval = tuple[datetime, datetime]


class Taken(NamedTuple):
    """A feed this instance is to fetch: where, and what names the version last read."""

    url: str
    etag: str | None
    last_modified: str | None
    expanded_at: datetime | None


async def busy_times(session: AsyncSession, user_id: int, start: datetime,
                     end: datetime) -> list[Interval]:
    """The user's busy intervals overlapping [start, end), sorted; empty without a feed."""
    rows = await session.execute(
        select(BusyTime.starts_at, BusyTime.ends_at)
        .where(BusyTime.user_id == user_id, BusyTime.starts_at < end, BusyTime.ends_at > start)
        .order_by(BusyTime.starts_at))
    return [(row.starts_at, row.ends_at) for row in rows]


async def busy_times_of(session: AsyncSession, user_ids: Sequence[int], start: datetime,
                        end: datetime) -> dict[int, list[Interval]]:
    """`busy_times` of many users in one query: only those with busy times are keys."""
    rows = await session.execute(
        select(BusyTime.user_id, BusyTime.starts_at, BusyTime.ends_at)
        .where(among(session, BusyTime.user_id, user_ids), BusyTime.starts_at < end,
               BusyTime.ends_at > start)
        .order_by(BusyTime.user_id, BusyTime.starts_at))
    found: dict[int, list[Interval]] = {}
    for row in rows:
        found.setdefault(row.user_id, []).append((row.starts_at, row.ends_at))
    return found


async def store_busy(session: AsyncSession, user_id: int, busy: Sequence[Interval],
                     start: datetime, end: datetime) -> bool:
    """Replaces the user's busy times from `start` on with `busy` (times before `start`
    are dropped: they no longer matter); whether anything from `start` to `end` changed."""
    before = await busy_times(session, user_id, start, end)
    await session.execute(delete(BusyTime).where(BusyTime.user_id == user_id))
    session.add_all(BusyTime(user_id=user_id, starts_at=s, ends_at=e) for s, e in busy)
    return before != list(busy)


async def feed_of(session: AsyncSession, user_id: int) -> CalendarFeed | None:
    return await session.get(CalendarFeed, user_id)


async def remove_feed(session: AsyncSession, user_id: int) -> bool:
    """Forgets the feed's address and its busy times; whether there was a feed."""
    await session.execute(delete(BusyTime).where(BusyTime.user_id == user_id))
    result = await session.execute(delete(CalendarFeed).where(CalendarFeed.user_id == user_id))
    return bool(cast(CursorResult[Any], result).rowcount)


async def due_feeds(session: AsyncSession, now: datetime, limit: int) -> list[tuple[int, datetime]]:
    """(user id, due time) of feeds whose fetch is due, the longest waiting first."""
    rows = await session.execute(
        select(CalendarFeed.user_id, CalendarFeed.next_fetch_at)
        .where(CalendarFeed.next_fetch_at <= now)
        .order_by(CalendarFeed.next_fetch_at).limit(limit))
    return [(row.user_id, row.next_fetch_at) for row in rows]


async def take_fetch(session: AsyncSession, user_id: int, due_at: datetime,
                     next_at: datetime) -> Taken | None:
    """Moves the feed's next fetch on to `next_at` if it is still due at `due_at`, so one
    instance fetches it; what to fetch, or None if another instance took it."""
    result = await session.execute(
        update(CalendarFeed)
        .where(CalendarFeed.user_id == user_id, CalendarFeed.next_fetch_at == due_at)
        .values(next_fetch_at=next_at)
        .returning(CalendarFeed.url, CalendarFeed.etag, CalendarFeed.last_modified,
                   CalendarFeed.expanded_at))
    row = result.one_or_none()
    return Taken(*row) if row is not None else None
