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
`prepare` finds it too late and ends it: an outage of any length loses none of them. On a
stop request (`await dispatcher.stop()`) no more rows are claimed; claimed rows not yet
started go back to the queue for other instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from bot.domain.clock import Clock, clock_delta
from bot.outbox import due
from bot.outbox.delivery import Blocked, Rejected, Sender, TryLater
from bot.outbox.jobs import (
    Action,
    Edit,
    Job,
    OnBlocked,
    Send,
    Skip,
    delivered_many,
    prepare_many,
)
from bot.storage.db import Database, among
from bot.storage.models import DueMessage, User
from bot.storage.users import lock_many as lock_users

log = logging.getLogger(__name__)

# The job types are defined beside the jobs' helpers; handlers import them from here.
__all__ = ["Action", "Dispatcher", "Edit", "Job", "OnBlocked", "Send", "Skip"]


@dataclass
class _Starts:
    """Counts a batch's rows down as each starts its send (or ends without one). Once only
    `headroom` are left to start, it is time to claim the next batch: its claim and
    preparation then overlap those last sends and the ones in flight, and sending never
    waits for them."""

    left: int
    next_batch: asyncio.Event
    headroom: int = 0

    def one(self) -> None:
        self.left -= 1
        if self.left <= self.headroom:
            self.next_batch.set()


