"""Breaks that give way to meetings, and the plan check-in: the rules, and its answers."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.callbacks import PauseChoice, PlanFit, ReminderChoice
from bot.domain.clock import ManualClock
from bot.domain.meetings import (
    MERGE_WITHIN,
    SOONEST,
    Dropped,
    Merged,
    Moved,
    free_slot_after,
    in_a_meeting_now,
    move_break,
    plan_fit_due,
)
from bot.domain.progress import BreakRecord, week_figures, weeks
from bot.domain.progress_text import summary_text
from bot.domain.schedule import Preferences, break_times, window_of
from bot.domain.timefmt import local_day_and_time, local_time
from bot.storage.models import BusyTime, User
from bot.storage.records import used_slots
from handlers.calendar import replan_breaks
from handlers.planning import plan_next, preferences
from tests.conftest import Chat, text_of
from tests.test_history import new_break, new_user, replan, talking
from tests.test_reminders_e2e import REMINDER
from tests.test_sessions import Sent, World, add_user, data_of, make_world, press_on

MONDAY = date(2026, 11, 30)
DAY = Preferences("Europe/Madrid", frozenset(range(5)), time(9), time(17), 4)


def _breaks() -> list[datetime]:
    return break_times(DAY, MONDAY)  # 10:00, 12:00, 14:00, 16:00 Madrid


def test_an_hour_later_moves_the_break_and_nothing_else() -> None:
    first, second = _breaks()[:2]
    window = window_of(DAY, first)
    assert window is not None
    assert move_break(first + timedelta(hours=1), window[1], second) == \
        Moved(first + timedelta(hours=1))


def test_a_move_close_to_the_next_break_joins_it() -> None:
    first, second = _breaks()[:2]
    end = second + timedelta(hours=5)
    assert move_break(second - MERGE_WITHIN + timedelta(minutes=1), end, second) == \
        Merged(second)
    assert move_break(second + timedelta(minutes=30), end, second) == Merged(second)
    # Just outside the spacing it still moves.
    assert move_break(second - MERGE_WITHIN, end, second) == Moved(second - MERGE_WITHIN)


def test_a_move_past_the_window_is_dropped_even_before_a_next_break() -> None:
    last = _breaks()[-1]
    window = window_of(DAY, last)
    assert window is not None
    tomorrow = break_times(DAY, MONDAY + timedelta(days=1))[0]
    assert move_break(last + timedelta(hours=1), window[1], tomorrow) == Dropped(window[1])
    assert move_break(window[1], window[1], None) == Dropped(window[1])
    assert move_break(None, window[1], None) == Dropped(window[1])


def test_on_the_night_the_clocks_go_back_a_move_is_an_hour_of_real_time() -> None:
    # A night shift 22:00-06:00 in Madrid across 25 October 2026 (03:00 CEST -> 02:00 CET):
    # nine hours long, and an hour after 02:30 (first) is 02:30 again (second).
    night = Preferences("Europe/Madrid", frozenset(range(7)), time(22), time(6), 4)
    window = window_of(night, datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    assert window is not None and window[1] - window[0] == timedelta(hours=9)
    planned = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST
    moved = move_break(planned + timedelta(hours=1), window[1], None)
    assert moved == Moved(datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # 02:30 CET
    # Near the end of the shift, an hour runs past 06:00 CET: dropped.
    late = datetime(2026, 10, 25, 4, 20, tzinfo=UTC)  # 05:20 CET
    assert move_break(late + timedelta(hours=1), window[1], None) == Dropped(window[1])


def test_on_the_night_the_clocks_jump_the_window_is_an_hour_shorter() -> None:
    night = Preferences("Europe/Madrid", frozenset(range(7)), time(22), time(6), 4)
    window = window_of(night, datetime(2026, 3, 29, 0, 0, tzinfo=UTC))
    assert window is not None and window[1] - window[0] == timedelta(hours=7)
    hour = timedelta(hours=1)
    # 04:40 CEST + 1 h is 05:40 CEST, inside; 05:10 CEST + 1 h is past 06:00.
    early, late = (datetime(2026, 3, 29, 2, 40, tzinfo=UTC),
                   datetime(2026, 3, 29, 3, 10, tzinfo=UTC))
    assert move_break(early + hour, window[1], None) == Moved(early + hour)
    assert isinstance(move_break(late + hour, window[1], None), Dropped)


def test_the_next_free_slot_is_after_the_meetings_that_touch() -> None:
    now = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    busy = [(now - timedelta(minutes=30), now + timedelta(minutes=30)),
            (now + timedelta(minutes=30), now + timedelta(hours=1)),  # back to back
            (now + timedelta(hours=2), now + timedelta(hours=3))]
    end = now + timedelta(hours=6)
    assert in_a_meeting_now(busy, now) and not in_a_meeting_now(busy[2:], now)
    assert free_slot_after(busy, now, end) == now + timedelta(hours=1)
    assert free_slot_after([], now, end) == now + SOONEST
    # Meetings to the end of the day: no slot.
    assert free_slot_after([(now, end)], now, end) is None


@given(st.lists(st.tuples(st.integers(0, 600), st.integers(1, 120)), max_size=8),
       st.integers(0, 600))
def test_a_free_slot_never_overlaps_a_meeting_or_leaves_the_window(
        meetings: list[tuple[int, int]], after: int) -> None:
    base = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    busy = [(base + timedelta(minutes=s), base + timedelta(minutes=s + n)) for s, n in meetings]
    now, end = base + timedelta(minutes=after), base + timedelta(hours=12)
    at = free_slot_after(busy, now, end)
    if at is not None:
        assert at >= now + SOONEST and at + timedelta(minutes=5) <= end
        assert all(at + timedelta(minutes=5) <= s or at >= e for s, e in busy)


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_three_unanswered_in_a_row_ask_once_a_week() -> None:
    three = [("missed", False), ("skipped", False), ("missed", False)]
    assert plan_fit_due(three, None, NOW)
    assert not plan_fit_due(three[:2], None, NOW)
    assert not plan_fit_due([("missed", False), ("done", False), ("missed", False)], None, NOW)
    # A skip because it hurt is not a sign the plan does not fit.
    assert not plan_fit_due([("skipped", True), *three[1:]], None, NOW)
    # Answered "in a meeting" or "I moved already": not nagging either.
    assert not plan_fit_due([("merged", False), *three[1:]], None, NOW)
    assert not plan_fit_due([("moved_already", False), *three[1:]], None, NOW)
    assert not plan_fit_due(three, NOW - timedelta(days=6, hours=23), NOW)
    assert plan_fit_due(three, NOW - timedelta(days=7), NOW)


def test_moved_already_counts_as_done_and_breaks_given_way_are_not_planned() -> None:
    first, second, third, fourth = _breaks()
    records = [BreakRecord(first, "moved_already"), BreakRecord(second, "merged"),
               BreakRecord(third, "dropped"), BreakRecord(fourth, "done")]
    now = fourth + timedelta(hours=2)
    (week,) = weeks([], records, DAY, now)
    assert (week.planned - week.to_come, week.done, week.on_own) == (2, 2, 1)
    # The week's summary says so: two of today's planned (not four), both done, one on the
    # user's own; the rest of the week is still to come.
    text = summary_text(week_figures([], records, DAY, MONDAY, now), "en")
    assert f"Planned breaks: {2 + week.to_come}, of which 2 done, 0 partly, 0 skipped, " \
        "0 missed" in text
    assert 'Of the breaks done, 1 on your own ("I moved already").' in text


# ------------------------------------------------------------------------------------------
# The plan check-in's answers, through the real route table (in process, both databases)


@pytest.mark.parametrize(("answer", "said", "step"), [
    ("fewer", "Now you get 4 a day.", "set:breaks"),
    ("times", "What are your work hours?", "set:hours"),
    ("pause", "Pause reminders for how long?", None),
    ("keep", "Keeping your plan as it is.", None),
])
async def test_each_plan_check_in_answer_does_what_it_says(
    database_url: str, answer: str, said: str, step: str | None
) -> None:
    clock = ManualClock(NOW)
    async with talking(database_url, clock) as chat:
        async with chat.database.session() as session:
            session.add(new_user(1001, plan_fit_at=NOW))
        seen = await chat.press(PlanFit(answer).pack(), message_id=5)  # type: ignore[arg-type]
        user = await chat.user()
    assert said in text_of(seen)
    assert all(reply.edit for reply in seen.replies)  # the question turns into the answer
    assert (user.step, user.breaks_per_day, user.paused_until) == (step, 4, None)


# ------------------------------------------------------------------------------------------
# "Your next break" after a break was moved or snoozed (in process, both databases)


async def _reminded_at(chat: Chat, first: datetime) -> int:
    """Seeds the user with the reminder of `first` on screen and the next break planned;
    the reminder's break id."""
    async with chat.database.session() as session:
        user = new_user(1001)
        session.add(user)
        await session.flush()
        brk = new_break(1001, first, status="pending", message_id=5)
        session.add(brk)
        await session.flush()
        await plan_next(session, user, first)
        return brk.id


