"""A proposal for bot/dispatcher.py, measured by scenario 1: batch the reminders' writes.

Today each reminder costs two transactions and about eleven statements (look up the
user; plan the next break; close the unanswered one; insert the break; link it; commit;
send; finish; look up the user and the break; schedule the expiry; store the message id;
commit). With SQLAlchemy's ORM over aiosqlite or asyncpg each statement costs 0.3–0.8 ms
of CPU here, so the engine spends ~8–10 ms of CPU per reminder where PTB's send_message
alone spends ~2 ms (see bench/README.md). Batching the same writes:

- prepare: one transaction per claimed batch: users by id, every next break (one
  executemany), every unanswered break closed (one UPDATE … IN), the new breaks (one
  multi-row INSERT … RETURNING), their links (one executemany);
- send: as today, `concurrency` at a time;
- record: as sends complete, whatever has completed is finished in one transaction
  (UPDATE … IN … RETURNING, message ids and expiries by executemany), while later sends
  go on. The window for a duplicate after a crash grows from one message to the sends
  completed during one recording transaction (tens, at most a batch).

Only fresh reminders of users with one row in the batch take this path; everything else
(snoozes, expiries, follow-ups, retried rows, a user's several rows, every failure) goes
through the unchanged per-row code. The outcomes are the same as ReminderJob's.

This lives in bench/ only to measure the idea (`python -m bench --only 1 --proposals`);
the real change belongs in bot/ (e.g. `prepare_many` / `delivered_many` on `Job`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.domain.schedule import expires_at, next_break_at, still_useful
from bot.outbox import due
from bot.outbox.delivery import Blocked, Rejected, TryLater
from bot.outbox.dispatcher import Dispatcher
from bot.storage.models import Break, DueMessage, User
from handlers.planning import preferences
from handlers.reminders import _reminder  # a prototype: it borrows the job's text

log = logging.getLogger(__name__)


class BatchedDispatcher(Dispatcher):
    async def run_once(self) -> int:
        now = self.clock()
        async with self.database.session() as session:
            rows = await due.claim(session, now, self.worker, self.lease, self.batch)
        by_user: dict[int, list[DueMessage]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        fresh = [r[0] for r in by_user.values()
                 if len(r) == 1 and r[0].kind == "reminder" and r[0].break_id is None]
        others = [r for r in by_user.values() if not (len(r) == 1 and r[0] in fresh)]
        await asyncio.gather(self._reminders(fresh),
                             *(self._in_order(user_rows) for user_rows in others))
        return len(rows)

    async def _in_order(self, rows: list[DueMessage]) -> None:
        for row in rows:
            await self._handle_guarded(row)

    # -- prepare
    async def _reminders(self, rows: list[DueMessage]) -> None:
        if not rows:
            return
        job: Any = self.jobs["reminder"]
        now = self.clock()
        try:
            ready = await self._prepare(rows, job, now)
        except Exception:
            log.exception("preparing %d reminders failed; their leases will run out", len(rows))
            return
        pending: list[tuple[DueMessage, User, int | None]] = []
        wake = asyncio.Event()
        done = False

        async def send(row: DueMessage, user: User, brk: Break) -> None:
            async with self._slots:
                try:
                    message_id = await self.sender.send(
                        user.chat_id, _reminder(job.program, user, brk))
                except Blocked as exc:
                    await self._blocked(row, str(exc))
                except TryLater as exc:
                    await self._try_later(row, job, exc)
                except Rejected as exc:
                    await self._give_up(row, job, f"rejected: {exc}")
                except Exception:
                    log.exception("sending reminder %s failed", row.id)
                else:
                    pending.append((row, user, message_id))
                    wake.set()

        async def recorder() -> None:
            while True:
                await wake.wait()
                wake.clear()
                while pending:
                    chunk = pending[:]
                    pending.clear()
                    try:
                        await self._record(chunk, job)
                    except Exception:
                        log.exception("recording %d reminders failed", len(chunk))
                if done and not pending:
                    return

        recording = asyncio.create_task(recorder())
        await asyncio.gather(*(send(row, user, brk) for row, user, brk in ready))
        done = True
        wake.set()
        await recording

    async def _prepare(self, rows: list[DueMessage], job: Any,
                       now: datetime) -> list[tuple[DueMessage, User, Break]]:
        async with self.database.session() as session:
            users = {u.id: u for u in (await session.scalars(
                select(User).where(User.id.in_([r.user_id for r in rows])))).all()}
            live = [r for r in rows if (u := users.get(r.user_id)) is not None and u.active]
            cancelled = [r.id for r in rows if r not in live]
            planned = []
            for row in live:
                user = users[row.user_id]
                if user.onboarded_at is None or user.time_zone is None:
                    continue
                at = next_break_at(preferences(user), row.due_at)
                if at is not None:
                    planned.append(dict(user_id=user.id, kind="reminder",
                                        key=f"remind:{at.isoformat()}", due_at=at,
                                        status="pending", payload={}, break_id=None,
                                        attempts=0))
            if planned:
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                await session.execute(insert(DueMessage).on_conflict_do_nothing(
                    index_elements=["user_id", "key"]), planned)
            if live:
                await session.execute(
                    update(Break).where(Break.user_id.in_([r.user_id for r in live]),
                                        Break.status == "pending")
                    .values(status="missed", ended_at=now))
            breaks = [Break(user_id=r.user_id, kind="reminder", status="pending",
                            planned_at=r.due_at, place=users[r.user_id].place, positions=[],
                            positions_done=[]) for r in live]
            session.add_all(breaks)
            await session.flush()
            ready, expired = [], []
            for row, brk in zip(live, breaks, strict=True):
                row.break_id = brk.id
                user = users[row.user_id]
                if still_useful(preferences(user), row.due_at, now, job.grace):
                    ready.append((row, user, brk))
                else:
                    brk.status, brk.ended_at = "missed", now
                    expired.append(row.id)
            if live:
                table = cast(Table, DueMessage.__table__)
                await session.execute(
                    update(table).where(table.c.id == bindparam("row_id"))
                    .values(break_id=bindparam("brk_id")),
                    [{"row_id": r.id, "brk_id": r.break_id} for r in live])
            for ids, status, reason in ((cancelled, "cancelled", "user inactive"),
                                        (expired, "expired", "too late to be useful")):
                if ids:
                    await session.execute(
                        update(DueMessage).where(DueMessage.id.in_(ids),
                                                 DueMessage.claimed_by == self.worker,
                                                 DueMessage.status == due.CLAIMED)
                        .values(status=status, done_at=now, outcome=reason, lease_until=None))
        return ready

    # -- record
    async def _record(self, sent: list[tuple[DueMessage, User, int | None]], job: Any) -> None:
        now = self.clock()
        async with self.database.session() as session:
            ours = set((await session.scalars(
                update(DueMessage)
                .where(DueMessage.id.in_([row.id for row, _u, _m in sent]),
                       DueMessage.claimed_by == self.worker, DueMessage.status == due.CLAIMED)
                .values(status="sent", done_at=now, outcome=None, lease_until=None)
                .returning(DueMessage.id)
                .execution_options(synchronize_session=False))).all())
            mine = [(row, user, mid) for row, user, mid in sent if row.id in ours]
            if not mine:
                return
            table = cast(Table, Break.__table__)
            await session.execute(
                update(table).where(table.c.id == bindparam("brk_id"))
                .values(message_id=bindparam("message_id")),
                [{"brk_id": row.break_id, "message_id": mid} for row, _u, mid in mine])
            still_pending = set((await session.scalars(
                select(Break.id).where(Break.id.in_([row.break_id for row, _u, _m in mine]),
                                       Break.status == "pending"))).all())
            expiries = []
            for row, user, _mid in mine:
                if row.break_id not in still_pending:
                    continue
                prefs = preferences(user)
                at = expires_at(prefs, row.due_at, now, job.expire_after)
                following = next_break_at(prefs, row.due_at)
                if following is not None:
                    at = min(at, following - timedelta(seconds=1))
                expiries.append(dict(user_id=user.id, kind="expire",
                                     key=f"expire:{row.break_id}:0", due_at=at,
                                     status="pending", payload={}, break_id=row.break_id,
                                     attempts=0))
            if expiries:
                dialect = session.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                await session.execute(insert(DueMessage).on_conflict_do_nothing(
                    index_elements=["user_id", "key"]), expiries)
