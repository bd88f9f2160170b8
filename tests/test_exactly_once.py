"""Exactly once under races, slow sends, bad rows and lost connections.

Each race is forced, not hoped for: a turn or a job is held at the risky point with an
`asyncio.Event` while the other side runs, up to the point where it either finishes or
waits for a database lock (seen in PostgreSQL's pg_stat_activity).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData

from bot.adapter.web import SECRET_HEADER, make_web_app
from bot.domain.callbacks import ReminderChoice
from bot.domain.clock import ManualClock
from bot.domain.replies import Reply
from bot.outbox import due
from bot.outbox.dispatcher import Action, Dispatcher, Job
from bot.storage.db import Database
from bot.storage.models import Break, DueMessage, User
from handlers import routes
from handlers.account import unsubscribe
from handlers.jobs import make_jobs
from handlers.turn import Services, Turn
from tests.conftest import Chat, RecordingRequest, in_process, make_message, text_of
from tests.simulate import live_until
from tests.test_dispatcher import RecordingSender

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SECRET = "s3cret-webhook-token-for-tests"


def _user(user_id: int) -> User:
    return User(id=user_id, chat_id=user_id, created_at=MONDAY_9, consented_at=MONDAY_9,
                onboarded_at=MONDAY_9, active=True, draft={}, time_zone="UTC",
                work_days=0b1111111, work_start=time(9), work_end=time(17), breaks_per_day=4,
                place="desk")


async def _with_first_reminder(database: Database, user: User) -> None:
    """Adds the user, their first reminder due at 09:00."""
    async with database.session() as session:
        session.add(user)
        await session.flush()
        await due.schedule(session, user.id, "reminder", "reminder:first", MONDAY_9)


async def _waiting_or_done(database: Database, task: asyncio.Task[Any]) -> None:
    """Returns once `task` has finished or is waiting for a row lock another holds."""
    while not task.done():
        if database.is_postgres:
            async with database.session() as session:
                waiting = await session.scalar(text(
                    "select count(*) from pg_stat_activity where datname = current_database()"
                    " and wait_event_type = 'Lock'"))
            if waiting:
                return
        await asyncio.sleep(0.02)


class Held:
    """Holds the first turn that reaches a route (after its user was read) until released."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        real = routes.gated

        def gated(route: routes.Route, turn: Turn) -> Callable[[Turn], Awaitable[Any]]:
            answer = real(route, turn)

            async def held(turn: Turn) -> Any:
                if not self.reached.is_set():
                    self.reached.set()
                    await self.release.wait()
                return await answer(turn)

            return held

        monkeypatch.setattr(routes, "gated", gated)


@pytest.fixture
async def two_instances(pg_url: str) -> AsyncIterator[tuple[Chat, Chat]]:
    """One user's chat with two bot instances sharing one PostgreSQL database."""
    clock = ManualClock(MONDAY_9)
    async with in_process(pg_url, clock) as (app_a, request_a, services_a), \
            in_process(pg_url, clock) as (app_b, request_b, services_b):
        yield (Chat(app_a, request_a, services_a.database),
               Chat(app_b, request_b, services_b.database))


# ------------------------------------------------------------------------------------------
# 2. Quick taps on two instances


