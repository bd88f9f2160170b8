"""The due-message queue: rows with a due time that the dispatcher claims and sends.

    await schedule(session, user_id, "reminder", key, due_at, payload)   # idempotent per key
    rows = await claim(session, now, worker="host:pid", lease=timedelta(seconds=60))
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import DueMessage

PENDING, CLAIMED = "pending", "claimed"


async def schedule(
    session: AsyncSession,
    user_id: int,
    kind: str,
    key: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    break_id: int | None = None,
) -> None:
    """Adds a due message unless one with this key exists for the user (then nothing)."""
    values = dict(
        user_id=user_id,
        kind=kind,
        key=key,
        due_at=due_at,
        status=PENDING,
        payload=payload or {},
        break_id=break_id,
        attempts=0,
    )
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(DueMessage).values(**values).on_conflict_do_nothing(
            index_elements=["user_id", "key"]
        )
    )


async def drop_pending(
    session: AsyncSession, user_id: int, kinds: Sequence[str] | None = None
) -> None:
    """Removes a user's unsent messages (all, or of some kinds): they will not be sent."""
    stmt = delete(DueMessage).where(DueMessage.user_id == user_id, DueMessage.status == PENDING)
    if kinds is not None:
        stmt = stmt.where(DueMessage.kind.in_(kinds))
    await session.execute(stmt)


def _claimable(now: datetime) -> Any:
    return and_(
        DueMessage.due_at <= now,
        or_(
            DueMessage.status == PENDING,
            # A claim whose process died before finishing is taken over after its lease.
            and_(DueMessage.status == CLAIMED, DueMessage.lease_until < now),
        ),
    )


async def claim(
    session: AsyncSession, now: datetime, worker: str, lease: timedelta, limit: int = 200
) -> list[DueMessage]:
    """Atomically marks up to `limit` due rows as ours and returns them, oldest first."""
    candidates = select(DueMessage.id).where(_claimable(now)).order_by(DueMessage.due_at)
    candidates = candidates.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        # Another process's claim in flight is skipped instead of waited for.
        candidates = candidates.with_for_update(skip_locked=True)
    stmt = (
        update(DueMessage)
        # The condition is repeated so a row changed since the sub-select is left alone.
        .where(DueMessage.id.in_(candidates.scalar_subquery()), _claimable(now))
        .values(
            status=CLAIMED,
            claimed_by=worker,
            lease_until=now + lease,
            attempts=DueMessage.attempts + 1,
        )
        .returning(DueMessage)
        .execution_options(synchronize_session=False)
    )
    rows = list((await session.execute(stmt)).scalars())
    rows.sort(key=lambda row: (row.due_at, row.id))
    return rows


async def finish(
    session: AsyncSession,
    row_id: int,
    worker: str,
    status: str,
    now: datetime,
    outcome: str | None = None,
) -> bool:
    """Records the outcome of our claim; False if the claim was lost to another process."""
    result = await session.execute(
        update(DueMessage)
        .where(DueMessage.id == row_id, DueMessage.claimed_by == worker,
               DueMessage.status == CLAIMED)
        .values(status=status, done_at=now, outcome=outcome, lease_until=None)
    )
    return bool(cast(CursorResult[Any], result).rowcount)


async def release(
    session: AsyncSession,
    row_id: int,
    worker: str,
    due_at: datetime,
    outcome: str,
    count_attempt: bool = True,
) -> None:
    """Gives a claimed row back to the queue to be tried again at `due_at`."""
    attempts = DueMessage.attempts if count_attempt else DueMessage.attempts - 1
    await session.execute(
        update(DueMessage)
        .where(DueMessage.id == row_id, DueMessage.claimed_by == worker,
               DueMessage.status == CLAIMED)
        .values(status=PENDING, due_at=due_at, lease_until=None, claimed_by=None,
                outcome=outcome, attempts=attempts)
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest waiting row falls due (claimed rows count at their lease end)."""
    pending = await session.scalar(
        select(func.min(DueMessage.due_at)).where(DueMessage.status == PENDING)
    )
    leased = await session.scalar(
        select(func.min(DueMessage.lease_until)).where(DueMessage.status == CLAIMED)
    )
    times = [t for t in (pending, leased) if t is not None]
    # min() over a UTCDateTime column comes back raw on SQLite: normalise it.
    return min(_as_utc(t) for t in times) if times else None


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
