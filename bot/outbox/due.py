"""The due-message queue: rows with a due time that the dispatcher claims and sends.

    await schedule(session, user_id, "reminder", key, due_at, payload)   # idempotent per key
    rows = await claim(session, now, worker="host:pid", lease=timedelta(seconds=60))

`due_at` is on the bot's clock (`now`, which tests and the playground run fast); leases are
on the database's clock, the one clock every instance shares, so a claim lasts `lease` of
real time whatever clock the processes run on.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Interval,
    and_,
    delete,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import UTCDateTime, among, insert_for
from bot.storage.models import DueMessage

PENDING, CLAIMED = "pending", "claimed"
# Rows that have ended; their history lives in breaks and ratings, so they are pruned.
FINISHED = ("sent", "expired", "cancelled", "failed")


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
    await session.execute(
        insert_for(session)(DueMessage).values(**values).on_conflict_do_nothing(
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


def database_now(session: AsyncSession) -> ColumnElement[datetime]:
    """The database's clock. SQLite is local use only: one machine, so its clock is ours."""
    if session.get_bind().dialect.name == "postgresql":
        return func.now(type_=UTCDateTime())
    return literal(datetime.now(UTC), UTCDateTime())


def _lease_end(session: AsyncSession, lease: timedelta) -> ColumnElement[datetime]:
    if session.get_bind().dialect.name == "postgresql":
        # clock_timestamp(), not now(): now() is when the transaction began, and a renewal
        # at the end of a transaction that waited for a lock would end early (seen: another
        # instance took a row over while it was being sent).
        return type_coerce(func.clock_timestamp() + literal(lease, Interval()), UTCDateTime())
    return literal(datetime.now(UTC) + lease, UTCDateTime())


def _claimable(session: AsyncSession, now: datetime) -> Any:
    return and_(
        DueMessage.due_at <= now,
        or_(
            DueMessage.status == PENDING,
            # A claim whose process died before finishing is taken over after its lease.
            and_(DueMessage.status == CLAIMED, DueMessage.lease_until < database_now(session)),
        ),
    )


async def claim(
    session: AsyncSession, now: datetime, worker: str, lease: timedelta, limit: int = 200
) -> list[DueMessage]:
    """Atomically marks up to `limit` due rows as ours and returns them, oldest first."""
    candidates = select(DueMessage.id).where(_claimable(session, now))
    candidates = candidates.order_by(DueMessage.due_at)
    candidates = candidates.limit(limit)
    chosen: Any = candidates.scalar_subquery()
    if session.get_bind().dialect.name == "postgresql":
        # Another process's claim in flight is skipped instead of waited for. Chosen once:
        # as a plain sub-select PostgreSQL may run it again for each row it updates (a
        # semi-join), and each run skips the rows claimed by the last: limit 6 claimed 50.
        locked = candidates.with_for_update(skip_locked=True).cte("candidates")
        chosen = select(locked.prefix_with("MATERIALIZED").c.id)
    stmt = (
        update(DueMessage)
        # The condition is repeated so a row changed since the sub-select is left alone.
        .where(DueMessage.id.in_(chosen), _claimable(session, now))
        .values(
            status=CLAIMED,
            claimed_by=worker,
            lease_until=_lease_end(session, lease),
            attempts=DueMessage.attempts + 1,
        )
        .returning(DueMessage)
        .execution_options(synchronize_session=False)
    )
    rows = list((await session.execute(stmt)).scalars())
    rows.sort(key=lambda row: (row.due_at, row.id))
    return rows


async def renew(session: AsyncSession, row_id: int, worker: str, lease: timedelta) -> bool:
    """Extends our claim by `lease` from now; False if it is no longer ours (never send it)."""
    result = await session.execute(
        update(DueMessage)
        .where(DueMessage.id == row_id, DueMessage.claimed_by == worker,
               DueMessage.status == CLAIMED)
        .values(lease_until=_lease_end(session, lease))
    )
    return bool(cast(CursorResult[Any], result).rowcount)


