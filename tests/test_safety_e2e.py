"""A stop for pain that holds, end to end: the real `python -m bot` against the Bot API
stand-in, on a fast clock.

The user works 09:00–11:00 UTC with one break a day (10:00 plus a small per-user offset).
On Monday a pain of 8 stops a break a few minutes after 09:00; the bot's clock then
runs through the rest of the work day with no reminder. The bot is started again on
Tuesday morning (23 hours at this speed would take minutes): the first reminder opens with
the check-in, and a typed "me duele" stops the break it leads to.

Also: the safety questions (a hip replacement keeps /routine to safe positions), and "it
hurts" with a pain number, seen in /progress, /export and /report. Each runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from bot.storage.db import Database
from bot.storage.models import Assessment, Break, Rating, User
from handlers.planning import plan_next
from standin import BotAPIStandIn, ChatMessage, SimulatedUser

pytestmark = pytest.mark.e2e

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FAST, FASTER = 60.0, 1200.0  # FASTER only where nothing is tapped: two work hours in 6 s
WORK_END = MONDAY_9.replace(hour=11)
USER = 1001


async def _seed(url: str) -> str:
    database = Database(url)
    try:
        async with database.session() as session:
            user = User(id=USER, chat_id=USER, language="en", created_at=MONDAY_9,
                        consented_at=MONDAY_9, onboarded_at=MONDAY_9, active=True, draft={},
                        time_zone="UTC", work_start=time(9), work_end=WORK_END.time(),
                        breaks_per_day=1, place="desk", rotation=0)
            session.add(user)
            await session.flush()
            session.add(Rating(user_id=USER, kind="baseline", rated_at=MONDAY_9, pain=3,
                               stiffness=4))
            await plan_next(session, user, MONDAY_9)
    finally:
        await database.close()
    return url


async def _message_with(user: SimulatedUser, text: str) -> ChatMessage:
    """The next message whose text, or caption under a picture, has `text`."""
    return await user.next_message(timeout=20, predicate=lambda m: text in m.shown)


def _reminders(user: SimulatedUser) -> list[ChatMessage]:
    return [m for m in user.messages if (m.text or "").startswith(
        ("Time for a stretch break", "How is the hip today"))]


async def test_a_pain_of_8_holds_for_the_day_and_the_next_day_opens_with_a_check_in(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    url = await _seed(database_url)
    ana = standin.user(USER, first_name="Ana")
    bot = await run_bot(database_url=url, clock_start=MONDAY_9, clock_speed=FAST)
    await ana.command("/stretch")
    position = await _message_with(ana, "1/1")
    await ana.press_button(position, "Ready")
    await _message_with(ana, "How is your pain right now")
    await ana.send("8 2")
    stopped = await _message_with(ana, "a pain of 8 out of 10")
    assert "until your next work day" in (stopped.text or "")
    assert "This is not medical advice." in (stopped.text or "")
    stopped_at = datetime.fromisoformat(str((await bot.query(
        "select pain_stop_at from users"))[0][0])).replace(tzinfo=UTC)
    assert stopped_at < MONDAY_9 + timedelta(minutes=55)  # before the day's break was due
    assert await bot.stop() == 0

    # The rest of Monday on a faster clock: the 10:00 break stays silent.
    restart = stopped_at + timedelta(minutes=1)
    bot = await run_bot(database_url=url, clock_start=restart, clock_speed=FASTER)
    await asyncio.sleep((WORK_END - restart).total_seconds() / FASTER)
    assert _reminders(ana) == []
    planned = await bot.query("select due_at from due_messages where kind = 'reminder' "
                              "and status = 'pending'")
    assert [str(at)[:10] for (at,) in planned] == ["2026-12-01"]
    assert await bot.stop() == 0

    # Tuesday morning: the first reminder asks how the hip is.
    tuesday_break = datetime.fromisoformat(str(planned[0][0])).replace(tzinfo=UTC)
    # The check-in stays open until the window ends (a real minute), not half of that: two
    # taps on it must fit on a busy machine too.
    bot = await run_bot(database_url=url, clock_start=tuesday_break - timedelta(minutes=1),
                        clock_speed=FAST, REMINDER_EXPIRY_MINUTES="60")
    check_in = await _message_with(ana, "How is the hip today?")
    assert _reminders(ana) == [check_in]
    await ana.press_button(check_in, "The same")
    await ana.wait_until(lambda: "Time for a stretch break" in (check_in.text or ""),
                         timeout=20)
    await ana.press_button(check_in, "Start now")
    await _message_with(ana, "1/1")  # the position, with its picture
    await ana.send("me duele")
    await _message_with(ana, "you said it hurts")
    status, stopped_for_pain = (await bot.query(
        "select status, stopped_for_pain from breaks order by id desc limit 1"))[0]
    assert (status, bool(stopped_for_pain)) == ("partial", True)

    await ana.command("/help")
    shown = (await _message_with(ana, "Get help now")).text or ""
    assert "see a GP or physiotherapist soon" in shown
    assert shown.index("loss of bladder") < shown.index("soon") < shown.index(
        "unexplained weight loss")
    assert await bot.stop() == 0


async def test_screening_a_hip_replacement_keeps_the_routine_to_safe_positions(
    standin: BotAPIStandIn, run_bot: Any, database_url: str
) -> None:
    url = database_url
    bot = await run_bot(database_url=url, clock_start=MONDAY_9, clock_speed=1.0)
    ana = standin.user(USER, first_name="Ana")
    await ana.command("/start")
    welcome = await _message_with(ana, "not medical advice")
    await ana.press_button(welcome, "I agree, let's start")
    questions = await _message_with(ana, "safety questions")
    await ana.press_button(questions, "A hip replacement")
    await ana.wait_until(lambda: any(label == "✓ A hip replacement"
                                     for row in questions.buttons for label, _data in row))
    await ana.press_button(questions, "Done")
    await ana.wait_until(lambda: "dislocate" in (questions.text or ""))
    await ana.press_button(questions, "Go on with the safe positions")
    await ana.wait_until(lambda: "safe for you" in (questions.text or ""))
    for typed in ("UTC", "mon-fri", "9-17", "4", "desk", "2 4"):
        await ana.send(typed)
    await _message_with(ana, "You're all set")
    await ana.command("/routine")
    await _message_with(ana, "1/5 · ")
    (positions,) = (await bot.query("select positions from breaks"))[0]
    routine = set(positions if isinstance(positions, list) else json.loads(positions))
    assert routine and not routine & {"twist", "fh_introt", "post_hip", "ham_fold"}
    assert await bot.stop() == 0


async def _seed_week(url: str) -> None:
    """Ana joined a week ago: daily rated breaks, a stop for pain on Thursday without a
    number, and a self-check that found internal rotation painful."""
    joined = MONDAY_9 - timedelta(days=7)
    database = Database(url)
    try:
        async with database.session() as session:
            user = User(id=USER, chat_id=USER, language="en", created_at=joined,
                        consented_at=joined, onboarded_at=joined, active=True, draft={},
                        time_zone="UTC", work_start=time(9), work_end=time(17),
                        breaks_per_day=1, place="desk", rotation=0, screening=[])
            session.add(user)
            await session.flush()
            session.add(Rating(user_id=USER, kind="baseline", rated_at=joined, pain=4,
                               stiffness=5))
            session.add(Assessment(user_id=USER, taken_at=joined, completed=True, answers={
                "sit_90_90": "easy", "knee_chest": "hard", "int_rot": "painful"}))
            for day, (pain, stiffness) in enumerate(((4, 5), (3, 4), (4, 4), (None, None),
                                                     (3, 3))):
                at = joined + timedelta(days=day, hours=1)
                brk = Break(user_id=USER, kind="reminder", planned_at=at, started_at=at,
                            ended_at=at + timedelta(minutes=5), place="desk",
                            positions=["lat_dist"], positions_done=["lat_dist"],
                            status="done" if pain is not None else "partial",
                            stopped_for_pain=pain is None)
                session.add(brk)
                await session.flush()
                if pain is not None:
                    session.add(Rating(user_id=USER, break_id=brk.id, kind="break",
                                       rated_at=at + timedelta(minutes=5), pain=pain,
                                       stiffness=stiffness))
    finally:
        await database.close()


async def test_it_hurts_with_a_number_shows_in_progress_export_and_report(
    standin: BotAPIStandIn, run_bot: Any, database_url: str, tmp_path: Path
) -> None:
    await _seed_week(database_url)
    ana = standin.user(USER, first_name="Ana")
    bot = await run_bot(database_url=database_url, clock_start=MONDAY_9, clock_speed=1.0)
    await ana.command("/stretch")
    # The self-check found internal rotation painful: the break says it is left out, on
    # top of the first position (or just before its picture when the caption is full).
    eased = await _message_with(ana, "Left out while your latest self-check finds them "
                                     "painful: Internal rotation.")
    position = eased if "1/" in eased.shown else await _message_with(ana, "1/")
    await ana.press_button(position, "It hurts")
    question = await _message_with(ana, "How bad is the pain right now")
    await ana.press_button(question, "6")
    await ana.wait_until(lambda: "pain 6/10 when you stopped" in (question.text or ""),
                         timeout=20)
    assert question.buttons == []
    assert (await bot.query("select stopped_for_pain, stop_pain from breaks "
                            "order by id desc limit 1"))[0][1] == 6

    await ana.command("/progress")
    chart = await ana.next_message(timeout=30, predicate=lambda m: m.photo is not None)
    assert "Stops for pain on this chart: 2" in (chart.caption or "")
    assert "This week: 4 planned breaks to come." in (chart.caption or "")  # resting today
    await ana.command("/export")
    export = await ana.next_message(timeout=30, predicate=lambda m: m.document is not None)
    rows = list(csv.DictReader(io.StringIO((export.document or b"").decode())))
    stops = [(r["time"][:10], r["stop_pain"]) for r in rows if r["stopped_for_pain"] == "yes"]
    assert stops == [("2026-11-26", ""), ("2026-11-30", "6")]
    await ana.command("/report")
    report = await ana.next_message(timeout=30, predicate=lambda m: m.document is not None)
    page = PdfReader(io.BytesIO(report.document or b"")).pages[0].extract_text()
    assert "Breaks stopped for pain (2)" in page and "(pain 6/10)" in page
    assert "not medical advice" in page
    # What a person sees, kept with the run: the transcript, the chart and the report.
    (tmp_path / "progress.png").write_bytes(chart.photo or b"")
    (tmp_path / "report.pdf").write_bytes(report.document or b"")
    (tmp_path / "report.txt").write_text(page)
    (tmp_path / "transcript.txt").write_text("\n\n---\n".join(
        (m.text or m.caption or "") + "\n" + " | ".join(label for row in m.buttons
                                                        for label, _data in row)
        for m in ana.messages))
    assert await bot.stop() == 0
