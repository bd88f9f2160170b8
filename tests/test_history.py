"""/progress, /export, /stats and the weekly summary against real migrated databases.

The /stats SQL runs on SQLite and PostgreSQL (fixture `database`); the rest on SQLite. A
manual clock and a recording sender stand in for time and Telegram.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from bot.config import load_settings
from bot.domain.clock import ManualClock
from bot.domain.content import load_program
from bot.domain.progress import build_progress, daily_series
from bot.domain.replies import Answer, Reply
from bot.outbox.dispatcher import Dispatcher
from bot.storage import users
from bot.storage.db import Database
from bot.storage.models import Assessment, Base, Break, DueMessage, Rating, User
from handlers import account, progress, reminders, summary
from handlers.jobs import make_jobs
from handlers.turn import Services, Turn
from tests.simulate import live_until

TOKEN = "123456789:" + "A" * 35
NEW_YORK = ZoneInfo("America/New_York")
# Monday 30 November 2026, 00:00 in New York.
MONDAY = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """A New York wall-clock time in late 2026, as UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


@dataclass
class RecordingSender:
    clock: ManualClock
    sent: list[tuple[int, Reply, datetime]] = field(default_factory=list)

    async def send(self, chat_id: int, reply: Reply) -> int:
        self.sent.append((chat_id, reply, self.clock()))
        return len(self.sent)

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        return None


def services(database: Database, clock: ManualClock, **settings: Any) -> Services:
    return Services(load_settings(telegram_bot_token=TOKEN, database_url=database.url,
                                  _env_file=None, **settings), database, clock, load_program())


def new_user(user_id: int, **changes: Any) -> User:
    values: dict[str, Any] = dict(
        id=user_id, chat_id=user_id, language="en", created_at=local(1, 9),
        consented_at=local(1, 9), onboarded_at=local(1, 9), active=True, draft={},
        time_zone="America/New_York", work_days=0b0011111, work_start=time(9),
        work_end=time(17), breaks_per_day=4, place="desk", rotation=0)
    values.update(changes)
    return User(**values)


def new_break(user_id: int, at: datetime, status: str = "done", kind: str = "reminder",
              message_id: int | None = 1) -> Break:
    return Break(user_id=user_id, kind=kind, status=status, planned_at=at, started_at=at,
                 ended_at=at + timedelta(minutes=4), place="desk",
                 positions=["fh_9090", "fh_side"],
                 positions_done=["fh_9090", "fh_side"] if status == "done" else [],
                 position_index=0, attempt=0, snoozes=0, stopped_for_pain=False,
                 message_id=message_id)


async def seed_history(database: Database, user_id: int = 1001) -> None:
    """A baseline, a week of rated breaks (one at 23:30 local, the next day in UTC), a
    skipped and a missed break, and two self-checks."""
    async with database.session() as session:
        session.add(new_user(user_id))
        await session.flush()
        session.add(Rating(user_id=user_id, kind="baseline", rated_at=local(23, 9), pain=6,
                           stiffness=7))
        for day, hour, minute, pain, stiffness in ((23, 10, 0, 5, 6), (24, 11, 0, 4, 6),
                                                   (25, 23, 30, 4, 5), (30, 10, 0, 3, 5),
                                                   (30, 14, 0, 4, 4)):
            brk = new_break(user_id, local(day, hour, minute))
            session.add(brk)
            await session.flush()
            session.add(Rating(user_id=user_id, break_id=brk.id, kind="break",
                               rated_at=brk.ended_at, pain=pain, stiffness=stiffness))
        session.add(new_break(user_id, local(26, 10), "skipped"))
        session.add(new_break(user_id, local(27, 10), "missed"))
        session.add(Assessment(user_id=user_id, taken_at=local(23, 9, 5), completed=True,
                               answers={"sit_90_90": "hard", "knee_chest": "easy"}))
        session.add(Assessment(user_id=user_id, taken_at=local(30, 9, 5), completed=False,
                               answers={}))


async def run(database: Database, clock: ManualClock, action: Any, user_id: int = 1001,
              **settings: Any) -> Answer:
    async with database.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        answer: Answer = await action(Turn(session, services(database, clock, **settings),
                                           user, clock()))
        return answer


# ------------------------------------------------------------------------------------------
# /progress and /export


