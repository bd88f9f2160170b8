"""/progress, /export, /stats and the weekly summary against real migrated databases.

Every command goes through the real Application, router and route table in-process
(`tests.conftest.in_process` and `Chat`), on SQLite and PostgreSQL alike (fixture
`database_url`). A manual clock stands in for time; a recording sender stands in for
Telegram in the dispatcher that sends the weekly summary.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from typing import Any
from zoneinfo import ZoneInfo

from pypdf import PdfReader
from sqlalchemy import func, select, text

from bot.domain.clock import ManualClock
from bot.domain.progress import build_progress, daily_series
from bot.domain.replies import Reply
from bot.outbox.dispatcher import Dispatcher
from bot.storage import records
from bot.storage.db import Database
from bot.storage.models import Assessment, Base, Break, DueMessage, Rating, User
from handlers import account, planning, progress
from handlers.jobs import make_jobs
from handlers.turn import Services, Turn
from tests.conftest import Chat, Seen, Shown, in_process, text_of
from tests.simulate import live_until

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


@asynccontextmanager
async def talking(url: str, clock: ManualClock, user_id: int = 1001,
                  **settings: Any) -> AsyncIterator[Chat]:
    """`user_id`'s chat with the real bot in-process over `url`."""
    async with in_process(url, clock, **settings) as (application, request, services):
        yield Chat(application, request, services.database, user_id)


def services_of(chat: Chat) -> Services:
    services: Services = chat.application.bot_data["services"]
    return services


async def replan(chat: Chat, user_id: int = 1001) -> None:
    """Plans the next reminder and the week's summary of a seeded user, as every flow that
    changes their schedule does (handlers.planning.replan), in one transaction."""
    services = services_of(chat)
    async with chat.database.session() as session:
        user = await session.get(User, user_id)
        assert user is not None
        await planning.replan(Turn(session, services, user, services.clock()))


def as_seen(seen: Seen) -> list[Shown]:
    """What the user saw, without the message ids (they differ between two answers)."""
    return [dataclasses.replace(shown, message_id=None) for shown in seen.replies]


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


# ------------------------------------------------------------------------------------------
# /progress and /export


async def test_progress_aggregates_the_stored_ratings_in_the_users_zone(
    database_url: str,
) -> None:
    now = local(1, 10, month=12)  # Tuesday 1 December, 10:00 in New York
    async with talking(database_url, ManualClock(now)) as chat:
        await seed_history(chat.database)
        async with chat.database.session() as session:
            stored = (await session.execute(
                select(Rating.rated_at, Rating.pain, Rating.stiffness)
                .where(Rating.kind == "break"))).all()
            ratings, breaks = await records.load_records(session, 1001)
        by_day: dict[date, list[tuple[int, int]]] = defaultdict(list)
        for at, pain, stiffness in stored:
            by_day[at.astimezone(NEW_YORK).date()].append((pain, stiffness))
        series = daily_series(ratings, breaks, "America/New_York", now)
        assert {d.day: (d.pain, d.stiffness) for d in series.days if d.ratings} == {
            day: (fmean(p for p, _s in v), fmean(s for _p, s in v)) for day, v in by_day.items()}
        assert date(2026, 11, 25) in by_day  # 23:30 local, although 04:34 UTC on the 26th

        (reply,) = (await chat.command("progress")).replies
        assert reply.photo is not None and reply.photo.startswith(b"\x89PNG")
        assert reply.filename == "progress.png" and len(reply.text) <= 1024
        # Mon 30 Nov done (twice), the week before Mon 23 .. Wed 25, Thu 26 skipped.
        # The week of 23 Nov: 3 of 5 planned done, so it counts; this week is not over.
        assert "Weekly streak: 1 week with most planned breaks done." in reply.text
        # Monday's two reminders, and Tuesday's four (the first falls just after 10:00 with
        # this user's stagger) to Friday's still to come.
        figures = build_progress(ratings, breaks, planning.preferences(new_user(1001)), now)
        assert (figures.sent_this_week, figures.to_come_this_week) == (2, 4 * 4)
        assert "This week: 2 of the 2 planned breaks so far done, 16 still to come." \
            in reply.text
        # Latest 7 rated days (24 Nov .. 30 Nov): pain 15/4, stiffness 20/4.
        assert "Pain 3.8 (baseline 6, −2.2): a meaningful drop." in reply.text
        assert "Stiffness 5 (baseline 7, −2): a meaningful drop." in reply.text


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