async def test_the_next_break_named_is_the_moved_one_that_comes_first(
    database_url: str
) -> None:
    user = new_user(1001)
    first, second = break_times(preferences(user), date(2026, 12, 1))[:2]
    clock = ManualClock(first + timedelta(minutes=1))
    async with talking(database_url, clock) as chat:
        break_id = await _reminded_at(chat, first)
        await chat.press(ReminderChoice(break_id, "meet").pack(), message_id=5)
        moved = await chat.press(ReminderChoice(break_id, "m60").pack(), message_id=5)
        at = clock() + timedelta(hours=1)
        assert at < second
        assert f"I'll remind you at {local_time(at, user)}" in text_of(moved)
        # Elsewhere the next break named is the moved one, not the planned one after it.
        for shown in (await chat.command("resume"), await chat.command("settings")):
            assert f"Your next break: {local_day_and_time(at, user, clock())}." \
                in text_of(shown), text_of(shown)


async def test_after_a_snooze_the_next_break_named_is_the_snoozed_one(
    database_url: str
) -> None:
    user = new_user(1001)
    first = break_times(preferences(user), date(2026, 12, 1))[0]
    clock = ManualClock(first + timedelta(minutes=1))
    async with talking(database_url, clock) as chat:
        break_id = await _reminded_at(chat, first)
        await chat.press(ReminderChoice(break_id, "snooze").pack(), message_id=5)
        shown = await chat.command("resume")
    # Not "a reminder is waiting above": its message now says when it comes back.
    at = clock() + timedelta(minutes=10)
    assert f"Your next break: {local_day_and_time(at, user, clock())}." in text_of(shown)