async def test_progress_aggregates_the_stored_ratings_in_the_users_zone(
    sqlite_url: str,
) -> None:
    database = Database(sqlite_url)
    try:
        await seed_history(database)
        now = local(1, 10, month=12)  # Tuesday 1 December, 10:00 in New York
        async with database.session() as session:
            stored = (await session.execute(
                select(Rating.rated_at, Rating.pain, Rating.stiffness)
                .where(Rating.kind == "break"))).all()
            ratings, breaks = await history.load_records(session, 1001)
        by_day: dict[date, list[tuple[int, int]]] = defaultdict(list)
        for at, pain, stiffness in stored:
            by_day[at.astimezone(NEW_YORK).date()].append((pain, stiffness))
        series = daily_series(ratings, breaks, "America/New_York", now)
        assert {d.day: (d.pain, d.stiffness) for d in series.days if d.ratings} == {
            day: (fmean(p for p, _s in v), fmean(s for _p, s in v)) for day, v in by_day.items()}
        assert date(2026, 11, 25) in by_day  # 23:30 local, although 04:34 UTC on the 26th

        answer = await run(database, ManualClock(now), history.progress)
        (reply,) = answer.replies
        assert reply.photo is not None and reply.photo.startswith(b"\x89PNG")
        assert reply.filename == "progress.png" and len(reply.text) <= 1024
        # Mon 30 Nov done (twice), the week before Mon 23 .. Wed 25, Thu 26 skipped.
        assert "Streak: 1 work day" in reply.text
        # Monday's two reminders, and Tuesday's four (the first falls just after 10:00 with
        # this user's stagger) to Friday's still to come.
        figures = build_progress(ratings, breaks, reminders.preferences(new_user(1001)), now)
        assert figures.planned_this_week == 2 + 4 * 4
        assert "This week: 2 of 18 planned breaks done." in reply.text
        # Latest 7 rated days (24 Nov .. 30 Nov): pain 15/4, stiffness 20/4.
        assert "Pain 3.8 (baseline 6, −2.2): a meaningful drop." in reply.text
        assert "Stiffness 5 (baseline 7, −2): a meaningful drop." in reply.text
    finally:
        await database.close()


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