async def test_export_sends_every_record_with_local_times(database_url: str) -> None:
    async with talking(database_url, ManualClock(local(1, 10, month=12))) as chat:
        await seed_history(chat.database)
        await seed_history(chat.database, user_id=2002)  # someone else's: never exported
        (reply,) = (await chat.command("export")).replies
        assert reply.document is not None and reply.filename is not None
        assert reply.filename == "move-better-history-2026-12-01.csv"
        assert "Breaks: 7. Self-checks: 2." in reply.text
        assert reply.document.decode().splitlines()[0] == ",".join(progress.COLUMNS)
        rows = read_csv(reply.document)
        assert [r["record"] for r in rows].count("break") == 7
        async with chat.database.session() as session:
            breaks = list(await session.scalars(select(Break).where(Break.user_id == 1001)
                                                .order_by(Break.planned_at)))
            rated = {r.break_id: r for r in await session.scalars(select(Rating))}
        exported = [r for r in rows if r["record"] == "break"]
        for row, brk in zip(exported, breaks, strict=True):
            assert datetime.fromisoformat(row["time"]) == brk.planned_at
            assert row["time"].endswith("-05:00")  # New York in winter
            assert (row["status"], row["break_kind"], row["positions"]) == (
                brk.status, brk.kind, " ".join(brk.positions))
            assert row["position_names"] == "Half-kneeling 90-90 / Side bend (lateral flexion)"
            rating = rated.get(brk.id)
            assert (row["pain"], row["stiffness"]) == (
                (str(rating.pain), str(rating.stiffness)) if rating else ("", ""))
        baseline = next(r for r in rows if r["record"] == "baseline")
        assert (baseline["pain"], baseline["stiffness"]) == ("6", "7")
        checks = [r for r in rows if r["record"] == "assessment"]
        assert [(c["status"], c["answers"]) for c in checks] == [
            ("completed", "Is sitting in 90-90 comfortable for you? Hard to hold / Can you "
                          "draw one knee toward your chest while your head and tailbone stay "
                          "down? Yes, easily"), ("unfinished", "")]
        assert [datetime.fromisoformat(r["time"]) for r in rows] == sorted(
            datetime.fromisoformat(r["time"]) for r in rows)


async def test_report_progress_all_and_the_place_a_break_was_taken(database_url: str) -> None:
    async with talking(database_url, ManualClock(local(1, 10, month=12))) as chat:
        await seed_history(chat.database)
        await seed_history(chat.database, user_id=2002)
        (named,) = (await chat.command("report", "Bea, please")).replies
        assert named.document is not None
        assert named.filename == "move-better-report-2026-12-01.pdf"
        reader = PdfReader(io.BytesIO(named.document))
        assert len(reader.pages) == 1
        page = " ".join(reader.pages[0].extract_text().split())
        assert "Name: Bea " in page and "pain 6, stiffness 7" in page
        # The latest week of ratings, 24 to 30 November: pain 15/4, stiffness 20/4.
        assert "pain 3.8 (−2.2), stiffness 5 (−2)" in page
        assert "Hard to hold" in page and "Yes, easily" in page
        # Without a typed name, the first name Telegram gives with the command.
        (plain,) = (await chat.command("report")).replies
        assert plain.document is not None
        assert "Name: Ana " in PdfReader(io.BytesIO(plain.document)).pages[0].extract_text()

        (everything,) = (await chat.command("progress", "all")).replies
        assert everything.photo is not None and "/progress all" not in everything.text
        (unknown,) = (await chat.command("progress", "yesterday")).replies
        assert unknown.photo is None and "/progress all shows everything" in unknown.text

        # A break switched to the band version is exported with the place it was taken in.
        first = await chat.command("stretch")
        band = next(key.data for reply in first.replies for row in reply.buttons
                    for key in row if "band version" in key.label)
        await chat.press(band)
        (export,) = (await chat.command("export")).replies
        assert export.document is not None
        latest = [r for r in read_csv(export.document) if r["record"] == "break"][-1]
        assert (latest["break_kind"], latest["place"]) == ("stretch", "band")


