"""The dispatcher and the reminder engine against a real database (SQLite and PostgreSQL).

A recording sender stands in for Telegram here; the end-to-end tests use the real process.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, event, func, select

from bot.config import load_settings
from bot.domain.clock import ManualClock
from bot.domain.content import load_program
from bot.domain.replies import Reply
from bot.domain.schedule import break_times
from bot.outbox import due
from bot.outbox.delivery import Blocked, TryLater
from bot.outbox.dispatcher import Dispatcher, Send
from bot.storage.db import Database, update_from_values
from bot.storage.models import Break, DueMessage, User
from handlers.account import unsubscribe as deactivate
from handlers.jobs import make_jobs
from handlers.planning import plan_next, preferences
from handlers.turn import Services
from tests.simulate import live_until

TOKEN = "123456789:" + "A" * 35
PLAN_FIT = "Does the plan fit"  # what a reminder slot asks after three unanswered
MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)


@dataclass
class RecordingSender:
    sent: list[tuple[int, str, datetime]] = field(default_factory=list)
    edits: list[tuple[int, int]] = field(default_factory=list)
    clock: ManualClock | None = None
    failures: dict[int, list[Exception]] = field(default_factory=dict)
    next_id: int = 1

    async def send(self, chat_id: int, reply: Reply) -> int:
        queue = self.failures.get(chat_id)
        if queue:
            raise queue.pop(0)
        assert self.clock is not None
        self.sent.append((chat_id, reply.text, self.clock()))
        self.next_id += 1
        return self.next_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        self.edits.append((chat_id, message_id))


def _services(database: Database, clock: ManualClock) -> Services:
    settings = load_settings(telegram_bot_token=TOKEN, database_url=database.url,
                             _env_file=None)
    return Services(settings, database, clock, load_program())


def _dispatcher(database: Database, clock: ManualClock, sender: RecordingSender,
                worker: str = "w1") -> Dispatcher:
    return Dispatcher(database, sender, clock, make_jobs(_services(database, clock)),
                      on_blocked=deactivate, worker=worker)


ZONES = ["America/New_York", "Europe/Madrid", "Asia/Kolkata", "Pacific/Chatham",
         "Australia/Lord_Howe", "UTC+05:30", "Europe/London"]
STARTS = [time(8), time(9), time(9, 30), time(22)]  # 22:00: shifts across midnight
# The simulated week's users. The long form, 200 users (about 4 minutes on both databases):
# MOVEBETTER_WEEK_USERS=200 python -m pytest tests/test_dispatcher.py -k simulated_week
WEEK_USERS = int(os.environ.get("MOVEBETTER_WEEK_USERS", "40"))


def _user(user_id: int, rng: random.Random) -> User:
    start = rng.choice(STARTS)
    end = time((start.hour + rng.choice([4, 8, 9])) % 24, start.minute)
    days = rng.choice([0b0011111, 0b1111111, 0b0101010])
    return User(id=user_id, chat_id=user_id, created_at=MONDAY, consented_at=MONDAY,
                onboarded_at=MONDAY, active=True, draft={}, time_zone=rng.choice(ZONES),
                work_days=days, work_start=start, work_end=end,
                breaks_per_day=rng.randint(1, 8), place="desk")


async def _add_users(database: Database, count: int, start: datetime,
                     every_zone_and_start: bool = False) -> list[User]:
    rng = random.Random(7)
    users = [_user(1000 + i, rng) for i in range(count)]
    if every_zone_and_start:  # the first 28 users: each zone with each start of the day
        for i, user in enumerate(users):
            hours = (user.work_end.hour - user.work_start.hour) % 24
            user.time_zone = ZONES[i % len(ZONES)]
            user.work_start = STARTS[i // len(ZONES) % len(STARTS)]
            user.work_end = time((user.work_start.hour + hours) % 24, user.work_start.minute)
    async with database.session() as session:
        session.add_all(users)
        await session.flush()
        for user in users:
            await plan_next(session, user, start)
    return users


async def test_a_simulated_week_sends_exactly_the_expected_reminders(
    database: Database,
) -> None:
    clock = ManualClock(MONDAY)
    sender = RecordingSender(clock=clock)
    users = await _add_users(database, WEEK_USERS, MONDAY, every_zone_and_start=True)
    end = MONDAY + timedelta(days=7)
    # Five minutes' steps: every reminder goes out at most that late (well inside the grace).
    await live_until(_dispatcher(database, clock, sender), clock, end, timedelta(minutes=5))

    expected = set()
    for user in users:
        prefs = preferences(user)
        for offset in range(-1, 8):
            for at in break_times(prefs, date(2026, 11, 30) + timedelta(days=offset)):
                if MONDAY < at <= end:
                    expected.add((user.id, at))
    async with database.session() as session:
        breaks = (await session.execute(select(Break.user_id, Break.planned_at,
                                               Break.message_id, Break.status))).all()
    reminded = [(user_id, at) for user_id, at, message_id, _status in breaks
                if message_id is not None and at <= end]
    sent = [chat for chat, text, _at in sender.sent if "stretch break" in text]
    # Nobody answers: after three unanswered in a row, one slot asks whether the plan fits
    # instead, once in the week, for everyone with four breaks or more in it.
    asked = Counter(chat for chat, text, _at in sender.sent if PLAN_FIT in text)
    planned = Counter(user_id for user_id, _at in expected)
    assert asked == Counter({user_id for user_id, count in planned.items() if count > 3})
    assert len(reminded) == len(set(reminded)), "a break was reminded twice"
    assert set(reminded) <= expected
    assert Counter(user_id for user_id, _at in reminded) + asked == planned
    assert len(sent) == len(reminded)
    # Unanswered reminders expired quietly: counted as missed, their buttons edited away.
    missed = [status for *_rest, status in breaks if status == "missed"]
    assert len(missed) >= len(reminded) - len(users)
    assert len(sender.edits) >= len(missed) - len(users)


@pytest.mark.postgres
async def test_two_dispatchers_on_postgres_send_each_reminder_once(pg_url: str) -> None:
    databases = [Database(pg_url), Database(pg_url)]
    try:
        clock = ManualClock(MONDAY)
        sender = RecordingSender(clock=clock)
        # 60 users share a day's due moments between the two (with 200, both claimed rows at
        # the same moment only 2 times in 1,200 too); claims at once are tested below and by
        # two dispatcher processes in tests/test_dispatch_processes_e2e.py.
        users = await _add_users(databases[0], 60, MONDAY)
        end = MONDAY + timedelta(days=1)
        first, second = (_dispatcher(db, clock, sender, worker=f"w{i}")
                         for i, db in enumerate(databases))
        while True:
            async with databases[0].session() as session:
                next_due = await due.next_due_at(session)
            if next_due is None or next_due > end:
                break
            clock.now = max(clock.now, next_due)
            await asyncio.gather(first.run_once(), second.run_once())
        reminders = [(chat, at) for chat, text, at in sender.sent
                     if "stretch break" in text or PLAN_FIT in text]
        expected = {(u.id, at) for u in users
                    for d in (date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1))
                    for at in break_times(preferences(u), d) if MONDAY < at <= end}
        assert len(reminders) == len(set(reminders))
        assert set(reminders) == expected
    finally:
        for db in databases:
            await db.close()


@pytest.mark.postgres
async def test_concurrent_claims_never_overlap(pg_url: str) -> None:
    databases = [Database(pg_url) for _ in range(4)]
    try:
        async with databases[0].session() as session:
            session.add(User(id=1, chat_id=1, created_at=MONDAY, draft={}))
            await session.flush()
            for i in range(1000):
                await due.schedule(session, 1, "reminder", f"k{i}", MONDAY)

        async def claim_all(db: Database, worker: str) -> list[int]:
            ids: list[int] = []
            while True:
                async with db.session() as session:
                    rows = await due.claim(session, MONDAY, worker, timedelta(minutes=1), 37)
                if not rows:
                    return ids
                ids += [row.id for row in rows]

        claimed = await asyncio.gather(*(claim_all(db, f"w{i}") for i, db in
                                         enumerate(databases)))
        everything = [row_id for ids in claimed for row_id in ids]
        assert len(everything) == 1000 == len(set(everything))
    finally:
        for db in databases:
            await db.close()


async def test_an_abandoned_claim_is_taken_over_after_its_lease(database: Database) -> None:
    async with database.session() as session:
        session.add(User(id=1, chat_id=1, created_at=MONDAY, draft={}))
        await session.flush()
        await due.schedule(session, 1, "reminder", "k", MONDAY)
    # Leases run on the database's clock: the bot's clock (here far ahead) does not count.
    lease = timedelta(seconds=0.5)
    async with database.session() as session:
        [claimed] = await due.claim(session, MONDAY, "dead", lease)
    async with database.session() as session:
        assert await due.claim(session, MONDAY + timedelta(days=1), "alive", lease) == []
    assert claimed.lease_until is not None
    # Real time has to pass for a lease to run out.
    await asyncio.sleep((claimed.lease_until - datetime.now(UTC)).total_seconds() + 0.1)
    async with database.session() as session:
        taken = await due.claim(session, MONDAY, "alive", lease)
    assert [row.claimed_by for row in taken] == ["alive"]
    async with database.session() as session:
        # The dead process's late finish must not overwrite the new owner's claim.
        assert not await due.finish(session, taken[0].id, "dead", "sent", MONDAY)
        assert not await due.renew(session, taken[0].id, "dead", lease)


async def _one_user(database: Database, start: datetime) -> User:
    users = await _add_users(database, 1, start)
    return users[0]


async def test_a_blocked_user_becomes_inactive_and_loses_pending_reminders(
    database: Database,
) -> None:
    clock = ManualClock(MONDAY)
    user = await _one_user(database, MONDAY)
    sender = RecordingSender(clock=clock, failures={user.chat_id: [Blocked("blocked")]})
    await live_until(_dispatcher(database, clock, sender), clock, MONDAY + timedelta(days=3))
    assert sender.sent == []
    async with database.session() as session:
        stored = await session.get(User, user.id)
        pending = await session.scalar(select(func.count()).where(
            DueMessage.user_id == user.id, DueMessage.status == "pending"))
    assert stored is not None and not stored.active
    assert pending == 0


async def test_flood_control_delays_but_loses_nothing(database: Database) -> None:
    clock = ManualClock(MONDAY)
    user = await _one_user(database, MONDAY)
    storm = [TryLater("429", retry_after=3) for _ in range(8)]
    sender = RecordingSender(clock=clock, failures={user.chat_id: storm})
    async with database.session() as session:
        first = await session.scalar(select(DueMessage.due_at))
    await live_until(_dispatcher(database, clock, sender), clock, first + timedelta(minutes=5))
    assert len(sender.sent) == 1
    assert sender.sent[0][2] == first + timedelta(seconds=24)


async def test_a_server_error_waits_real_seconds_on_a_fast_clock(database: Database) -> None:
    # Telegram recovers in real time: on a clock 120 times fast, a 2 s back-off counted in
    # the bot's time was gone at once, and a few seconds of outage failed reminders.
    class FastManualClock(ManualClock):
        speed = 120.0

    user = await _one_user(database, MONDAY)
    async with database.session() as session:
        first = await session.scalar(select(DueMessage.due_at))
    assert first is not None
    clock = FastManualClock(first)
    sender = RecordingSender(clock=clock, failures={user.chat_id: [TryLater("502")]})
    await _dispatcher(database, clock, sender).run_once()
    async with database.session() as session:
        row = await session.scalar(select(DueMessage).order_by(DueMessage.id).limit(1))
    assert row is not None and row.status == "pending"
    assert row.due_at - first == timedelta(seconds=2 * 120)


async def test_a_reminder_keeps_trying_until_its_window_closes_then_counts_as_missed(
    database: Database,
) -> None:
    # Telegram down for good: the reminder is tried again (2, 4, 8 … 60 s apart) as long as
    # it is still worth sending, then ends expired and its break missed, never "failed";
    # the next break is planned.
    clock = ManualClock(MONDAY)
    user = await _one_user(database, MONDAY)
    sender = RecordingSender(clock=clock,
                             failures={user.chat_id: [TryLater("502") for _ in range(1000)]})
    async with database.session() as session:
        first = await session.scalar(select(DueMessage.due_at))
    assert first is not None
    grace = timedelta(minutes=load_settings(telegram_bot_token=TOKEN,
                                            _env_file=None).late_grace_minutes)
    await live_until(_dispatcher(database, clock, sender), clock, first + timedelta(hours=1))
    async with database.session() as session:
        row = await session.scalar(select(DueMessage).where(DueMessage.due_at >= first)
                                   .order_by(DueMessage.id).limit(1))
        brk = await session.scalar(select(Break))
        following = await session.scalar(select(func.count()).where(
            DueMessage.kind == "reminder", DueMessage.status == "pending"))
    assert sender.sent == []
    assert row is not None and row.status == "expired", row.outcome
    assert row.attempts > 5  # more than the other kinds get
    assert row.done_at is not None and first + grace <= row.done_at <= first + grace \
        + timedelta(seconds=60)
    assert brk is not None and brk.status == "missed"
    assert following == 1


async def test_a_reminder_first_claimed_past_its_grace_is_not_sent_and_its_break_is_missed(
    database: Database,
) -> None:
    # The bot was down past the late grace: the reminder's first claim finds it too late
    # (the batched path). Nothing is sent, its break counts as missed, the next is planned.
    user = await _one_user(database, MONDAY)
    async with database.session() as session:
        first = await session.scalar(select(DueMessage.due_at))
    assert first is not None
    grace = timedelta(minutes=load_settings(telegram_bot_token=TOKEN,
                                            _env_file=None).late_grace_minutes)
    clock = ManualClock(first + grace + timedelta(minutes=1))
    sender = RecordingSender(clock=clock)
    await _dispatcher(database, clock, sender).run_once()
    async with database.session() as session:
        breaks = list(await session.scalars(select(Break).where(Break.user_id == user.id)))
        row = await session.scalar(select(DueMessage).where(DueMessage.due_at == first))
        following = await session.scalar(select(func.count()).where(
            DueMessage.kind == "reminder", DueMessage.status == "pending"))
    assert sender.sent == []
    assert [brk.status for brk in breaks] == ["missed"]
    assert row is not None and row.status != "sent" and row.break_id == breaks[0].id
    assert following == 1


@pytest.mark.parametrize("speed", [1.0, 96.0])
async def test_a_sixty_second_outage_loses_no_reminder(database: Database,
                                                       speed: float) -> None:
    # Telegram answers 502 to everything for 60 real seconds; on the bot's real clock and on
    # the soak's fast one (where 60 real seconds are 96 minutes of the bot's: past the
    # default late grace, so the soak's reminders must wait out the outage in the queue).
    class Clock(ManualClock):
        pass

    Clock.speed = speed  # type: ignore[attr-defined]
    # As in the soak: work days of 09:00–17:00, so the outage ends inside every window.
    users = [User(id=2000 + i, chat_id=2000 + i, created_at=MONDAY, consented_at=MONDAY,
                  onboarded_at=MONDAY, active=True, draft={}, time_zone="UTC",
                  work_days=0b1111111, work_start=time(9), work_end=time(17),
                  breaks_per_day=8, place="desk") for i in range(20)]
    async with database.session() as session:
        session.add_all(users)
        await session.flush()
        for user in users:
            await plan_next(session, user, MONDAY)
    async with database.session() as session:
        first = await session.scalar(select(func.min(DueMessage.due_at)))
    assert first is not None
    clock = Clock(first)
    outage_ends = first + timedelta(seconds=60 * speed)

    class Down(RecordingSender):
        async def send(self, chat_id: int, reply: Reply) -> int:
            if self.clock is not None and self.clock() < outage_ends:
                raise TryLater("Bad Gateway")
            return await super().send(chat_id, reply)

    sender = Down(clock=clock)
    dispatcher = _dispatcher(database, clock, sender)
    # The soak's setting: a reminder is worth sending for ten hours.
    for job in {id(j): j for j in dispatcher.jobs.values()}.values():
        if hasattr(job, "grace"):
            job.grace = timedelta(hours=10)
    await live_until(dispatcher, clock, outage_ends + timedelta(minutes=5))
    async with database.session() as session:
        ended = dict((await session.execute(
            select(DueMessage.status, func.count()).where(
                DueMessage.kind == "reminder", DueMessage.status != "pending")
            .group_by(DueMessage.status))).all())
    reminders = [chat for chat, text, _at in sender.sent if "stretch break" in text]
    assert ended.get("failed", 0) == 0 and ended.get("expired", 0) == 0
    assert ended.get("sent", 0) >= 1
    assert sorted(reminders) == sorted({chat for chat in reminders})  # each once
    assert len(reminders) == ended["sent"]
    assert all(sent_at >= outage_ends for _chat, _text, sent_at in sender.sent)
    assert {u.id for u in users} >= set(reminders)


async def test_other_kinds_still_end_failed_after_five_attempts(database: Database) -> None:
    class Note:
        async def prepare(self, *_args: object) -> Send:
            return Send(Reply("A note"))

        async def delivered(self, *_args: object) -> None:
            return None

        async def undeliverable(self, *_args: object) -> None:
            return None

    clock = ManualClock(MONDAY)
    async with database.session() as session:
        session.add(User(id=1, chat_id=1, created_at=MONDAY, active=True, draft={}))
        await session.flush()
        await due.schedule(session, 1, "note", "note:1", MONDAY)
    sender = RecordingSender(clock=clock, failures={1: [TryLater("502") for _ in range(100)]})
    dispatcher = Dispatcher(database, sender, clock, {"note": Note()}, on_blocked=deactivate)
    await live_until(dispatcher, clock, MONDAY + timedelta(hours=1))
    async with database.session() as session:
        row = await session.scalar(select(DueMessage))
    assert row is not None and row.status == "failed" and row.attempts == 5
    assert "502" in (row.outcome or "")


class OneByOne:
    """The reminder job without its many-row methods: the dispatcher loops over prepare
    and delivered, one row at a time (what every job without them gets)."""

    def __init__(self, job: Any) -> None:
        self.job = job
        self.retries_until_too_late = True

    async def prepare(self, *args: Any) -> Any:
        return await self.job.prepare(*args)

    async def delivered(self, *args: Any) -> None:
        await self.job.delivered(*args)

    async def undeliverable(self, *args: Any) -> None:
        await self.job.undeliverable(*args)


async def _due_at_ten(database: Database, first_id: int, count: int, seed: int) -> list[User]:
    """`count` users at work on Monday at 10:00 UTC, their first reminders due then, one a
    second apart in id order."""
    rng = random.Random(seed)
    users = [_user(first_id + i, rng) for i in range(count)]
    for user in users:
        user.time_zone, user.work_start, user.work_end = "UTC", time(8), time(18)
        user.work_days = 0b1111111
    async with database.session() as session:
        session.add_all(users)
        await session.flush()
        for i, user in enumerate(users):
            await due.schedule(session, user.id, "reminder", f"first:{user.id}",
                               MONDAY + timedelta(hours=10, seconds=i))
    return users


async def _statements_and_outcome(database: Database, per_row: bool,
                                  first_id: int) -> tuple[float, list[Any]]:
    """Statements per reminder for 60 reminders due at once, and what they left behind."""
    users = await _due_at_ten(database, first_id, 60, seed=3)
    clock = ManualClock(MONDAY + timedelta(hours=10, minutes=1))
    sender = RecordingSender(clock=clock)
    jobs = make_jobs(_services(database, clock))
    if per_row:
        jobs["reminder"] = OneByOne(jobs["reminder"])
    dispatcher = Dispatcher(database, sender, clock, jobs, on_blocked=deactivate)
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(database.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert await dispatcher.run_once() == len(users)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(sender.sent) == len(users)
    async with database.session() as session:
        rows = (await session.execute(
            select(DueMessage.user_id, DueMessage.kind, DueMessage.status, DueMessage.due_at)
            .where(DueMessage.user_id >= first_id).order_by(DueMessage.user_id,
                                                             DueMessage.kind))).all()
        breaks = (await session.execute(
            select(Break.user_id, Break.status, Break.planned_at, Break.positions,
                   Break.message_id.is_not(None))
            .where(Break.user_id >= first_id).order_by(Break.user_id))).all()
    # Relative to the user (due times depend on the user's id through its stagger).
    outcome = sorted(repr(item) for item in
                     [(r.user_id - first_id, r.kind, r.status) for r in rows]
                     + [(b[0] - first_id, *b[1:2], *b[3:]) for b in breaks])
    return statements / len(users), outcome


async def test_a_batch_of_reminders_costs_few_statements_and_ends_the_same(
    database: Database,
) -> None:
    # The batched path (prepare_many, delivered_many) against the per-row methods in a
    # loop: the same reminders, breaks, expiries and next breaks, for far fewer statements.
    one_by_one, per_row = await _statements_and_outcome(database, True, 10_000)
    together, batched = await _statements_and_outcome(database, False, 20_000)
    print(f"statements per reminder: {one_by_one:.2f} one by one, {together:.2f} together")
    assert batched == per_row
    assert together * 10 < one_by_one
    assert together < 0.3


@dataclass
class GatedSender(RecordingSender):
    """Holds every send until `open` is set (or `patience` real seconds pass)."""

    open: asyncio.Event = field(default_factory=asyncio.Event)
    waited_in_vain: int = 0
    patience: float = 10.0

    async def send(self, chat_id: int, reply: Reply) -> int:
        try:
            await asyncio.wait_for(self.open.wait(), self.patience)
        except TimeoutError:
            self.waited_in_vain += 1
        return await super().send(chat_id, reply)


async def test_the_next_batch_is_claimed_while_the_last_sends_of_one_are_still_to_go(
    database: Database,
) -> None:
    # Sending never waits for the next batch's claim and preparation: they overlap the
    # previous batch's last sends. Forced: every send is held until the second claim has
    # come back, so a dispatcher that claimed only after all its rows had started would
    # hold its first sends in vain.
    await _due_at_ten(database, 30_000, 8, seed=5)
    clock = ManualClock(MONDAY + timedelta(hours=10, seconds=30))
    sender = GatedSender(clock=clock)
    claims: list[int] = []

    class Counting(Dispatcher):
        async def _claim(self) -> list[DueMessage]:
            rows = await super()._claim()
            claims.append(len(rows))
            if len(claims) == 2:
                sender.open.set()
            return rows

    dispatcher = Counting(database, sender, clock, make_jobs(_services(database, clock)),
                          on_blocked=deactivate, batch=4, concurrency=2)
    await dispatcher.tick()
    assert claims[:2] == [4, 4]
    assert sender.waited_in_vain == 0
    assert len(sender.sent) == 8


async def test_a_claim_takes_no_more_rows_than_asked(database: Database) -> None:
    # On PostgreSQL the chosen ids once came from a sub-select run again for each row
    # updated: a claim of 6 took all 50 due rows (one instance would take a whole backlog,
    # and lock all its users, in one batch).
    async with database.session() as session:
        session.add_all(_user(40_000 + i, random.Random(i)) for i in range(50))
        await session.flush()
        for i in range(50):
            await due.schedule(session, 40_000 + i, "reminder", "first",
                               MONDAY + timedelta(seconds=i))
    now = MONDAY + timedelta(hours=1)
    taken: list[list[int]] = []
    for _ in range(9):
        async with database.session() as session:
            rows = await due.claim(session, now, "w1", timedelta(seconds=90), 6)
        taken.append([row.user_id - 40_000 for row in rows])
    assert taken == [list(range(i, min(i + 6, 50))) for i in range(0, 54, 6)]


@dataclass
class TwoBatchSender(RecordingSender):
    """Holds the first batch's last two sends until the second batch has sent two, and the
    second batch's last two until the first batch's have gone."""

    first: set[int] = field(default_factory=set)
    sent_by: Counter[str] = field(default_factory=Counter)
    second_sent_two: asyncio.Event = field(default_factory=asyncio.Event)
    first_all_sent: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, chat_id: int, reply: Reply) -> int:
        batch = "first" if chat_id in self.first else "second"
        if self.sent_by[batch] >= 2 and batch == "first":
            await self.second_sent_two.wait()
        elif self.sent_by[batch] >= 2:
            await self.first_all_sent.wait()
        self.sent_by[batch] += 1
        if batch == "second" and self.sent_by[batch] == 2:
            self.second_sent_two.set()
        if batch == "first" and self.sent_by[batch] == 4:
            self.first_all_sent.set()
        return await super().send(chat_id, reply)


async def test_two_batches_short_of_a_group_each_still_record_their_sends(
    database: Database,
) -> None:
    # Sends wait for a place among the unrecorded (at most `record_group`), and each batch
    # records once it has three quarters of a group. Forced: two batches with two sent
    # each hold all four places; their next sends must make them record instead of both
    # waiting for ever.
    users = await _due_at_ten(database, 50_000, 8, seed=6)
    clock = ManualClock(MONDAY + timedelta(hours=10, seconds=30))
    sender = TwoBatchSender(clock=clock, first={user.id for user in users[:4]})
    dispatcher = Dispatcher(database, sender, clock, make_jobs(_services(database, clock)),
                            on_blocked=deactivate, batch=4, concurrency=8, record_group=4)
    await asyncio.wait_for(dispatcher.tick(), 60)  # a deadlock fails here, not for ever
    async with database.session() as session:
        statuses = Counter((await session.scalars(
            select(DueMessage.status).where(DueMessage.kind == "reminder",
                                            DueMessage.due_at <= clock()))).all())
    assert len(sender.sent) == 8
    assert statuses == {"sent": 8}


async def test_renewing_and_finishing_many_claims_name_only_those_still_ours(
    database: Database,
) -> None:
    async with database.session() as session:
        session.add(User(id=1, chat_id=1, created_at=MONDAY, draft={}))
        await session.flush()
        for key in "abc":
            await due.schedule(session, 1, "reminder", key, MONDAY)
    lease = timedelta(minutes=5)
    async with database.session() as session:
        ids = [row.id for row in await due.claim(session, MONDAY, "w1", lease)]
    assert len(ids) == 3
    # Another instance has taken the first row over (our process stalled past its lease).
    async with database.session() as session:
        row = await session.get(DueMessage, ids[0])
        assert row is not None
        row.claimed_by = "w2"
    async with database.session() as session:
        assert await due.renew_held(session, ids, "w1", lease) == set(ids[1:])
        assert await due.renew_held(session, ids[1:], "w1", lease) == set(ids[1:])
    async with database.session() as session:
        assert await due.finish_many(session, ids, "w1", "sent", MONDAY) == set(ids[1:])
    async with database.session() as session:
        # Finished rows are no longer claims to renew or finish again.
        assert await due.renew_held(session, ids, "w1", lease) == set()
        assert await due.finish_many(session, ids, "w1", "failed",
                                     MONDAY + timedelta(minutes=1)) == set()
        statuses = dict((await session.execute(
            select(DueMessage.id, DueMessage.status).where(DueMessage.id.in_(ids)))).all())
    assert statuses == {ids[0]: "claimed", ids[1]: "sent", ids[2]: "sent"}


async def test_many_values_are_set_in_one_statement_each_on_its_own_row(
    database: Database,
) -> None:
    async with database.session() as session:
        session.add(User(id=1, chat_id=1, created_at=MONDAY, draft={}))
        await session.flush()
        breaks = [Break(user_id=1, kind="reminder", status="pending", planned_at=MONDAY,
                        place="desk", positions=[], positions_done=[], message_id=7)
                  for _ in range(3)]
        session.add_all(breaks)
    ids = [brk.id for brk in breaks]
    async with database.session() as session:
        await update_from_values(session, cast(Table, Break.__table__), "id", "message_id",
                                 [(ids[0], 100), (ids[2], None)])
    async with database.session() as session:
        found = dict((await session.execute(
            select(Break.id, Break.message_id).where(Break.id.in_(ids)))).all())
    assert found == {ids[0]: 100, ids[1]: 7, ids[2]: None}