# Sends in flight at once, by default; the sender's HTTP pool holds as many connections.
SENDS_AT_ONCE = 32


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
        concurrency: int = SENDS_AT_ONCE,
        max_attempts: int = 5,
        keep_ended: timedelta = timedelta(days=7),
        record_group: int = 64,
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
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        # Sends that Telegram took and the database has not recorded yet: at most this many.
        # A crash loses their "sent" records (they go out again after the lease) on top of
        # the sends in flight, which no design can know about.
        self.record_group = record_group
        self._unrecorded = asyncio.Semaphore(record_group)
        # One user's rows are handled one at a time, in due order, across batches too.
        self._user_locks: dict[int, asyncio.Lock] = {}
        self._user_uses: Counter[int] = Counter()
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
            await self._drain()
            await self._prune_if_due()
            async with self.database.session() as session:
                return await due.next_due_at(session)

    async def _drain(self) -> None:
        """Claims batch after batch while full ones come back. The next batch is claimed and
        prepared while the last sends of the previous one are still to go."""
        batches: list[asyncio.Task[None]] = []
        try:
            while not self._stopping:
                rows = await self._claim()
                if not rows:
                    return
                next_batch = asyncio.Event()
                batch = asyncio.create_task(self._handle_batch(rows, next_batch))
                batches.append(batch)
                if len(rows) < self.batch:
                    return
                waiting = asyncio.create_task(next_batch.wait())
                await asyncio.wait({batch, waiting}, return_when=asyncio.FIRST_COMPLETED)
                waiting.cancel()
        finally:
            for outcome in await asyncio.gather(*batches, return_exceptions=True):
                if isinstance(outcome, Exception):
                    log.error("a batch of due messages failed", exc_info=outcome)

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
        """Claims one batch of due rows and handles it to the end; how many it claimed."""
        rows = await self._claim()
        await self._handle_batch(rows, asyncio.Event())
        return len(rows)

    async def _claim(self) -> list[DueMessage]:
        if self._stopping:
            return []
        async with self.database.session() as session:
            rows = await due.claim(session, self.clock(), self.worker, self.lease, self.batch)
        self._held.update(row.id for row in rows)
        return rows

    @contextlib.asynccontextmanager
    async def _user_turn(self, user_id: int) -> AsyncIterator[None]:
        lock = self._user_locks.setdefault(user_id, asyncio.Lock())
        self._user_uses[user_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._user_uses[user_id] -= 1
            if not self._user_uses[user_id]:
                del self._user_uses[user_id], self._user_locks[user_id]

    async def _handle_batch(self, rows: list[DueMessage], next_batch: asyncio.Event) -> None:
        """Different users are served concurrently; one user's rows in due order, so an
        expiry and the next reminder (or two follow-ups) never race each other. Users with
        one row here and none still in flight from the previous batch (nearly all) go the
        batched way: prepared together, recorded in groups."""
        starts = _Starts(len(rows), next_batch, self.concurrency)
        if not rows:
            next_batch.set()
            return
        by_user: dict[int, list[DueMessage]] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        single = [user_rows[0] for user_id, user_rows in by_user.items()
                  if len(user_rows) == 1 and user_id not in self._user_locks]
        several = [user_rows for user_id, user_rows in by_user.items()
                   if len(user_rows) > 1 or user_id in self._user_locks]
        try:
            async with self._heartbeat(), contextlib.AsyncExitStack() as turns:
                for row in single:  # free: taken at once
                    await turns.enter_async_context(self._user_turn(row.user_id))
                await asyncio.gather(self._batched(single, starts),
                                     *(self._handle_in_order(user_rows, starts)
                                       for user_rows in several))
        finally:
            self._held.difference_update(row.id for row in rows)

    async def _handle_in_order(self, rows: list[DueMessage], starts: _Starts) -> None:
        async with self._user_turn(rows[0].user_id):
            for row in rows:
                await self._handle_guarded(row, starts)

    async def _handle_guarded(self, row: DueMessage, starts: _Starts | None = None) -> None:
        async with self._slots:
            if starts is not None:
                starts.one()
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
        # The heartbeat renews the lease until the send is recorded, not only while it is in
        # flight: recording waits for the user's row, which a long turn may hold.
        sent, message_id = await self._send_one(row, user.chat_id, job, action)
        if sent:
            await self._sent(row, job, message_id)

    async def _batched(self, rows: list[DueMessage], starts: _Starts) -> None:
        """One transaction prepares the rows, each is sent as a slot frees up, and completed
        sends are recorded in groups, one transaction each, while later sends go on."""
        if not rows:
            return
        try:
            prepared = await self._prepare_batch(rows)
        except Exception:
            # One bad row must not hold up the others: each alone, as the per-row path does
            # (it retries, and ends the row that keeps raising).
            log.exception("preparing %s due messages together failed; one by one", len(rows))
            await asyncio.gather(*(self._handle_guarded(row, starts) for row in rows))
            return
        for _ended in range(len(rows) - len(prepared)):
            starts.one()
        completed: list[tuple[DueMessage, User, Job, int | None]] = []
        more = asyncio.Event()
        sending = True
        unsent = len(prepared)

        async def record() -> None:
            while sending or completed:
                await more.wait()
                more.clear()
                while completed:
                    group = completed[:]
                    completed.clear()
                    await self._record(group)
                    for _recorded in group:
                        self._unrecorded.release()

        async def send(row: DueMessage, user: User, job: Job, action: Send | Edit) -> None:
            nonlocal unsent
            async with self._slots:
                starts.one()
                sent, message_id = await self._send_one(row, user.chat_id, job, action)
                if sent:
                    if self._unrecorded.locked():
                        # Every place may be held by sends of this batch and of the next
                        # one, each short of a group: record ours, or both wait for ever.
                        more.set()
                    await self._unrecorded.acquire()  # in the slot: a full group holds sends
                    completed.append((row, user, job, message_id))
            unsent -= 1
            # A transaction per many sends, not per send: each costs about as much CPU as
            # a send itself. Three quarters of the bound: the rest keeps sends going while
            # a group is recorded (milliseconds, against tens for that many sends).
            if len(completed) >= self.record_group * 3 // 4 or not unsent:
                more.set()

        recorder = asyncio.create_task(record())
        try:
            await asyncio.gather(*(send(*item) for item in prepared))
        finally:
            sending = False
            more.set()
            await recorder

    async def _prepare_batch(
        self, rows: list[DueMessage]
    ) -> list[tuple[DueMessage, User, Job, Send | Edit]]:
        """Prepares the rows in one transaction; what is to be sent. Rows that end here
        (user gone, job skipped them) are finished in the same transaction."""
        async with self.database.session() as session:
            now = self.clock()
            # The users first (as every turn), in id order: two instances never deadlock.
            users = {user.id: user for user in await session.scalars(
                select(User).where(among(session, User.id, [row.user_id for row in rows]))
                .order_by(User.id).with_for_update())}
            # Proof that the rows are still ours (a stalled process sends none it lost).
            ours = await due.renew_held(session, [row.id for row in rows], self.worker,
                                        self.lease)
            by_kind: dict[str, list[tuple[DueMessage, User]]] = {}
            for row in rows:
                user, job = users.get(row.user_id), self.jobs.get(row.kind)
                if row.id not in ours:
                    log.warning("due message %s was taken over; not sending it", row.id)
                elif job is None or user is None or not user.active:
                    await due.finish(session, row.id, self.worker, "cancelled", now,
                                     "unknown kind" if job is None else "user inactive")
                else:
                    by_kind.setdefault(row.kind, []).append((row, user))
            prepared: list[tuple[DueMessage, User, Job, Send | Edit]] = []
            for kind, items in by_kind.items():
                job = self.jobs[kind]
                for (row, user), action in zip(items, await prepare_many(job, session, items,
                                                                         now), strict=True):
                    if isinstance(action, Skip):
                        await due.finish(session, row.id, self.worker, action.status, now,
                                         action.reason)
                    else:
                        prepared.append((row, user, job, action))
            # A full lease from now for the sends (preparing took some of it).
            await due.renew_held(session, [row.id for row, *_rest in prepared], self.worker,
                                 self.lease)
        return prepared

    async def _send_one(self, row: DueMessage, chat_id: int, job: Job,
                        action: Send | Edit) -> tuple[bool, int | None]:
        """Sends: (True, the message id), or (False, None) when it was not sent and the row
        has been dealt with (retried, given up, or given back at shutdown)."""
        if self._stopping:
            async with self.database.session() as session:
                await due.release(session, row, self.worker, row.due_at,
                                  "released at shutdown", count_attempt=False)
            return False, None
        try:
            if isinstance(action, Send):
                return True, await self.sender.send(chat_id, action.reply)
            await self.sender.edit(chat_id, action.message_id, action.reply)
            return True, action.message_id
        except Blocked as exc:
            await self._blocked(row, str(exc))
        except TryLater as exc:
            await self._try_later(row, job, exc)
        except Rejected as exc:
            await self._give_up(row, job, f"rejected: {exc}")
        except Exception as exc:
            log.exception("sending due message %s failed", row.id)
            await self._failed(row, exc)
        return False, None

    async def _record(self, group: list[tuple[DueMessage, User, Job, int | None]]) -> None:
        """Records a group of completed sends in one transaction."""
        try:
            async with self.database.session() as session:
                now = self.clock()
                # The users' rows locked (as every turn takes them first), not loaded again:
                # the jobs read the users as they were prepared, whose reminder this was.
                await lock_users(session, [row.user_id for row, *_rest in group])
                # (A user erased since the send took their rows along: none is ours.)
                ours = await due.finish_many(session, [row.id for row, *_rest in group],
                                             self.worker, "sent", now)
                by_job: dict[int, tuple[Job, list[tuple[DueMessage, User, int | None]]]] = {}
                for row, user, job, message_id in group:
                    if row.id not in ours:
                        log.warning("due message %s was sent, but another instance had taken "
                                    "it over", row.id)
                    else:
                        by_job.setdefault(id(job), (job, []))[1].append((row, user, message_id))
                for job, items in by_job.values():
                    await delivered_many(job, session, items, now)
        except Exception:
            log.exception("recording %s sent due messages together failed; one by one",
                          len(group))
            for row, _user, job, message_id in group:
                try:
                    await self._sent(row, job, message_id)
                except Exception:
                    log.exception("recording due message %s as sent failed", row.id)

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
                    await due.renew_held(session, list(self._held), self.worker, self.lease,
                                         skip_locked=True)
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