async def test_erasing_a_user_leaves_no_row_about_them_in_any_table(database_url: str) -> None:
    async with talking(database_url, ManualClock(local(1, 10, month=12))) as chat:
        await seed_history(chat.database)
        await seed_history(chat.database, user_id=2002)
        await replan(chat)  # plans a reminder and a summary
        async with chat.database.session() as session:
            assert await session.scalar(select(func.count()).where(
                DueMessage.kind == planning.SUMMARY_KIND, DueMessage.user_id == 1001)) == 1
        assert "Are you sure?" in text_of(await chat.command("delete"))
        erased = await chat.press("del:yes")
        assert text_of(erased).startswith("Done: everything about you is erased.")
        async with chat.database.session() as session:
            for table in Base.metadata.tables.values():
                columns = [c.name for c in table.columns if c.name in ("user_id", "chat_id")]
                if table.name == "users":
                    columns = ["id", "chat_id"]
                for column in columns:
                    left = await session.scalar(text(
                        f"select count(*) from {table.name} where {column} = 1001"))
                    assert left == 0, table.name
            assert await session.get(User, 2002) is not None


# ------------------------------------------------------------------------------------------
# /stats


async def test_stats_counts_and_mean_change_on_both_databases(database_url: str) -> None:
    now = local(1, 10, month=12)
    # The operator is user 11, one of the users counted.
    async with talking(database_url, ManualClock(now), 11, admin_user_ids="11") as chat:
        async with chat.database.session() as session:
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
        async with chat.database.session() as session:
            users_rated, pain_change, stiffness_change = await records.mean_change(session, now)
        (reply,) = (await chat.command("stats")).replies
    # 11: pain 3-6 = -3, stiffness 4-6 = -2; 12: pain 5-4 = +1, stiffness 4-5 = -1.
    assert (users_rated, pain_change, stiffness_change) == (2, -1.0, -1.5)
    report = reply.text
    lines = report.splitlines()
    assert lines[0] == "Usage, over all users (last 7 days / last 30 days):"
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


async def test_stats_for_anyone_else_is_an_unknown_command(database_url: str) -> None:
    clock = ManualClock(local(1, 10, month=12))
    async with talking(database_url, clock, admin_user_ids="1001") as chat:
        async with chat.database.session() as session:
            session.add(new_user(1001))
            session.add(new_user(1002, consented_at=None, onboarded_at=None))
        admin = await chat.command("stats")
        assert admin.replies[0].text.startswith("Usage, over all users")
    async with talking(database_url, clock, admin_user_ids="7") as chat:
        # Set up, but no operator: what any unknown command gets.
        stats, unknown = await chat.command("stats"), await chat.command("nosuchcommand")
        assert as_seen(stats) == as_seen(unknown)
        assert text_of(stats) == "I don't know that command. /help lists what I can do."
        # Not yet agreed to the welcome note: asked to agree first, like any unknown command.
        stranger = chat.other(1002)
        stats, unknown = await stranger.command("stats"), await stranger.command("nosuchcommand")
        assert as_seen(stats) == as_seen(unknown)
        assert text_of(stats) == ("Before we start, please read the note above and agree, or "
                                  "send /start to see it again.")
        assert (await stranger.user()).consented_at is None


# ------------------------------------------------------------------------------------------
# The weekly summary