async def renew_held(
    session: AsyncSession, row_ids: Sequence[int], worker: str, lease: timedelta,
    *, skip_locked: bool = False,
) -> set[int]:
    """Extends our claims on these rows by `lease` from now, in one statement; the ids
    still ours (never send another). With `skip_locked` (the heartbeat), on PostgreSQL a row
    locked by one of our own transactions (being prepared or recorded right now, and renewed
    there) is skipped instead of waited for."""
    if not row_ids:
        return set()
    ours = select(DueMessage.id).where(among(session, DueMessage.id, row_ids),
                                       DueMessage.claimed_by == worker,
                                       DueMessage.status == CLAIMED)
    if skip_locked and session.get_bind().dialect.name == "postgresql":
        ours = ours.with_for_update(skip_locked=True)
    result = await session.execute(
        update(DueMessage)
        .where(DueMessage.id.in_(ours.scalar_subquery()))
        .values(lease_until=_lease_end(session, lease))
        .execution_options(synchronize_session=False)
    )
    return await _changed(session, row_ids, result, DueMessage.claimed_by == worker,
                          DueMessage.status == CLAIMED)


async def _changed(session: AsyncSession, row_ids: Sequence[int], result: Any,
                   *now_true: ColumnElement[bool]) -> set[int]:
    """The ids of `row_ids` that a statement changed, `now_true` being what it made true of
    them. Counted, not returned: nearly always it changed them all, and on SQLite each row
    returned is a hand-over between the event loop and the database's thread."""
    wanted = set(row_ids)
    if cast(CursorResult[Any], result).rowcount == len(wanted):
        return wanted
    return set(await session.scalars(
        select(DueMessage.id).where(among(session, DueMessage.id, row_ids), *now_true)))


async def schedule_many(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """`schedule` for many rows in one statement; each dict has `schedule`'s arguments."""
    if not rows:
        return
    values = [dict(status=PENDING, attempts=0, payload=row.get("payload") or {},
                   break_id=row.get("break_id"), user_id=row["user_id"], kind=row["kind"],
                   key=row["key"], due_at=row["due_at"]) for row in rows]
    # Into the table, not through the ORM: its bulk path costs more per row than the row.
    await session.execute(
        insert_for(session)(DueMessage.__table__).on_conflict_do_nothing(
            index_elements=["user_id", "key"]), values)


async def finish_many(
    session: AsyncSession, row_ids: Sequence[int], worker: str, status: str, now: datetime,
) -> set[int]:
    """`finish` for many rows in one statement; the ids whose claim was still ours (and so
    ended here)."""
    if not row_ids:
        return set()
    result = await session.execute(
        update(DueMessage)
        .where(among(session, DueMessage.id, row_ids), DueMessage.claimed_by == worker,
               DueMessage.status == CLAIMED)
        .values(status=status, done_at=now, outcome=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return await _changed(session, row_ids, result, DueMessage.claimed_by == worker,
                          DueMessage.status == status, DueMessage.done_at == now)


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


# In a retried row's payload: when it was first due (its due time moves with each retry).
FIRST_DUE = "first_due"


def first_due(row: DueMessage) -> datetime:
    """When the row was first due, however often it has been put off since."""
    kept = row.payload.get(FIRST_DUE) if row.payload else None
    return datetime.fromisoformat(kept) if isinstance(kept, str) else row.due_at


async def release(
    session: AsyncSession,
    row: DueMessage,
    worker: str,
    due_at: datetime,
    outcome: str,
    count_attempt: bool = True,
) -> None:
    """Gives a claimed row back to the queue to be tried again at `due_at` (keeping when it
    was first due, which decides whether it is still worth sending)."""
    attempts = DueMessage.attempts if count_attempt else DueMessage.attempts - 1
    payload = {**(row.payload or {}), FIRST_DUE: first_due(row).isoformat()}
    await session.execute(
        update(DueMessage)
        .where(DueMessage.id == row.id, DueMessage.claimed_by == worker,
               DueMessage.status == CLAIMED)
        .values(status=PENDING, due_at=due_at, lease_until=None, claimed_by=None,
                outcome=outcome, attempts=attempts, payload=payload)
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest waiting row falls due. A lost claim is found by the safety tick:
    its lease is on the database's clock, not the bot's."""
    pending = await session.scalar(
        select(func.min(DueMessage.due_at)).where(DueMessage.status == PENDING)
    )
    # min() over a UTCDateTime column comes back raw on SQLite: normalise it.
    return _as_utc(pending) if pending is not None else None


PRUNE_BATCH = 5000


async def prune(session: AsyncSession, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Deletes up to `batch` rows that ended before `before`; how many it deleted."""
    ended = (select(DueMessage.id)
             .where(DueMessage.status.in_(FINISHED), DueMessage.done_at < before)
             .limit(batch))
    result = await session.execute(
        delete(DueMessage).where(DueMessage.id.in_(ended.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount)


def _as_utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
