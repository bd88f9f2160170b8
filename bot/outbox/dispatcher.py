"""The dispatcher: claims due messages, sends them, records what happened.

Every kind of due message (a break reminder, a follow-up inside a break, an expiry, a
weekly summary) has a `Job` that decides what to send when the row falls due and what to
record afterwards. The dispatcher itself knows nothing about breaks:

    dispatcher = Dispatcher(database, sender, clock, jobs={"reminder": ReminderJob(...)})
    await dispatcher.tick()      # sends everything due now; returns when the next row is due

Exactly once: a row is claimed atomically before sending and finished after; a process
that dies in between leaves a claim whose lease runs out, and the row is sent again. That
window (between Telegram accepting the message and our commit) is the only place a
duplicate can come from. A live worker never loses a row to another: the claim is checked
and renewed just before the send, and every claim the process holds is renewed together
(one heartbeat) until its send is recorded.

Every row ends: a job that raises, or a send that fails, is tried again with a back-off and,
after `max_attempts`, the row ends "failed" with the error as its reason. A job with
`retries_until_too_late = True` (reminders) has its failed sends tried until its own
`prepare` finds it too late and ends it: an outage of any length loses none of them. On a stop request
(`await dispatcher.stop()`) no more rows are claimed; claimed rows not yet started go
back to the queue for other instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.clock import Clock, clock_delta
from bot.domain.replies import Reply
from bot.outbox import due
from bot.outbox.delivery import Blocked, Rejected, Sender, TryLater
from bot.storage.db import Database
from bot.storage.models import DueMessage, User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Send:
    reply: Reply


@dataclass(frozen=True)
class Edit:
    message_id: int
    reply: Reply


@dataclass(frozen=True)
class Skip:
    """Nothing to send; the row ends with this status and reason."""

    reason: str
    status: str = "expired"


Action = Send | Edit | Skip


class Job(Protocol):
    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        """Decides what to send (and may record that it is being sent)."""

    async def delivered(
        self, session: AsyncSession, row: DueMessage, user: User, message_id: int | None,
        now: datetime,
    ) -> None:
        """Records a successful send."""

    async def undeliverable(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime, reason: str
    ) -> None:
        """Records that the message will never be sent."""


# Someone has to notice a blocked user: the users module does it, but the dispatcher
# must not import the domain, so it is passed in.
class OnBlocked(Protocol):
    async def __call__(self, session: AsyncSession, user: User, now: datetime) -> None: ...


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Dispatcher:
    def __init__(
        self,
        database: Database,
        sender: Sender,
        clock: Clock,
        jobs: dict[str, Job],
        on_blocked: OnBlocked,
        *,
        worker: str | None = None,
        lease: timedelta = timedelta(seconds=90),
        batch: int = 200,
        concurrency: int = 32,
        max_attempts: int = 5,
        keep_ended: timedelta = timedelta(days=7),
    ) -> None:
        self.database = database
        self.sender = sender
        self.clock = clock
        self.jobs = jobs
        self.on_blocked = on_blocked
        self.worker = worker or default_worker_id()
        self.lease = lease
        self.batch = batch
        self.max_attempts = max_attempts
        # Ended rows are kept this long (for an operator looking into a complaint), then
        # pruned: the product's history lives in breaks and ratings.
        self.keep_ended = keep_ended
        self._slots = asyncio.Semaphore(concurrency)
        self._lock = asyncio.Lock()
        self._stopping = False
        self._next_prune: datetime | None = None
        # Rows claimed and not yet finished or given back: their leases are kept renewed.
        self._held: set[int] = set()
        self._beating = 0
        self._beat: asyncio.Task[None] | None = None

    async def tick(self) -> datetime | None:
        """Sends everything due now, then returns when the next row falls due.

        A tick already running (a long drain) will find the rows itself: return at once.
        """
        if self._lock.locked() or self._stopping:
            return None
        async with self._lock:
            while not self._stopping and await self.run_once() >= self.batch:
                pass
            await self._prune_if_due()
            async with self.database.session() as session:
                return await due.next_due_at(session)

    async def stop(self) -> None:
        """Claims nothing more; returns once the sends in flight have ended (rows claimed
        but not started are given back to the queue at once)."""
        self._stopping = True
        async with self._lock:
            pass

    async def _prune_if_due(self) -> None:
        now = self.clock()
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + timedelta(hours=1)
        pruned, batch = 0, due.PRUNE_BATCH
        # Short transactions, one batch each: claims by other instances are never held up.
        while batch == due.PRUNE_BATCH and not self._stopping:
            async with self.database.session() as session:
                batch = await due.prune(session, now - self.keep_ended)
            pruned += batch
        if pruned:
            log.info("pruned %s ended due messages", pruned)

    async def run_once(self) -> int:
        """Claims one batch of due rows and handles them concurrently."""
        if self._stopping:
            return 0
        now = self.clock()
        async with self.database.session() as session:
            rows = await due.claim(session, now, self.worker, self.lease, self.batch)
        # Different users are served concurrently; one user's rows in due order, so an
        # expiry and the next reminder (or two follow-ups) never race each other.
        self._held.update(row.id for row in rows)
        by_user: dict[int, list[DueMessage]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        async with self._heartbeat():
            await asyncio.gather(*(self._handle_in_order(user_rows)
                                   for user_rows in by_user.values()))
        return len(rows)

    async def _handle_in_order(self, rows: list[DueMessage]) -> None:
        for row in rows:
            await self._handle_guarded(row)

    async def _handle_guarded(self, row: DueMessage) -> None:
        try:
            await self._handle_slotted(row)
        finally:
            self._held.discard(row.id)

    async def _handle_slotted(self, row: DueMessage) -> None:
        async with self._slots:
            if self._stopping:
                # Not started: another instance (or this one after a restart) sends it.
                async with self.database.session() as session:
                    await due.release(session, row, self.worker, row.due_at,
                                      "released at shutdown", count_attempt=False)
                return
            try:
                await self._handle(row)
            except Exception as exc:
                # One bad row must not stop the others, nor be retried forever.
                log.exception("due message %s (%s) for user %s failed", row.id, row.kind,
                              row.user_id)
                await self._failed(row, exc)

    async def _handle(self, row: DueMessage) -> None:
        job = self.jobs.get(row.kind)
        async with self.database.session() as session:
            # The user's row first, as every turn takes it: the job and a tap of the same
            # user never interleave, and locks are always taken in the same order.
            user = await session.get(User, row.user_id, with_for_update=True)
            if job is None or user is None or not user.active:
                reason = "unknown kind" if job is None else "user inactive"
                await due.finish(session, row.id, self.worker, "cancelled", self.clock(), reason)
                return
            # A full lease for the send, and proof that the row is still ours: a claim
            # lost (this process stalled past its lease) is never sent.
            if not await due.renew(session, row.id, self.worker, self.lease):
                log.warning("due message %s was taken over; not sending it", row.id)
                return
            action = await job.prepare(session, row, user, self.clock())
            if isinstance(action, Skip):
                await due.finish(session, row.id, self.worker, action.status, self.clock(),
                                 action.reason)
                return
        chat_id = user.chat_id
        # The heartbeat renews the lease until the send is recorded, not only while it is in
        # flight: recording waits for the user's row, which a long turn may hold.
        try:
            if isinstance(action, Send):
                message_id: int | None = await self.sender.send(chat_id, action.reply)
            else:
                await self.sender.edit(chat_id, action.message_id, action.reply)
                message_id = action.message_id
        except Blocked as exc:
            await self._blocked(row, str(exc))
        except TryLater as exc:
            await self._try_later(row, job, exc)
        except Rejected as exc:
            await self._give_up(row, job, f"rejected: {exc}")
        else:
            await self._sent(row, job, message_id)

    @contextlib.asynccontextmanager
    async def _heartbeat(self) -> AsyncIterator[None]:
        """While rows are held, renews all their leases every lease/3, in one statement.

        One renewal for the whole process (not a task per row): a process short of database
        connections under load must still keep its claims, or another instance would take
        over a row this one is sending."""
        self._beating += 1
        if self._beat is None:
            self._beat = asyncio.create_task(self._renew_held())
        try:
            yield
        finally:
            self._beating -= 1
            if self._beating == 0 and self._beat is not None:
                beat, self._beat = self._beat, None
                beat.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await beat

    async def _renew_held(self) -> None:
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            try:
                async with self.database.session() as session:
                    await due.renew_held(session, list(self._held), self.worker, self.lease)
            except Exception:
                log.exception("could not renew the leases of %s due messages", len(self._held))

    async def _sent(self, row: DueMessage, job: Job, message_id: int | None) -> None:
        try:
            async with self.database.session() as session:
                now = self.clock()
                # The user's row first, as in _handle and every turn: the job's follow-up
                # (the reminder's expiry row) otherwise deadlocks with a tap on it.
                user = await session.get(User, row.user_id, with_for_update=True)
                if not await due.finish(session, row.id, self.worker, "sent", now):
                    # Never expected: the heartbeat keeps our claims. Logged so that a copy
                    # sent by the other instance can be traced here.
                    log.warning("due message %s was sent, but another instance had taken it "
                                "over", row.id)
                elif user is not None:
                    await job.delivered(session, row, user, message_id, now)
        except Exception as exc:
            # It reached the user: record that much, or the row would be sent again.
            log.exception("recording due message %s as sent failed", row.id)
            async with self.database.session() as session:
                await due.finish(session, row.id, self.worker, "sent", self.clock(),
                                 f"sent; recording failed: {exc!r}"[:500])

    async def _failed(self, row: DueMessage, exc: Exception) -> None:
        """A job (or the database) raised: back off and retry, or end the row."""
        reason = f"{type(exc).__name__}: {exc}"[:500]
        if row.attempts < self.max_attempts:
            backoff = self._backoff(row)
            with contextlib.suppress(Exception):  # else the lease runs out: tried again
                async with self.database.session() as session:
                    await due.release(session, row, self.worker, self.clock() + backoff,
                                      f"retry: {reason}")
            return
        try:
            await self._give_up(row, self.jobs[row.kind],
                                f"gave up after {row.attempts} attempts: {reason}")
        except Exception:
            log.exception("ending due message %s failed too; ending it alone", row.id)
            with contextlib.suppress(Exception):
                async with self.database.session() as session:
                    await due.finish(session, row.id, self.worker, "failed", self.clock(),
                                     reason)

    async def _blocked(self, row: DueMessage, reason: str) -> None:
        log.info("user %s blocked the bot; pausing everything for them", row.user_id)
        async with self.database.session() as session:
            now = self.clock()
            user = await session.get(User, row.user_id, with_for_update=True)
            await due.finish(session, row.id, self.worker, "cancelled", now, f"blocked: {reason}")
            if user is not None:
                await self.on_blocked(session, user, now)

    async def _try_later(self, row: DueMessage, job: Job, exc: TryLater) -> None:
        now = self.clock()
        if exc.retry_after is not None:
            # Flood control is not the message's fault: wait as told, never give up.
            async with self.database.session() as session:
                wait = clock_delta(self.clock, timedelta(seconds=exc.retry_after))
                await due.release(session, row, self.worker, now + wait, f"retry: {exc}",
                                  count_attempt=False)
            return
        # A job that ends its row itself once it is too late to be useful (a reminder past
        # its window) keeps trying through an outage of any length until then.
        if row.attempts >= self.max_attempts and not getattr(job, "retries_until_too_late",
                                                             False):
            await self._give_up(row, job, f"gave up after {row.attempts} attempts: {exc}")
            return
        log.warning("sending %s to user %s failed (%s); retrying in %ss (due message %s)",
                    row.kind, row.user_id, exc, self._backoff_seconds(row), row.id)
        async with self.database.session() as session:
            await due.release(session, row, self.worker, now + self._backoff(row),
                              f"retry: {exc}")

    @staticmethod
    def _backoff_seconds(row: DueMessage) -> int:
        return int(min(60, 2 ** row.attempts))

    def _backoff(self, row: DueMessage) -> timedelta:
        """2, 4, 8 … up to 60 real seconds: waiting for a server to recover is real time
        on any clock."""
        return clock_delta(self.clock, timedelta(seconds=self._backoff_seconds(row)))

    async def _give_up(self, row: DueMessage, job: Job, reason: str) -> None:
        log.warning("due message %s (%s) for user %s expired: %s", row.id, row.kind,
                    row.user_id, reason)
        async with self.database.session() as session:
            now = self.clock()
            user = await session.get(User, row.user_id, with_for_update=True)
            if await due.finish(session, row.id, self.worker, "failed", now, reason) \
                    and user is not None:
                await job.undeliverable(session, row, user, now, reason)