@dataclass
class Week:
    chat: Chat
    clock: ManualClock
    sender: RecordingSender
    dispatcher: Dispatcher

    @property
    def database(self) -> Database:
        return self.chat.database

    async def live_until(self, end: datetime) -> None:
        await live_until(self.dispatcher, self.clock, end)

    def summaries(self) -> list[tuple[Reply, datetime]]:
        return [(reply, at) for _chat, reply, at in self.sender.sent
                if reply.text.startswith("Your week")]

    async def summary_rows(self) -> list[tuple[str, str, datetime]]:
        async with self.database.session() as session:
            return [(row.key, row.status, row.due_at) for row in await session.scalars(
                select(DueMessage).where(DueMessage.kind == planning.SUMMARY_KIND)
                .order_by(DueMessage.due_at))]


@asynccontextmanager
async def a_week(url: str, **user: Any) -> AsyncIterator[Week]:
    """User 1001, set up with a baseline and planned on Monday morning, the bot running
    in-process and a dispatcher sending what falls due."""
    clock = ManualClock(MONDAY)
    sender = RecordingSender(clock)
    async with talking(url, clock, studio_name="Hip Studio") as chat:
        dispatcher = Dispatcher(chat.database, sender, clock, make_jobs(services_of(chat)),
                                on_blocked=account.unsubscribe, worker="test")
        async with chat.database.session() as session:
            session.add(new_user(1001, **user))
            await session.flush()
            session.add(Rating(user_id=1001, kind="baseline", rated_at=local(23, 9), pain=6,
                               stiffness=6))
        await replan(chat)
        yield Week(chat, clock, sender, dispatcher)


async def test_the_summary_comes_after_the_last_work_day_and_plans_the_next(
    database_url: str,
) -> None:
    async with a_week(database_url) as week:
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
        # The /stretch break was not planned; of the 20 reminders, the fourth asked whether
        # the plan fits (once a week) instead, and the others went unanswered.
        assert "Planned breaks: 19, of which 0 done, 0 partly, 0 skipped, 19 missed." \
            in reply.text
        assert "On demand (/stretch, /routine): 1." in reply.text
        # One day of ratings: a large change, but not yet held over a week.
        assert "Pain 3 (baseline 6, −3): a promising start" in reply.text
        assert "Stiffness 5 (baseline 6, −1): a trend, not a result yet." in reply.text
        assert reply.text.endswith("Hip Studio")
        assert [(key, status) for key, status, _at in await week.summary_rows()] == [
            ("summary:2026-11-30", "sent"), ("summary:2026-12-07", "pending")]


async def test_no_summary_while_paused_nor_for_an_empty_week(database_url: str) -> None:
    # Paused through the week's end: skipped, and next week's is planned.
    async with a_week(database_url, paused_until=local(5, 9, month=12)) as week:
        await week.live_until(local(5, 12, month=12))
        assert week.summaries() == []
        rows = await week.summary_rows()
        assert [(key, status) for key, status, _at in rows[:2]] == [
            ("summary:2026-11-30", "cancelled"), ("summary:2026-12-07", "pending")]
        # Paused all week, but the pause ends before the summary: nothing planned or done.
        # (No /pause choice ends at 17:10 on a Friday: the pause is stored, then planned.)
        async with week.database.session() as session:
            user = await session.get(User, 1001)
            assert user is not None
            user.paused_until = local(11, 17, 10, month=12)
        await replan(week.chat)
        await week.live_until(local(12, 12, month=12))
        assert week.summaries() == []
        assert [status for key, status, _at in await week.summary_rows()
                if key == "summary:2026-12-07"] == ["cancelled"]


async def test_changing_work_days_moves_the_summary(database_url: str) -> None:
    async with a_week(database_url) as week:
        chat = week.chat
        # /settings → Work days → switch on Saturday and Sunday → Done.
        await chat.command("settings")
        await chat.press("set:edit:days")
        await chat.press("set:day:5")
        await chat.press("set:day:6")
        done = await chat.press("set:days:ok")
        assert "Work days:" in text_of(done)
        assert (await chat.user()).work_days == 0b1111111
        assert await week.summary_rows() == [
            ("summary:2026-11-30", "pending", local(6, 17, 30, month=12))]
        stopped = await chat.command("stop")
        assert text_of(stopped).startswith("You're unsubscribed: no more reminders.")
        assert await week.summary_rows() == []  # unsubscribed: none planned