async def test_export_sends_every_record_with_local_times(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        await seed_history(database)
        await seed_history(database, user_id=2002)  # someone else's: never exported
        answer = await run(database, ManualClock(local(1, 10, month=12)), history.export)
        (reply,) = answer.replies
        assert reply.document is not None and reply.filename is not None
        assert reply.filename.endswith(".csv") and "7 breaks, 2 self-checks" in reply.text
        assert reply.document.decode().splitlines()[0] == ",".join(history.COLUMNS)
        rows = read_csv(reply.document)
        assert [r["record"] for r in rows].count("break") == 7
        async with database.session() as session:
            breaks = list(await session.scalars(select(Break).where(Break.user_id == 1001)
                                                .order_by(Break.planned_at)))
            rated = {r.break_id: r for r in await session.scalars(select(Rating))}
        exported = [r for r in rows if r["record"] == "break"]
        for row, brk in zip(exported, breaks, strict=True):
            assert datetime.fromisoformat(row["time"]) == brk.planned_at
            assert row["time"].endswith("-05:00")  # New York in winter
            assert (row["status"], row["break_kind"], row["positions"]) == (
                brk.status, brk.kind, " ".join(brk.positions))
            rating = rated.get(brk.id)
            assert (row["pain"], row["stiffness"]) == (
                (str(rating.pain), str(rating.stiffness)) if rating else ("", ""))
        baseline = next(r for r in rows if r["record"] == "baseline")
        assert (baseline["pain"], baseline["stiffness"]) == ("6", "7")
        checks = [r for r in rows if r["record"] == "assessment"]
        assert [(c["status"], c["answers"]) for c in checks] == [
            ("completed", "knee_chest=easy sit_90_90=hard"), ("unfinished", "")]
        assert [datetime.fromisoformat(r["time"]) for r in rows] == sorted(
            datetime.fromisoformat(r["time"]) for r in rows)
    finally:
        await database.close()


async def test_erasing_a_user_leaves_no_row_about_them_in_any_table(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        await seed_history(database)
        await seed_history(database, user_id=2002)
        clock = ManualClock(local(1, 10, month=12))
        await run(database, clock, reminders.reschedule)  # plans a reminder and a summary
        async with database.session() as session:
            assert await session.scalar(select(func.count()).where(
                DueMessage.kind == summary.SUMMARY_KIND, DueMessage.user_id == 1001)) == 1
            await users.erase(session, 1001)
        async with database.session() as session:
            for table in Base.metadata.tables.values():
                columns = [c.name for c in table.columns if c.name in ("user_id", "chat_id")]
                if table.name == "users":
                    columns = ["id", "chat_id"]
                for column in columns:
                    left = await session.scalar(text(
                        f"select count(*) from {table.name} where {column} = 1001"))
                    assert left == 0, table.name
            assert await session.get(User, 2002) is not None
    finally:
        await database.close()


# ------------------------------------------------------------------------------------------
# /stats


async def test_stats_counts_and_mean_change_on_both_databases(database: Database) -> None:
    now = local(1, 10, month=12)
    async with database.session() as session:
        for user_id in (11, 12, 13):
            session.add(new_user(user_id, created_at=now - timedelta(days=40)))
        session.add(new_user(14, active=False))
        await session.flush()
        for user_id, baseline in ((11, (6, 6)), (12, (4, 5)), (13, (5, 5)), (14, (5, 5))):
            session.add(Rating(user_id=user_id, kind="baseline",
                               rated_at=now - timedelta(days=40), pain=baseline[0],
                               stiffness=baseline[1]))
        # 11 and 12 have rated for three weeks; 13 only for three days.
        for user_id, old, new in ((11, (5, 6), (3, 4)), (12, (4, 4), (5, 4)),
                                  (13, (1, 1), (1, 1))):
            first = 21 if user_id != 13 else 3
            for days_ago, (pain, stiffness) in ((first, old), (2, new)):
                brk = new_break(user_id, now - timedelta(days=days_ago))
                session.add(brk)
                await session.flush()
                session.add(Rating(user_id=user_id, break_id=brk.id, kind="break",
                                   rated_at=brk.planned_at, pain=pain, stiffness=stiffness))
        for days_ago, status in ((1, "skipped"), (5, "missed"), (10, "missed"),
                                 (20, "partial"), (40, "done")):
            session.add(new_break(13, now - timedelta(days=days_ago), status))
        session.add(new_break(13, now - timedelta(days=1), "missed", message_id=None))
    async with database.session() as session:
        users_rated, pain_change, stiffness_change = await history.mean_change(session, now)
        report = await history.usage_stats(session, now, "en")
    # 11: pain 3-6 = -3, stiffness 4-6 = -2; 12: pain 5-4 = +1, stiffness 4-5 = -1.
    assert (users_rated, pain_change, stiffness_change) == (2, -1.0, -1.5)
    lines = report.splitlines()
    assert "Users: 4 registered, 3 set up and subscribed." in lines
    assert "Active users (a break done or partly done): 3 / 3" in lines
    # Sent = reminder breaks with a message: all but the one never delivered.
    assert "Reminders sent: 6 / 10" in lines
    assert "Breaks done: 4 / 6" in lines
    assert "Partly done: 0 / 1" in lines
    assert "Skipped: 1 / 1" in lines and "Missed: 2 / 3" in lines
    assert any("over the 2 users" in line and "pain −1.0, stiffness −1.5" in line
               for line in lines)
    for user_id in (11, 12, 13, 14):
        assert f"{user_id}" not in report.replace("2 users", "")


async def test_stats_for_anyone_else_is_an_unknown_command(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        async with database.session() as session:
            session.add(new_user(1001))
            session.add(new_user(1002, consented_at=None, onboarded_at=None))
        clock = ManualClock(local(1, 10, month=12))
        admin = await run(database, clock, history.stats, admin_user_ids="1001")
        assert admin.replies[0].text.startswith("Usage, over all users")
        for user_id, same_as in ((1001, account.unknown_command), (1002, account.consent_first)):
            answer = await run(database, clock, history.stats, user_id, admin_user_ids="7")
            assert answer == await run(database, clock, same_as, user_id)
    finally:
        await database.close()


# ------------------------------------------------------------------------------------------
# The weekly summary


@dataclass
class Week:
    database: Database
    clock: ManualClock
    sender: RecordingSender
    dispatcher: Dispatcher

    async def live_until(self, end: datetime) -> None:
        await live_until(self.dispatcher, self.clock, end)

    def summaries(self) -> list[tuple[Reply, datetime]]:
        return [(reply, at) for _chat, reply, at in self.sender.sent
                if reply.text.startswith("Your week")]

    async def summary_rows(self) -> list[tuple[str, str, datetime]]:
        async with self.database.session() as session:
            return [(row.key, row.status, row.due_at) for row in await session.scalars(
                select(DueMessage).where(DueMessage.kind == summary.SUMMARY_KIND)
                .order_by(DueMessage.due_at))]


async def a_week(url: str, **user: Any) -> Week:
    database = Database(url)
    clock = ManualClock(MONDAY)
    sender = RecordingSender(clock)
    dispatcher = Dispatcher(database, sender, clock,
                            make_jobs(services(database, clock, studio_name="Hip Studio")),
                            on_blocked=users.deactivate, worker="test")
    async with database.session() as session:
        session.add(new_user(1001, **user))
        await session.flush()
        session.add(Rating(user_id=1001, kind="baseline", rated_at=local(23, 9), pain=6,
                           stiffness=6))
    await run(database, clock, reminders.reschedule)
    return Week(database, clock, sender, dispatcher)


async def test_the_summary_comes_after_the_last_work_day_and_plans_the_next(
    sqlite_url: str,
) -> None:
    week = await a_week(sqlite_url)
    try:
        friday_evening = local(4, 17, 30, month=12)
        assert await week.summary_rows() == [
            ("summary:2026-11-30", "pending", friday_evening)]
        # One break done and rated on Wednesday; every reminder is left unanswered.
        async with week.database.session() as session:
            brk = new_break(1001, local(2, 12, month=12), kind="stretch")
            session.add(brk)
            await session.flush()
            session.add(Rating(user_id=1001, break_id=brk.id, kind="break",
                               rated_at=brk.planned_at, pain=3, stiffness=5))
        await week.live_until(friday_evening - timedelta(minutes=1))
        assert week.summaries() == []
        await week.live_until(friday_evening + timedelta(minutes=1))
        ((reply, at),) = week.summaries()
        assert at == friday_evening
        # The /stretch break was not planned; all 20 reminders went unanswered.
        assert "Breaks: 1 of 20 planned done, 0 partly, 0 skipped, 20 missed." in reply.text
        assert "Pain 3 (baseline 6, −3): a meaningful drop." in reply.text
        assert "Stiffness 5 (baseline 6, −1): a trend, not a result yet." in reply.text
        assert reply.text.endswith("Hip Studio")
        assert [(key, status) for key, status, _at in await week.summary_rows()] == [
            ("summary:2026-11-30", "sent"), ("summary:2026-12-07", "pending")]
    finally:
        await week.database.close()


async def test_no_summary_while_paused_nor_for_an_empty_week(sqlite_url: str) -> None:
    # Paused through the week's end: skipped, and next week's is planned.
    week = await a_week(sqlite_url, paused_until=local(5, 9, month=12))
    try:
        await week.live_until(local(5, 12, month=12))
        assert week.summaries() == []
        rows = await week.summary_rows()
        assert [(key, status) for key, status, _at in rows[:2]] == [
            ("summary:2026-11-30", "cancelled"), ("summary:2026-12-07", "pending")]
        # Paused all week, but the pause ends before the summary: nothing planned or done.
        async with week.database.session() as session:
            user = await session.get(User, 1001)
            assert user is not None
            user.paused_until = local(11, 17, 10, month=12)
        await run(week.database, week.clock, reminders.reschedule)
        await week.live_until(local(12, 12, month=12))
        assert week.summaries() == []
        assert [status for key, status, _at in await week.summary_rows()
                if key == "summary:2026-12-07"] == ["cancelled"]
    finally:
        await week.database.close()


async def test_changing_work_days_moves_the_summary(sqlite_url: str) -> None:
    week = await a_week(sqlite_url)
    try:
        async with week.database.session() as session:
            user = await session.get(User, 1001)
            assert user is not None
            user.work_days = 0b1111111  # Saturday and Sunday too
        await run(week.database, week.clock, reminders.reschedule)
        assert await week.summary_rows() == [
            ("summary:2026-11-30", "pending", local(6, 17, 30, month=12))]
        await run(week.database, week.clock, account.stop)
        assert await week.summary_rows() == []  # unsubscribed: none planned
    finally:
        await week.database.close()