@pytest.mark.postgres
async def test_quick_taps_on_two_instances_are_both_kept(
    two_instances: tuple[Chat, Chat], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_instances
    await a.command("start")
    await a.press("c:yes")
    await a.send("Madrid")
    held = Held(monkeypatch)
    first = asyncio.create_task(a.press("ob:day:5"))
    await held.reached.wait()  # instance A has read the user and is deciding
    second = asyncio.create_task(b.press("ob:day:6"))
    await _waiting_or_done(b.database, second)
    held.release.set()
    await asyncio.gather(first, second)
    assert (await a.user()).draft == {"days": 0b1111111}


@pytest.mark.postgres
async def test_a_first_start_on_two_instances_registers_once(
    two_instances: tuple[Chat, Chat], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = two_instances
    held = Held(monkeypatch)
    first = asyncio.create_task(a.command("start"))
    await held.reached.wait()
    second = asyncio.create_task(b.command("start"))
    await _waiting_or_done(b.database, second)
    held.release.set()
    seen = await asyncio.gather(first, second)  # an error in either would be raised here
    assert all("not medical advice" in text_of(one) for one in seen)


# ------------------------------------------------------------------------------------------
# 1. "Start now" pressed as the reminder expires


class HeldJob:
    """A job that stops after deciding (its transaction still open) until released."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.prepared = asyncio.Event()
        self.release = asyncio.Event()

    async def prepare(self, session: AsyncSession, row: DueMessage, user: User,
                      now: datetime) -> Action:
        action = await self.job.prepare(session, row, user, now)
        self.prepared.set()
        await self.release.wait()
        return action

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)


async def _expiring_reminder(chat: Chat, services: Services, clock: ManualClock,
                             planned: datetime) -> tuple[Break, HeldJob, RecordingSender,
                                                         Dispatcher]:
    """A reminder shown as message 7 whose expiry is due now, and a dispatcher whose
    expiry job holds after deciding."""
    async with services.database.session() as session:
        session.add(_user(chat.user_id))
        await session.flush()
        brk = Break(user_id=chat.user_id, kind="reminder", status="pending",
                    planned_at=planned, place="desk", positions=[], positions_done=[],
                    message_id=7)
        session.add(brk)
        await session.flush()
        await due.schedule(session, chat.user_id, "expire", f"expire:{brk.id}:0",
                           clock(), break_id=brk.id)
    jobs = make_jobs(services)
    expiry = HeldJob(jobs["expire"])
    jobs["expire"] = expiry
    sender = RecordingSender(clock=clock)
    return brk, expiry, sender, Dispatcher(services.database, sender, clock, jobs,
                                           on_blocked=unsubscribe)


@pytest.mark.postgres
async def test_start_now_pressed_as_the_reminder_expires(pg_url: str) -> None:
    clock = ManualClock(MONDAY_9 + timedelta(minutes=30))
    async with in_process(pg_url, clock) as (application, request, services):
        chat = Chat(application, request, services.database)
        brk, expiry, sender, dispatcher = await _expiring_reminder(chat, services, clock, MONDAY_9)
        expiring = asyncio.create_task(dispatcher.run_once())
        await expiry.prepared.wait()
        pressed = asyncio.create_task(
            chat.press(ReminderChoice(brk.id, "go").pack(), message_id=7))
        await _waiting_or_done(services.database, pressed)
        expiry.release.set()
        await expiring
        seen = await pressed
        async with services.database.session() as session:
            stored = await session.get(Break, brk.id)
    assert stored is not None
    # Whichever came first wins, and the user is told the truth about it.
    if "already handled" not in text_of(seen):
        assert stored.status == "active" and sender.edits == []
    else:
        assert stored.status == "missed" and sender.edits == [(chat.user_id, 7)]
        assert text_of(seen) == "This break was already handled."


@pytest.mark.postgres
@pytest.mark.parametrize("first", ["expiry", "tap"])
async def test_in_a_meeting_pressed_as_the_reminder_expires(
    pg_url: str, first: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(MONDAY_9 + timedelta(minutes=70))
    async with in_process(pg_url, clock) as (application, request, services):
        chat = Chat(application, request, services.database)
        brk, expiry, sender, dispatcher = await _expiring_reminder(
            chat, services, clock, MONDAY_9 + timedelta(minutes=60))
        tap = ReminderChoice(brk.id, "m60").pack()
        if first == "expiry":  # the expiry has decided; the tap waits for the user's row
            expiring = asyncio.create_task(dispatcher.run_once())
            await expiry.prepared.wait()
            pressed = asyncio.create_task(chat.press(tap, message_id=7))
            await _waiting_or_done(services.database, pressed)
            expiry.release.set()
        else:  # the tap has read the user; the expiry waits for it
            expiry.release.set()
            held = Held(monkeypatch)
            pressed = asyncio.create_task(chat.press(tap, message_id=7))
            await held.reached.wait()
            expiring = asyncio.create_task(dispatcher.run_once())
            await _waiting_or_done(services.database, expiring)
            held.release.set()
        await expiring
        seen = await pressed
        said = " ".join(reply.text for reply in seen.replies)
        assert ("Moved: I'll remind you at" if first == "tap"
                else "This break was already handled.") in said
        # Whatever is left due runs too: a moved break comes back once, an expired one never.
        clock.now += timedelta(hours=1)
        await dispatcher.run_once()
        async with services.database.session() as session:
            stored = await session.get(Break, brk.id)
            rows = (await session.execute(
                select(DueMessage.kind, DueMessage.status).where(
                    DueMessage.break_id == brk.id).order_by(DueMessage.id))).all()
    assert stored is not None
    if first == "tap":
        assert sender.edits == [] and ["Time for a stretch" in text
                                       for _chat, text, _at in sender.sent] == [True]
        # The old expiry skipped itself; the moved reminder has its own.
        assert [tuple(row) for row in rows] == [("expire", "cancelled"), ("snooze", "sent"),
                                                ("expire", "pending")]
        assert stored.snoozes == 1
    else:
        assert stored.status == "missed" and sender.edits == [(chat.user_id, 7)]
        assert sender.sent == [] and [tuple(row) for row in rows] == [("expire", "sent")]


class HeldDelivery:
    """A reminder's job held inside its follow-up, after the row was recorded sent and its
    break locked (the first thing `delivered` does), with the transaction open."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.recorded = asyncio.Event()
        self.release = asyncio.Event()

    async def delivered(self, session: AsyncSession, row: DueMessage, *args: Any) -> None:
        await session.get(Break, row.break_id, with_for_update=True)
        self.recorded.set()
        await self.release.wait()
        await self.job.delivered(session, row, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)


@pytest.mark.postgres
async def test_start_now_pressed_while_the_reminder_is_being_recorded_sent(
    pg_url: str,
) -> None:
    # Found by the fault soak: recording the send locked the break, then its expiry row's
    # insert needed a share lock on the user; the tap held the user and waited for the
    # break: a deadlock, and one of the two was aborted.
    clock = ManualClock(MONDAY_9)
    async with in_process(pg_url, clock) as (application, request, services):
        chat = Chat(application, request, services.database)
        await _with_first_reminder(services.database, _user(chat.user_id))
        jobs = make_jobs(services)
        reminder = HeldDelivery(jobs["reminder"])
        jobs["reminder"] = reminder
        dispatcher = Dispatcher(services.database, RecordingSender(clock=clock), clock, jobs,
                                on_blocked=unsubscribe)
        sending = asyncio.create_task(dispatcher.run_once())
        await reminder.recorded.wait()
        async with services.database.session() as session:
            brk = await session.scalar(select(Break))
        assert brk is not None
        pressed = asyncio.create_task(
            chat.press(ReminderChoice(brk.id, "go").pack(), message_id=1))
        await _waiting_or_done(services.database, pressed)
        reminder.release.set()
        await sending
        seen = await pressed
        async with services.database.session() as session:
            stored = await session.get(Break, brk.id)
            outcome = await session.scalar(select(DueMessage.outcome).where(
                DueMessage.key == "reminder:first"))
    assert seen.replies and "already handled" not in text_of(seen)
    assert stored is not None and stored.status == "active"
    assert outcome is None or "recording failed" not in outcome


@dataclass
class HeldSend(RecordingSender):
    """Telegram has taken the message (its user sees it and may tap it); the dispatcher
    does not have its id until `release`."""

    replies: list[Reply] = field(default_factory=list)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, chat_id: int, reply: Reply) -> int:
        message_id = await super().send(chat_id, reply)
        self.replies.append(reply)
        self.delivered.set()
        await self.release.wait()
        return message_id


@dataclass
class HeldFirstReminder:
    """A user's first reminder of the day, shown to them (Telegram has it) and not yet
    recorded as sent: tap it, then `recorded()` lets the dispatcher record it."""

    chat: Chat
    services: Services
    clock: ManualClock
    sender: HeldSend
    dispatcher: Dispatcher
    sending: asyncio.Task[int]

    async def recorded(self) -> None:
        self.sender.release.set()
        await self.sending


@asynccontextmanager
async def held_first_reminder(database_url: str, user: Callable[[int], User]
                              ) -> AsyncIterator[HeldFirstReminder]:
    clock = ManualClock(MONDAY_9)
    async with in_process(database_url, clock) as (application, request, services):
        chat = Chat(application, request, services.database)
        await _with_first_reminder(services.database, user(chat.user_id))
        sender = HeldSend(clock=clock)
        dispatcher = Dispatcher(services.database, sender, clock, make_jobs(services),
                                on_blocked=unsubscribe)
        sending = asyncio.create_task(dispatcher.run_once())
        await sender.delivered.wait()
        yield HeldFirstReminder(chat, services, clock, sender, dispatcher, sending)


def _after_a_stop_for_pain(user_id: int) -> User:
    user = _user(user_id)
    user.pain_stop_at = MONDAY_9 - timedelta(days=1)
    return user


def _one_break_a_day(user_id: int) -> User:
    user = _user(user_id)
    user.breaks_per_day = 1  # the day's break at 13:00: nothing to fold a moved one into
    return user


async def test_a_check_in_answered_before_its_send_is_recorded_still_becomes_the_reminder(
    database_url: str,
) -> None:
    # The first reminder after a stop for pain asks how the hip is. A tap on it can come
    # before the dispatcher records the send, while its break does not know the message
    # yet: the answer must still find the break and turn the message into its reminder
    # (it used to say only "Thanks!", leaving a check-in with no way to start the break).
    async with held_first_reminder(database_url, _after_a_stop_for_pain) as held:
        check_in = held.sender.replies[0]
        assert check_in.text.startswith("How is the hip today?")
        same = next(key for row in check_in.buttons for key in row if key.label == "The same")
        seen = await held.chat.press(same.data, message_id=held.sender.next_id)
        await held.recorded()
        async with held.services.database.session() as session:
            brk = await session.scalar(select(Break))
            stored = await session.get(User, held.chat.user_id)
    sender = held.sender
    assert "Time for a stretch break" in text_of(seen)
    assert brk is not None and brk.status == "pending" and brk.message_id == sender.next_id
    assert stored is not None and stored.pain_stop_at is None


async def test_a_reminder_moved_before_its_send_is_recorded_comes_back_when_moved_to(
    database_url: str,
) -> None:
    # Recording the send schedules the reminder's expiry. "In a meeting: 1 hour" tapped
    # before that (a quick tap, a slow recording) used to get an expiry keyed to the move:
    # at the first reminder's expiry the break counted as missed, and the moved reminder
    # never came (seen in tests/test_meetings_e2e.py on a busy machine).
    async with held_first_reminder(database_url, _one_break_a_day) as held:
        async with held.services.database.session() as session:
            brk = await session.scalar(select(Break))
        assert brk is not None
        seen = await held.chat.press(ReminderChoice(brk.id, "m60").pack(),
                                     message_id=held.sender.next_id)
        assert "Moved" in text_of(seen)
        await held.recorded()
        # Past the first reminder's expiry, to the hour it was moved to.
        await live_until(held.dispatcher, held.clock, MONDAY_9 + timedelta(minutes=61))
        async with held.services.database.session() as session:
            stored = await session.get(Break, brk.id)
    sender = held.sender
    assert [at for _chat, _text, at in sender.sent] == [MONDAY_9, MONDAY_9 + timedelta(hours=1)]
    assert stored is not None and stored.status == "pending"


# ------------------------------------------------------------------------------------------
# 3. A send slower than the lease


async def test_a_send_slower_than_its_lease_is_not_sent_again(database: Database) -> None:
    clock = ManualClock(MONDAY_9 - timedelta(minutes=1))
    async with database.session() as session:
        session.add(_user(1))
        await session.flush()
        await due.schedule(session, 1, "reminder", "reminder:first", MONDAY_9)
    clock.now = MONDAY_9
    lease = timedelta(seconds=1)
    services = Services(*_services_args(database, clock))
    other_sender = RecordingSender(clock=clock)
    other = Dispatcher(database, other_sender, clock, make_jobs(services),
                       on_blocked=unsubscribe, worker="other", lease=lease)
    taken_over: list[int] = []

    class SlowSender(RecordingSender):
        async def send(self, chat_id: int, reply: Any) -> int:
            if not taken_over:
                # Stuck in the send past the lease, on every clock: the bot's and the real.
                clock.now += timedelta(minutes=10)
                async with database.session() as session:
                    lease_until = await session.scalar(select(DueMessage.lease_until).where(
                        DueMessage.key == "reminder:first"))
                assert lease_until is not None
                await asyncio.sleep((lease_until + lease / 2 - datetime.now(UTC))
                                    .total_seconds())
                taken_over.append(await other.run_once())
            return await super().send(chat_id, reply)

    sender = SlowSender(clock=clock)
    first = Dispatcher(database, sender, clock, make_jobs(services), on_blocked=unsubscribe,
                       worker="first", lease=lease)
    await first.run_once()
    reminders = [chat for chat, text_, _at in sender.sent + other_sender.sent
                 if "stretch break" in text_]
    assert taken_over == [0] and reminders == [1]


def _services_args(database: Database, clock: ManualClock) -> tuple[Any, ...]:
    from bot.config import load_settings
    from bot.domain.content import load_program

    settings = load_settings(telegram_bot_token="123456789:" + "A" * 35,
                             database_url=database.url, _env_file=None)
    return settings, database, clock, load_program()


# ------------------------------------------------------------------------------------------
# 4. A job that raises


async def test_a_row_whose_job_raises_ends_failed_and_the_chain_goes_on(
    database: Database,
) -> None:
    clock = ManualClock(MONDAY_9 - timedelta(minutes=1))
    async with database.session() as session:
        session.add_all([_user(1), _user(2)])
        await session.flush()
        for user_id in (1, 2):
            await due.schedule(session, user_id, "reminder", "reminder:first", MONDAY_9)
    services = Services(*_services_args(database, clock))
    jobs = make_jobs(services)
    real = jobs["reminder"]

    class Broken(HeldJob):
        async def prepare(self, session: AsyncSession, row: DueMessage, user: User,
                          now: datetime) -> Action:
            if user.id == 1 and row.key == "reminder:first":
                raise RuntimeError("content missing")
            return await real.prepare(session, row, user, now)

    jobs["reminder"] = Broken(real)
    sender = RecordingSender(clock=clock)
    dispatcher = Dispatcher(services.database, sender, clock, jobs, on_blocked=unsubscribe)
    await live_until(dispatcher, clock, MONDAY_9 + timedelta(hours=1))
    async with database.session() as session:
        rows = (await session.execute(
            select(DueMessage.user_id, DueMessage.key, DueMessage.status, DueMessage.outcome)
            .where(DueMessage.kind == "reminder").order_by(DueMessage.id))).all()
    broken = [row for row in rows if row.user_id == 1 and row.key == "reminder:first"]
    assert [(row.status, "content missing" in (row.outcome or "")) for row in broken] \
        == [("failed", True)]
    # The next break of that user is still planned; the other user was served.
    assert any(row.user_id == 1 and row.status == "pending" for row in rows)
    assert [chat for chat, _text, _at in sender.sent] == [2]


# ------------------------------------------------------------------------------------------
# 5. The database drops while a webhook update is handled


@pytest.mark.postgres
async def test_a_webhook_update_whose_turn_failed_is_delivered_again_and_handled_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(MONDAY_9)
    async with in_process(pg_url, clock, webhook_url="https://example.org",
                          webhook_secret=SECRET) as (application, request, services):
        held = Held(monkeypatch)
        update = make_message(4242, "/start")
        async with TestClient(TestServer(make_web_app(application))) as client:
            async def post() -> int:
                response = await client.post("/telegram", json=update,
                                             headers={SECRET_HEADER: SECRET})
                return response.status

            first = asyncio.create_task(post())
            await held.reached.wait()
            async with services.database.session() as session:  # the connection drops
                await session.execute(text(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname ="
                    " current_database() and pid <> pg_backend_pid()"))
            held.release.set()
            statuses = [await first, await post(), await post()]
    welcomes = [params for params in request.sent() if "not medical advice" in params["text"]]
    assert statuses == [503, 200, 200]
    assert len(welcomes) == 1


# ------------------------------------------------------------------------------------------
# 6. A reply whose send timed out


class FlakyRequest(RecordingRequest):
    """The first sendMessage fails as told: after reaching Telegram, or before."""

    def __init__(self, failure: Exception, delivered: bool) -> None:
        super().__init__()
        self.failure: Exception | None = failure
        self.delivered = delivered

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if url.endswith("/sendMessage") and self.failure is not None:
            failure, self.failure = self.failure, None
            if self.delivered:
                await super().do_request(url, method, request_data, *args, **kwargs)
            raise failure
        return await super().do_request(url, method, request_data, *args, **kwargs)


@pytest.mark.parametrize(("failure", "delivered"), [
    (TimedOut("read timed out"), True),  # reached Telegram: sending again would duplicate
    (NetworkError("httpx.ConnectError"), False),  # never reached it: send again
], ids=["timed-out", "refused"])
async def test_a_reply_reaches_the_user_once(sqlite_url: str, failure: Exception,
                                             delivered: bool) -> None:
    if not delivered:
        failure.__cause__ = httpx.ConnectError("connection refused")
    async with in_process(sqlite_url, ManualClock(MONDAY_9)) as (application, _req, services):
        request = FlakyRequest(failure, delivered)
        application.bot._request = (request, request)  # type: ignore[attr-defined]
        chat = Chat(application, request, services.database)
        await chat.command("start")
    assert [params["text"][:3] for params in request.sent()] == ["Hi!"]


# ------------------------------------------------------------------------------------------
# 8. The outbox does not grow forever


async def test_ended_rows_are_pruned_after_a_week(database: Database) -> None:
    clock = ManualClock(MONDAY_9)
    old, recent = MONDAY_9 - timedelta(days=8), MONDAY_9 - timedelta(days=1)
    async with database.session() as session:
        session.add(_user(1))
        await session.flush()
        for number, (status, done_at) in enumerate(
            [(status, at) for status in ("sent", "expired", "cancelled", "failed")
             for at in (old, recent)] + [("pending", None)]
        ):
            session.add(DueMessage(user_id=1, kind="reminder", key=f"k{number}",
                                   due_at=MONDAY_9 + timedelta(days=1), status=status,
                                   done_at=done_at, payload={}, attempts=1))
    services = Services(*_services_args(database, clock))
    dispatcher = Dispatcher(database, RecordingSender(clock=clock), clock, make_jobs(services),
                            on_blocked=unsubscribe)
    await dispatcher.tick()
    async with database.session() as session:
        left = (await session.execute(select(DueMessage.status, DueMessage.done_at))).all()
    assert sorted(status for status, _at in left) == \
        ["cancelled", "expired", "failed", "pending", "sent"]
    assert all(at is None or at == recent for _status, at in left)
