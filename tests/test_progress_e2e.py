"""/progress, /export, /delete, /stats and the weekly summary end to end: the real
`python -m bot` against the Bot API stand-in.

The bot's SQLite file is seeded before it starts: Ana (1001, New York) with a baseline, a
week of rated breaks and a self-check; Ben (1002) with the same history, which must never
leak into Ana's answers nor be erased with hers. The clock starts on Tuesday 1 December
2026 at 10:00 in New York.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import Assessment, Base, Break, Rating, User
from handlers.planning import plan_next, plan_summary
from standin import BotAPIStandIn, ChatMessage, SimulatedUser
from tests.simulate import as_utc
from tests.test_reminders_e2e import eventually

pytestmark = pytest.mark.e2e

NEW_YORK = ZoneInfo("America/New_York")
ANA, BEN = 1001, 1002


def local(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NEW_YORK).astimezone(UTC)


TUESDAY_10 = local(1, 10, month=12)


async def seed(tmp_path: Path, plan_summary_after: datetime | None = None) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.session() as session:
            for user_id in (ANA, BEN):
                user = User(id=user_id, chat_id=user_id, language="en",
                            created_at=local(20, 9), consented_at=local(20, 9),
                            onboarded_at=local(20, 9), active=True, draft={},
                            time_zone="America/New_York", work_days=0b0011111,
                            work_start=time(9), work_end=time(17), breaks_per_day=4,
                            place="desk", rotation=0)
                session.add(user)
                await session.flush()
                session.add(Rating(user_id=user_id, kind="baseline", rated_at=local(20, 9),
                                   pain=6, stiffness=7))
                # Rated breaks; 25 Nov at 23:30 in New York is already the 26th in UTC.
                for day, hour, minute, pain, stiffness in (
                        (23, 10, 0, 5, 6), (24, 11, 0, 4, 6), (25, 23, 30, 4, 5),
                        (30, 10, 0, 3, 5), (30, 14, 0, 4, 4)):
                    at = local(day, hour, minute)
                    brk = Break(user_id=user_id, kind="reminder", status="done",
                                planned_at=at, started_at=at,
                                ended_at=at + timedelta(minutes=3), place="desk",
                                positions=["fh_9090"], positions_done=["fh_9090"],
                                message_id=1)
                    session.add(brk)
                    await session.flush()
                    session.add(Rating(user_id=user_id, break_id=brk.id, kind="break",
                                       rated_at=brk.ended_at, pain=pain, stiffness=stiffness))
                session.add(Break(user_id=user_id, kind="reminder", status="skipped",
                                  planned_at=local(26, 12), place="desk", positions=[],
                                  positions_done=[], message_id=2))
                session.add(Assessment(user_id=user_id, taken_at=local(20, 9, 5),
                                       completed=True,
                                       answers={"sit_90_90": "hard", "knee_chest": "easy",
                                                "int_rot": "painful"}))
                if plan_summary_after is not None:
                    await plan_summary(session, user, plan_summary_after)
    finally:
        await database.close()
    return url


async def start(run_bot: Any, url: str, clock_start: datetime = TUESDAY_10,
                speed: float = 1.0, **env: str) -> Any:
    return await run_bot(database_url=url, clock_start=clock_start, clock_speed=speed, **env)


async def answer_to(user: SimulatedUser, command: str) -> ChatMessage:
    await user.command(command)
    return await user.next_message(timeout=20)


async def test_progress_sends_a_chart_and_the_right_figures(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(ANA, first_name="Ana")
    await start(run_bot, url)
    message = await answer_to(ana, "/progress")
    assert message.photo is not None, message
    image = Image.open(io.BytesIO(message.photo))
    image.load()
    assert image.format == "PNG" and image.size == (900, 560)
    caption = message.caption or ""
    # The week of 23 November: 3 of its 4 reminders done; this week is not over yet.
    assert "Weekly streak: 1 week with most planned breaks done." in caption
    assert "This week: 2 of the 2 planned breaks so far done, 16 still to come." in caption
    # The latest 7 rated days, 24 to 30 November: pain 15/4, stiffness 20/4.
    assert "Pain 3.8 (baseline 6, −2.2): a meaningful drop." in caption
    assert "Stiffness 5 (baseline 7, −2): a meaningful drop." in caption


async def seed_day_one(tmp_path: Path) -> str:
    """Cleo (1003) finished setting up at 09:00 today (Tuesday 1 December), gave her
    baseline, and did and rated her first break at 09:40; her next reminder is planned."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
    await asyncio.to_thread(upgrade, url)
    database = Database(url)
    try:
        async with database.session() as session:
            joined = local(1, 9, month=12)
            user = User(id=1003, chat_id=1003, language="en", created_at=joined,
                        consented_at=joined, onboarded_at=joined, active=True, draft={},
                        time_zone="America/New_York", work_days=0b0011111,
                        work_start=time(9), work_end=time(17), breaks_per_day=4,
                        place="desk", rotation=0)
            session.add(user)
            await session.flush()
            session.add(Rating(user_id=1003, kind="baseline", rated_at=joined, pain=5,
                               stiffness=6))
            at = local(1, 9, 40, month=12)
            brk = Break(user_id=1003, kind="stretch", status="done", planned_at=at,
                        started_at=at, ended_at=at + timedelta(minutes=3), place="desk",
                        positions=["fh_9090"], positions_done=["fh_9090"])
            session.add(brk)
            await session.flush()
            session.add(Rating(user_id=1003, break_id=brk.id, kind="break",
                               rated_at=brk.ended_at, pain=4, stiffness=6))
            await plan_next(session, user, TUESDAY_10)
    finally:
        await database.close()
    return url