async def test_a_pause_after_a_move_holds_the_moved_break_too(database_url: str) -> None:
    async with make_world(database_url) as world:
        await add_user(world)
        await replan(world.chat())
        user = await world.user()
        first = break_times(preferences(user), world.clock.now.date())[0]
        await world.live_until(first + timedelta(minutes=1))
        (reminder,) = world.sender.sent
        menu = await press_on(world.chat(), reminder, "In a meeting")
        assert "30 min" in str(menu.replies[-1].buttons)
        await world.chat().press(data_of(menu.replies[-1], "30 min"), reminder.message_id)
        paused = await world.chat().press(PauseChoice("today").pack())
        assert "Reminders are paused until" in text_of(paused)
        # Not the moved break's time today: nothing more comes before tomorrow.
        assert "They start again with your break tomorrow at" in text_of(paused)
        await world.live_until(first + timedelta(hours=2))
        assert len(world.sender.sent) == 1  # the moved break did not come during the pause
        assert (await world.brk()).status == "dropped"


# ------------------------------------------------------------------------------------------
# An ignored plan check-in ends as an ignored reminder does (dispatcher, both databases)


@asynccontextmanager
async def _asked(database_url: str) -> AsyncIterator[tuple[World, Sent, datetime]]:
    """A user whose last three reminders went unanswered, on Monday: the check-in that
    came in place of the first break, and when the second break is due."""
    async with make_world(database_url) as world:
        await add_user(world)
        user = await world.user()
        friday = break_times(preferences(user), date(2026, 11, 27))
        async with world.database.session() as session:
            session.add_all(new_break(1001, at, status="missed") for at in friday[-3:])
        await replan(world.chat())
        first, second = break_times(preferences(user), world.clock.now.date())[:2]
        await world.live_until(first + timedelta(minutes=1))
        (check_in,) = world.sender.sent
        assert "Does the plan fit your days" in check_in.reply.text
        yield world, check_in, second


async def test_an_ignored_check_in_loses_its_buttons_before_the_next_reminder(
    database_url: str
) -> None:
    async with _asked(database_url) as (world, check_in, second):
        await world.live_until(second - timedelta(seconds=1))
        assert [(message_id, reply.text, reply.buttons) for message_id, reply
                in world.sender.edits] == [(check_in.message_id, "This check-in has passed; "
                                            "your plan stays as it is. /settings changes it "
                                            "any time.", ())]
        assert len(world.sender.sent) == 1
        await world.live_until(second + timedelta(minutes=1))
        assert REMINDER in world.sender.sent[-1].reply.text


async def test_an_answered_check_in_keeps_its_answer(database_url: str) -> None:
    async with _asked(database_url) as (world, check_in, second):
        answer = await press_on(world.chat(), check_in, "Keep as is")
        assert "Keeping your plan as it is." in text_of(answer)
        await world.live_until(second + timedelta(minutes=1))
        assert world.sender.edits == []  # the answer stays as the message
        assert REMINDER in world.sender.sent[-1].reply.text


# ------------------------------------------------------------------------------------------
# A slot reminded already never comes again the same day (dispatcher, both databases)


async def test_a_meeting_appearing_over_a_sent_break_does_not_bring_it_twice(
    database_url: str
) -> None:
    async with make_world(database_url) as world:
        await add_user(world)
        await replan(world.chat())
        user = await world.user()
        first, second = break_times(preferences(user), world.clock.now.date())[:2]
        await world.live_until(first + timedelta(minutes=5))
        assert [REMINDER in s.reply.text for s in world.sender.sent] == [True]
        assert (await world.brk()).slot == first
        # A meeting over the break already sent turns up in the calendar.
        async with world.database.session() as session:
            session.add(BusyTime(user_id=1001, starts_at=first - timedelta(minutes=10),
                                 ends_at=first + timedelta(minutes=40)))
            await session.flush()
            found = await session.get(User, 1001)
            assert found is not None
            assert await replan_breaks(session, found, world.clock.now) == second
            assert await used_slots(session, [1001], first - timedelta(days=1)) == {
                1001: {first}}
        await world.live_until(second + timedelta(minutes=1))
        assert [s.at for s in world.sender.sent] == [first, second]
        assert (await world.brk()).slot == second


async def test_one_break_a_day_is_said_in_the_singular_in_spanish(database_url: str) -> None:
    async with talking(database_url, ManualClock(NOW)) as chat:
        async with chat.database.session() as session:
            session.add(new_user(1001, language="es", step="set:breaks"))
        said = text_of(await chat.send("1"))
    assert "1 pausa al día." in said and "1 pausas" not in said, said


async def test_a_spanish_export_writes_its_values_in_spanish(database_url: str) -> None:
    async with talking(database_url, ManualClock(NOW)) as chat:
        async with chat.database.session() as session:
            session.add(new_user(1001, language="es"))
            await session.flush()
            session.add_all([new_break(1001, NOW - timedelta(days=1), status="moved_already"),
                             new_break(1001, NOW - timedelta(hours=2), status="done")])
        (export,) = (await chat.command("export")).replies
    assert export.document is not None
    rows = list(csv.DictReader(io.StringIO(export.document.decode("utf-8"))))
    assert [(r["registro"], r["tipo_de_pausa"], r["estado"], r["lugar"], r["parada_por_dolor"])
            for r in rows] == [("pausa", "aviso", "por su cuenta", "mesa", "no"),
                               ("pausa", "aviso", "hecha", "mesa", "no")]