async def test_day_one_progress_and_the_report_as_a_one_page_pdf(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed_day_one(tmp_path)
    cleo = standin.user(1003, first_name="Cleo")
    await start(run_bot, url, STUDIO_NAME="Hip Studio")
    message = await answer_to(cleo, "/progress")
    assert message.photo is not None, message
    assert Image.open(io.BytesIO(message.photo)).size == (900, 560)
    caption = message.caption or ""
    assert caption.startswith("Your first week")
    assert "This week: " in caption and "of 1" not in caption  # nothing reads as failing
    assert "Plus 1 on demand." in caption
    assert "Pain 4 (baseline 5, −1): a trend, not a result yet." in caption
    assert "Next planned break: today at " in caption

    report = await answer_to(cleo, "/report")
    assert report.document is not None and report.filename == \
        "move-better-report-2026-12-01.pdf", report
    reader = PdfReader(io.BytesIO(report.document))
    assert len(reader.pages) == 1
    page = " ".join(reader.pages[0].extract_text().split())
    assert "Name: Cleo" in page and "pain 5, stiffness 6" in page
    assert "pain 4 (−1), stiffness 6 (0)" in page and "Offered by Hip Studio." in page


async def test_export_sends_a_csv_whose_rows_are_the_database_rows(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana = standin.user(ANA, first_name="Ana")
    bot = await start(run_bot, url)
    message = await answer_to(ana, "/export")
    assert message.document is not None, message
    assert message.filename == "move-better-history-2026-12-01.csv"
    rows = list(csv.DictReader(io.StringIO(message.document.decode("utf-8"))))

    stored = await bot.query(
        "select b.planned_at, b.kind, b.status, b.positions, r.pain, r.stiffness "
        "from breaks b left join ratings r on r.break_id = b.id "
        "where b.user_id = :user order by b.planned_at", user=ANA)
    exported = [r for r in rows if r["record"] == "break"]
    assert len(exported) == len(stored) == 6
    for row, (planned_at, kind, status, positions, pain, stiffness) in zip(
            exported, stored, strict=True):
        assert datetime.fromisoformat(row["time"]) == as_utc(planned_at)
        assert datetime.fromisoformat(row["time"]).utcoffset() == timedelta(hours=-5)
        assert (row["break_kind"], row["status"]) == (kind, status)
        assert row["positions"] == " ".join(json_list(positions))
        assert (row["pain"], row["stiffness"]) == (
            "" if pain is None else str(pain), "" if stiffness is None else str(stiffness))
    (baseline,) = await bot.query("select rated_at, pain, stiffness from ratings "
                                  "where user_id = :user and kind = 'baseline'", user=ANA)
    (exported_baseline,) = [r for r in rows if r["record"] == "baseline"]
    assert (datetime.fromisoformat(exported_baseline["time"]), exported_baseline["pain"],
            exported_baseline["stiffness"]) == (as_utc(baseline[0]), str(baseline[1]),
                                                str(baseline[2]))
    (check,) = [r for r in rows if r["record"] == "assessment"]
    assert check["answers"] == (
        "Is sitting in 90-90 comfortable for you? Hard to hold / Can you draw one knee toward "
        "your chest while your head and tailbone stay down? Yes, easily / How does internal "
        "rotation of the hip feel? Painful")
    assert len(rows) == 8  # nothing of Ben's


def json_list(value: Any) -> list[str]:
    """A JSON column as read back with plain SQL."""
    return json.loads(value) if isinstance(value, str) else list(value)


def user_columns(table: Any) -> list[str]:
    """The columns of a table that name a user or their chat."""
    if table.name == "users":
        return ["id", "chat_id"]
    return [c.name for c in table.columns if c.name in ("user_id", "chat_id")]


async def test_delete_leaves_no_row_about_the_user_in_any_table(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path, plan_summary_after=TUESDAY_10)
    ana = standin.user(ANA, first_name="Ana")
    bot = await start(run_bot, url)
    assert await bot.query("select count(*) from due_messages where user_id = :u "
                           "and kind = 'summary'", u=ANA) == [(1,)]
    confirm = await answer_to(ana, "/delete")
    await ana.press_button(confirm, "Yes, erase everything")
    await ana.wait_until(lambda: "erased" in (confirm.text or ""), timeout=20)
    tables = Base.metadata.tables.values()
    # Every table either names its user, or holds nothing about anyone (listed here).
    assert {t.name for t in tables if not user_columns(t)} <= {
        "handled_updates", "groups", "picture_uploads"}
    for table in tables:
        for column in user_columns(table):
            assert await bot.query(f"select count(*) from {table.name} "
                                   f"where {column} = :u", u=ANA) == [(0,)], table.name
    assert await bot.query("select count(*) from breaks where user_id = :u", u=BEN) == [(6,)]
    welcome = await answer_to(ana, "/start")
    assert "not medical advice" in (welcome.text or "")
    again = await answer_to(ana, "/progress")
    assert "agree" in (again.text or "")  # from scratch: consent first


async def test_stats_answers_operators_and_tells_nobody_else_anything(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path)
    ana, ben, cleo = (standin.user(ANA, first_name="Ana"), standin.user(BEN, first_name="Ben"),
                      standin.user(1003, first_name="Cleo"))
    await start(run_bot, url, ADMIN_USER_IDS=str(ANA))
    report = (await answer_to(ana, "/stats")).text or ""
    assert "Users: 2 registered, 2 set up and subscribed." in report
    assert "Breaks done: 8 / 10" in report and "Skipped: 2 / 2" in report
    assert str(ANA) not in report and str(BEN) not in report
    for user in (ben, cleo):
        if user is cleo:
            await answer_to(cleo, "/start")  # registered, not yet agreed
        unknown = await answer_to(user, "/nosuchcommand")
        stats = await answer_to(user, "/stats")
        assert (stats.text, stats.buttons) == (unknown.text, unknown.buttons)
        assert "Usage" not in (stats.text or "")


async def test_the_weekly_summary_arrives_after_the_last_work_day(
    standin: BotAPIStandIn, run_bot: Any, tmp_path: Path
) -> None:
    url = await seed(tmp_path, plan_summary_after=TUESDAY_10)
    ana = standin.user(ANA, first_name="Ana")
    # Friday 4 December, 17:20 in New York; the summary is due at 17:30, 10 s at x60.
    bot = await start(run_bot, url, clock_start=local(4, 17, 20, month=12), speed=60.0)
    message = await ana.next_message(
        timeout=40, predicate=lambda m: (m.text or "").startswith("Your week"))
    text = message.text or ""
    # Two breaks done on Monday 30 November; no reminder went out after them, and the
    # counts add up to the planned figure.
    assert "Planned breaks: 2, of which 2 done, 0 partly, 0 skipped, 0 missed." in text
    assert "On demand" not in text
    assert "Pain 3.5 (baseline 6, −2.5): a meaningful drop." in text
    # Recorded as sent just after Telegram took it.
    await eventually(bot, f"select key, status from due_messages where user_id = {ANA} "
                     "and kind = 'summary' order by due_at",
                     [("summary:2026-11-30", "sent"), ("summary:2026-12-07", "pending")])
    following = await bot.query("select due_at from due_messages where user_id = :u and "
                                "key = 'summary:2026-12-07'", u=ANA)
    assert as_utc(following[0][0]) == local(11, 17, 30, month=12)
