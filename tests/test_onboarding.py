"""Onboarding, /settings, /pause and /resume through the real Application, router and route
table (tests/conftest.py `in_process` and `Chat`), on SQLite and on PostgreSQL.

Every action is one update through `Application.process_update` and one transaction, so the
state between two actions is only what the database holds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select
from telegram.ext import Application

from bot.domain.clock import ManualClock
from bot.domain.parsing import parse_place, parse_work_days
from bot.domain.schedule import PAUSED_INDEFINITELY
from bot.storage.models import DueMessage, Rating
from handlers.turn import Services
from tests.conftest import Chat, RecordingRequest, Seen, data_of, in_process, text_of

# Monday 30 November 2026, 08:00 UTC: 09:00 in Madrid, 03:00 in New York.
MONDAY_8_UTC = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
MADRID = (40.4168, -3.7038)
STALE_TEXT = "That button belongs to an older message. /help lists what you can do now."


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(MONDAY_8_UTC)


@pytest.fixture
async def app(
    database_url: str, clock: ManualClock
) -> AsyncIterator[tuple[Application, RecordingRequest, Services]]:
    async with in_process(database_url, clock) as running:
        yield running


@pytest.fixture
def chat(app: tuple[Application, RecordingRequest, Services]) -> Chat:
    application, request, services = app
    return Chat(application, request, services.database)


async def next_reminders(chat: Chat) -> list[datetime]:
    async with chat.database.session() as session:
        rows = await session.scalars(
            select(DueMessage.due_at).where(
                DueMessage.user_id == chat.user_id, DueMessage.kind == "reminder",
                DueMessage.status == "pending").order_by(DueMessage.due_at))
        return list(rows)


async def baseline(chat: Chat) -> list[tuple[int, int]]:
    async with chat.database.session() as session:
        rows = await session.execute(
            select(Rating.pain, Rating.stiffness).where(
                Rating.user_id == chat.user_id, Rating.kind == "baseline",
                Rating.break_id.is_(None)))
        return [(pain, stiffness) for pain, stiffness in rows]


async def consented(chat: Chat) -> Seen:
    await chat.command("start")
    return await chat.press("c:yes")


async def onboarded(chat: Chat) -> None:
    """A user set up in Madrid, Mon-Fri 09:00-17:00, 4 breaks, at the desk."""
    await consented(chat)
    await chat.send("Madrid")
    await chat.press("ob:days:ok")
    await chat.press("ob:hours:0900-1700")
    await chat.press("ob:breaks:4")
    await chat.press("ob:place:desk")
    await chat.send("2 4")
    assert (await chat.user()).onboarded_at is not None


# --- the whole setup ---------------------------------------------------------------------------


async def test_onboarding_by_buttons_with_a_shared_location(chat: Chat) -> None:
    answer = await consented(chat)
    tz_question = answer.replies[-1]
    assert "time zone" in tz_question.text and tz_question.location_button
    assert (await chat.user()).step == "ob:tz"

    answer = await chat.share_location(*MADRID)
    assert "Europe/Madrid" in text_of(answer) and "Mon 09:00" in text_of(answer)
    assert answer.replies[0].remove_keyboard
    assert "ob:day:5" in data_of(answer) and "ob:days:ok" in data_of(answer)
    user = await chat.user()
    assert (user.time_zone, user.step) == ("Europe/Madrid", "ob:days")

    # Toggles edit the message in place and live in the draft until Done.
    answer = await chat.press("ob:day:5")
    assert answer.replies[0].edit and "✅ Sat" in [b.label for b in answer.replies[0].buttons[1]]
    answer = await chat.press("ob:day:5")
    assert "▫️ Sat" in [b.label for b in answer.replies[0].buttons[1]]
    await chat.press("ob:day:0")  # Monday off
    assert (await chat.user()).work_days == 0b0011111
    answer = await chat.press("ob:days:ok")
    assert "Tue–Fri" in text_of(answer) and answer.replies[0].edit
    assert "ob:hours:0900-1700" in data_of(answer)

    answer = await chat.press("ob:hours:0800-1600")
    assert "08:00–16:00" in text_of(answer)
    answer = await chat.press("ob:breaks:2")
    # Two breaks in 08:00-16:00 fall at 10:00 and 14:00 (plus at most a few minutes' stagger).
    assert "10:0" in text_of(answer) and "14:0" in text_of(answer)
    assert "ob:place:band" in data_of(answer)
    answer = await chat.press("ob:place:band")
    assert [d for d in data_of(answer) if d.startswith("ob:pain:")] == [
        f"ob:pain:{n}" for n in range(11)]

    answer = await chat.press("ob:pain:3")
    assert answer.replies[0].edit and "Pain: 3/10" in text_of(answer)
    assert "ob:stiff:10" in data_of(answer)
    assert (await chat.user()).onboarded_at is None
    answer = await chat.press("ob:stiff:5")
    assert answer.replies[0].edit
    assert "a:start" in data_of(answer) and "ob:assess:later" in data_of(answer)
    summary = answer.replies[-1].text
    for part in ("Europe/Madrid", "Tue–Fri", "08:00–16:00", "2 a day", "band",
                 "pain 3/10, stiffness 5/10", "Your first break: tomorrow at 10:0"):
        assert part in summary

    user = await chat.user()
    assert user.onboarded_at == MONDAY_8_UTC and user.step is None and user.draft == {}
    assert (user.work_days, user.work_start, user.work_end, user.breaks_per_day, user.place) == (
        0b0011110, time(8), time(16), 2, "band")
    assert await baseline(chat) == [(3, 5)]
    [first] = await next_reminders(chat)
    assert datetime(2026, 12, 1, 9, 0, tzinfo=UTC) <= first < datetime(2026, 12, 1, 9, 5,
                                                                          tzinfo=UTC)

    answer = await chat.press("ob:assess:later")
    assert "/assess" in text_of(answer) and answer.replies[0].edit


async def test_onboarding_by_typing_only(chat: Chat) -> None:
    await consented(chat)
    answer = await chat.send("new york")
    assert "America/New_York" in text_of(answer) and "Mon 03:00" in text_of(answer)
    answer = await chat.send("mon, wed, fri")
    assert "Mon, Wed, Fri" in text_of(answer)
    answer = await chat.send("8.30 to 16.45")
    assert "08:30–16:45" in text_of(answer)
    answer = await chat.send("six")
    assert "6 breaks a day" in text_of(answer)
    answer = await chat.send("floor")
    assert "kettlebell" in text_of(answer)
    answer = await chat.send("3 5")
    assert "Your first break: today at" in answer.replies[-1].text
    user = await chat.user()
    assert (user.time_zone, user.work_days, user.work_start, user.work_end) == (
        "America/New_York", 0b10101, time(8, 30), time(16, 45))
    assert (user.breaks_per_day, user.place, user.onboarded_at) == (6, "floor", MONDAY_8_UTC)
    assert await baseline(chat) == [(3, 5)]
    assert len(await next_reminders(chat)) == 1


async def test_baseline_typed_one_number_at_a_time(chat: Chat) -> None:
    await consented(chat)
    for typed in ("Madrid", "weekdays", "9-17", "4", "1"):
        await chat.send(typed)
    answer = await chat.send("7")
    assert "Pain: 7/10" in text_of(answer) and (await chat.user()).step == "ob:stiff"
    answer = await chat.send("eleven")
    assert "0 to 10" in text_of(answer) and (await chat.user()).step == "ob:stiff"
    await chat.send("2")
    assert await baseline(chat) == [(7, 2)]


# --- time zones -------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "zone"), [
    ("Madrid", "Europe/Madrid"), ("São Paulo", "America/Sao_Paulo"),
    ("europe/berlin", "Europe/Berlin"), ("ASIA/TOKYO", "Asia/Tokyo"),
])
async def test_named_zones_are_confirmed_with_the_local_time(
    chat: Chat, typed: str, zone: str
) -> None:
    await consented(chat)
    answer = await chat.send(typed)
    assert zone in text_of(answer) and "daylight" not in text_of(answer)
    assert (await chat.user()).time_zone == zone


@pytest.mark.parametrize(("typed", "zone", "local"), [
    ("UTC+2", "UTC+02:00", "10:00"), ("-05:00", "UTC-05:00", "03:00"),
    ("+5:30", "UTC+05:30", "13:30"),
])
async def test_offsets_are_accepted_with_a_suggestion(
    chat: Chat, typed: str, zone: str, local: str
) -> None:
    await consented(chat)
    answer = await chat.send(typed)
    assert zone in text_of(answer) and local in text_of(answer) and "daylight" in text_of(answer)
    user = await chat.user()
    assert (user.time_zone, user.step) == (zone, "ob:days")


async def test_an_ambiguous_city_offers_the_top_matches(chat: Chat) -> None:
    await consented(chat)
    answer = await chat.send("Portland")
    assert "ob:tz:America/Los_Angeles" in data_of(answer)
    assert "ob:tz:America/New_York" in data_of(answer)
    assert (await chat.user()).step == "ob:tz"
    answer = await chat.press("ob:tz:America/Los_Angeles")
    assert "America/Los_Angeles" in text_of(answer)
    assert (await chat.user()).time_zone == "America/Los_Angeles"


async def test_an_unknown_zone_gets_examples_and_stays_on_the_step(chat: Chat) -> None:
    await consented(chat)
    for typed in ("blah blah", "x" * 500, "🙂", "UTC+99"):
        answer = await chat.send(typed)
        assert "Madrid" in text_of(answer) and "UTC+2" in text_of(answer)
    user = await chat.user()
    assert (user.time_zone, user.step) == (None, "ob:tz")
    answer = await chat.share_location(0.0, 500.0)
    assert "couldn't place" in text_of(answer) and (await chat.user()).step == "ob:tz"


async def test_the_zone_can_be_corrected_and_setup_returns_to_its_step(chat: Chat) -> None:
    await consented(chat)
    await chat.send("Valencia, VE")
    await chat.press("ob:day:5")  # a half-made day choice survives the detour
    answer = await chat.press("ob:redo:tz")
    assert (await chat.user()).step == "ob:tz" and answer.replies[-1].location_button
    answer = await chat.send("Valencia, Spain")
    assert "Europe/Madrid" in text_of(answer)
    user = await chat.user()
    assert (user.time_zone, user.step, user.draft) == ("Europe/Madrid", "ob:days",
                                                       {"days": 0b0111111})


async def test_toggling_keeps_the_whole_question(chat: Chat) -> None:
    await at_step(chat, "ob:days")
    answer = await chat.press("ob:day:6")
    assert answer.replies[0].edit and "ob:redo:tz" in data_of(answer)
    assert "Step 2 of 6" in text_of(answer)


async def test_the_zone_can_be_corrected_from_a_later_step(chat: Chat) -> None:
    await at_step(chat, "ob:pain")
    await chat.press("ob:pain:6")
    await chat.press("ob:redo:tz")
    answer = await chat.send("Europe/Lisbon")
    assert "Pain: 6/10" in text_of(answer) and "ob:stiff:0" in data_of(answer)
    user = await chat.user()
    assert (user.time_zone, user.step) == ("Europe/Lisbon", "ob:stiff")


# --- refusals and stale input -----------------------------------------------------------------


async def at_step(chat: Chat, step: str) -> None:
    await consented(chat)
    answers = {"ob:days": ["Madrid"], "ob:hours": ["Madrid", "mon-fri"],
               "ob:breaks": ["Madrid", "mon-fri", "9-17"],
               "ob:place": ["Madrid", "mon-fri", "9-17", "4"],
               "ob:pain": ["Madrid", "mon-fri", "9-17", "4", "desk"]}[step]
    for typed in answers:
        await chat.send(typed)
    assert (await chat.user()).step == step


@pytest.mark.parametrize(("typed", "reason"), [
    ("9-9", "same time"), ("09:00-09:30", "under an hour"), ("banana", "9-17"),
    ("25-26", "9-17"),
])
async def test_work_hours_refused_with_the_reason(chat: Chat, typed: str, reason: str) -> None:
    await at_step(chat, "ob:hours")
    answer = await chat.send(typed)
    assert reason in text_of(answer)
    user = await chat.user()
    assert (user.step, user.work_start, user.work_end) == ("ob:hours", time(9), time(17))


async def test_a_night_shift_crosses_midnight(chat: Chat) -> None:
    await at_step(chat, "ob:hours")
    answer = await chat.send("22:00-06:00")
    assert "22:00–06:00" in text_of(answer) and "midnight" in text_of(answer)
    user = await chat.user()
    assert (user.work_start, user.work_end, user.step) == (time(22), time(6), "ob:breaks")


@pytest.mark.parametrize(("step", "typed"), [
    ("ob:days", "someday"), ("ob:breaks", "9"), ("ob:breaks", "0"), ("ob:place", "beach"),
    ("ob:pain", "bad"), ("ob:pain", "11 3"),
])
async def test_unclear_answers_keep_the_step(chat: Chat, step: str, typed: str) -> None:
    await at_step(chat, step)
    answer = await chat.send(typed)
    assert answer.replies and (await chat.user()).step == step


@pytest.mark.parametrize(("step", "forged"), [
    ("ob:hours", "ob:hours:99-99"), ("ob:hours", "ob:hours:0900-1701"),
    ("ob:breaks", "ob:breaks:9"), ("ob:breaks", "ob:breaks:04"), ("ob:place", "ob:place:space"),
    ("ob:days", "ob:day:7"), ("ob:days", "ob:days:no"), ("ob:pain", "ob:pain:11"),
    ("ob:pain", "ob:pain:-1"), ("ob:days", "ob:tz:Not/AZone"),
])
async def test_forged_buttons_change_nothing(chat: Chat, step: str, forged: str) -> None:
    await at_step(chat, step)
    before = await chat.user()
    answer = await chat.press(forged)
    # Refused where callback data is read, before onboarding sees it: the stale-button answer.
    assert text_of(answer) == STALE_TEXT
    after = await chat.user()
    assert (after.step, after.work_days, after.work_start, after.breaks_per_day, after.place,
            after.time_zone) == (step, before.work_days, before.work_start,
                                 before.breaks_per_day, before.place, before.time_zone)


async def test_a_button_of_an_earlier_step_does_not_corrupt_state(chat: Chat) -> None:
    await at_step(chat, "ob:breaks")
    for old in ("ob:tz:Europe/Paris", "ob:day:5", "ob:days:ok", "ob:hours:1000-1800",
                "ob:stiff:3", "ob:place:floor"):
        answer = await chat.press(old)
        assert "ob:breaks:4" in data_of(answer)
    user = await chat.user()
    assert (user.step, user.time_zone, user.work_days, user.work_start, user.place) == (
        "ob:breaks", "Europe/Madrid", 0b0011111, time(9), "desk")
    assert user.draft.get("days") is None


async def test_at_least_one_work_day(chat: Chat) -> None:
    await at_step(chat, "ob:days")
    for day in range(4):
        await chat.press(f"ob:day:{day}")
    answer = await chat.press("ob:day:4")
    assert text_of(answer) == "At least one work day is needed."
    await chat.press("ob:days:ok")
    assert (await chat.user()).work_days == 0b0010000


async def test_anything_unexpected_keeps_the_step(chat: Chat) -> None:
    await at_step(chat, "ob:hours")
    answer = await chat.send_sticker()
    assert "can't use that" in text_of(answer) and "ob:hours:0900-1700" in data_of(answer)
    for name in ("settings", "pause", "resume"):
        answer = await chat.command(name)
        assert "finish setting you up" in text_of(answer)
        assert "ob:hours:0900-1700" in data_of(answer)
    answer = await chat.share_location(*MADRID)
    assert "only helps with the time zone" in text_of(answer)
    answer = await chat.press("set:hours:0900-1700")
    assert "ob:hours:0900-1700" in data_of(answer)
    answer = await chat.press("pz:1d")
    assert "ob:hours:0900-1700" in data_of(answer)
    user = await chat.user()
    assert (user.step, user.paused_until, user.onboarded_at) == ("ob:hours", None, None)


async def test_cancel_keeps_what_was_stored_and_start_resumes(chat: Chat) -> None:
    await at_step(chat, "ob:days")
    await chat.press("ob:day:6")
    answer = await chat.command("cancel")
    assert "/start" in text_of(answer)
    user = await chat.user()
    assert (user.step, user.draft, user.time_zone, user.work_days) == (
        None, {}, "Europe/Madrid", 0b0011111)
    answer = await chat.press("ob:days:ok")
    assert "/start" in text_of(answer) and (await chat.user()).step is None
    answer = await chat.command("start")
    assert "Welcome back" in text_of(answer) and (await chat.user()).step == "ob:tz"


async def test_a_restart_resumes_where_the_user_was(
    database_url: str, clock: ManualClock
) -> None:
    async with in_process(database_url, clock) as (application, request, services):
        chat = Chat(application, request, services.database)
        await at_step(chat, "ob:pain")
        await chat.press("ob:pain:4")
    # A new process: nothing but the database carries over.
    async with in_process(database_url, clock) as (application, request, services):
        again = Chat(application, request, services.database)
        answer = await again.command("start")
        assert "Welcome back" in text_of(answer) and "Pain: 4/10" in text_of(answer)
        assert "ob:stiff:6" in data_of(answer)
        await again.press("ob:stiff:6")
        assert await baseline(again) == [(4, 6)]


# --- /settings ---------------------------------------------------------------------------------


async def test_settings_show_every_value_with_a_button(chat: Chat) -> None:
    await onboarded(chat)
    answer = await chat.command("settings")
    for part in ("Europe/Madrid", "Mon–Fri", "09:00–17:00", "4 a day", "desk", "English",
                 "Holds: 2 minutes a side", "Your next break: today at 10:0"):
        assert part in text_of(answer)
    assert data_of(answer) == ["set:edit:tz", "set:edit:days", "set:edit:hours",
                            "set:edit:breaks", "set:edit:place", "set:edit:lang",
                            "set:edit:hold", "sc:0:ask"]
    answer = await chat.press("set:edit:lang")
    assert data_of(answer) == ["set:lang:en", "set:lang:es", "set:cancel"]
    # The choice applies at once: the very next message is in Spanish, then in English again.
    answer = await chat.press("set:lang:es")
    assert "A partir de ahora te hablo en español" in text_of(answer)
    answer = await chat.command("settings")
    assert "Tus ajustes:" in text_of(answer) and "Idioma: Español" in text_of(answer)
    await chat.press("set:edit:lang")
    answer = await chat.press("set:lang:en")
    assert "I'll speak English from now on" in text_of(answer)
    assert "Your settings:" in text_of(await chat.command("settings"))


async def test_changing_hours_moves_the_next_break(chat: Chat) -> None:
    await onboarded(chat)
    [before] = await next_reminders(chat)
    await chat.press("set:edit:hours")
    assert (await chat.user()).step == "set:hours"
    answer = await chat.press("set:hours:1000-1800")
    assert "10:00–18:00" in text_of(answer) and "Your next break: today at 11:0" in text_of(answer)
    [after] = await next_reminders(chat)
    assert after - before == timedelta(hours=1)
    assert (await chat.user()).step is None

    await chat.press("set:edit:hours")
    answer = await chat.send("9-9")
    assert "same time" in text_of(answer) and (await chat.user()).step == "set:hours"
    answer = await chat.send("13-21")
    [typed] = await next_reminders(chat)
    assert typed - before == timedelta(hours=4) and "today at 14:0" in text_of(answer)


async def test_changing_zone_breaks_and_days_reschedules(chat: Chat) -> None:
    await onboarded(chat)
    [madrid] = await next_reminders(chat)
    await chat.press("set:edit:tz")
    answer = await chat.send("London")
    assert "Europe/London" in text_of(answer) and answer.replies[0].remove_keyboard
    [london] = await next_reminders(chat)
    assert london - madrid == timedelta(hours=1)

    await chat.press("set:edit:breaks")
    await chat.press("set:breaks:8")
    [eight] = await next_reminders(chat)
    assert eight < london  # the first of eight breaks comes sooner

    # Work on Mondays no more: the next break moves to Tuesday.
    await chat.press("set:edit:days")
    await chat.press("set:day:0")
    assert (await chat.user()).work_days == 0b0011111  # only the draft changed so far
    await chat.press("set:days:ok")
    [tuesday] = await next_reminders(chat)
    assert tuesday.date() == datetime(2026, 12, 1).date()
    assert (await chat.user()).work_days == 0b0011110

    await chat.press("set:edit:place")
    answer = await chat.send("2")
    assert (await chat.user()).place == "band" and "band" in text_of(answer)


async def test_cancel_in_settings_leaves_the_values_untouched(chat: Chat) -> None:
    await onboarded(chat)
    before = await next_reminders(chat)
    await chat.press("set:edit:days")
    await chat.press("set:day:2")
    await chat.press("set:day:5")
    answer = await chat.command("cancel")
    assert "nothing was changed" in text_of(answer)
    user = await chat.user()
    assert (user.work_days, user.step, user.draft) == (0b0011111, None, {})
    assert await next_reminders(chat) == before
    # The old toggles are now stale and change nothing.
    answer = await chat.press("set:day:3")
    assert (await chat.user()).draft == {}
    await chat.press("set:edit:breaks")
    answer = await chat.press("set:cancel")
    assert "nothing was changed" in text_of(answer) and (await chat.user()).breaks_per_day == 4


async def test_settings_toggles_keep_cancel_and_settings_again_starts_over(chat: Chat) -> None:
    await onboarded(chat)
    await chat.press("set:edit:days")
    answer = await chat.press("set:day:6")
    assert answer.replies[0].edit and "set:cancel" in data_of(answer)
    answer = await chat.command("settings")
    assert "set:edit:days" in data_of(answer)
    user = await chat.user()
    assert (user.step, user.draft, user.work_days) == (None, {}, 0b0011111)


async def test_settings_refuse_forged_and_stale_buttons(chat: Chat) -> None:
    await onboarded(chat)
    answer = await chat.press("set:hours:0900-1700")  # not on that step
    assert (await chat.user()).step is None
    await chat.press("set:edit:hours")
    answer = await chat.press("set:hours:99-99")  # forged: refused before settings see it
    assert text_of(answer) == STALE_TEXT
    answer = await chat.press("set:breaks:3")  # a button of another setting
    answer = await chat.press("set:edit:nonsense")
    assert text_of(answer) == STALE_TEXT
    answer = await chat.press("ob:hours:0900-1700")  # an onboarding button after setup
    assert "already set up" in text_of(answer)
    answer = await chat.send_sticker()
    assert "set:hours:0900-1700" in data_of(answer)
    user = await chat.user()
    assert (user.step, user.work_start, user.breaks_per_day) == ("set:hours", time(9), 4)


# --- /pause and /resume -----------------------------------------------------------------------


async def test_pause_until_resumed_plans_nothing_and_resume_brings_it_back(chat: Chat) -> None:
    await onboarded(chat)
    before = await next_reminders(chat)
    answer = await chat.command("pause")
    assert data_of(answer) == ["pz:today", "pz:1d", "pz:3d", "pz:7d", "pz:until_resumed"]
    answer = await chat.press("pz:until_resumed")
    assert "/resume" in text_of(answer) and answer.replies[0].edit
    assert (await chat.user()).paused_until == PAUSED_INDEFINITELY
    assert await next_reminders(chat) == []
    answer = await chat.command("settings")
    assert "paused" in text_of(answer)
    answer = await chat.command("resume")
    assert "reminders are on again" in text_of(answer) and "today at 10:0" in text_of(answer)
    assert await next_reminders(chat) == before
    answer = await chat.command("resume")
    assert "aren't paused" in text_of(answer)


@pytest.mark.parametrize(("kind", "starts_again"), [
    ("today", "tomorrow at 10:0"), ("1d", "tomorrow at 12:0"), ("3d", "Thu 3 Dec at 12:0"),
    ("7d", "Mon 7 Dec at 12:0"),
])
async def test_a_pause_says_when_reminders_start_again(
    chat: Chat, clock: ManualClock, kind: str, starts_again: str
) -> None:
    await onboarded(chat)
    clock.now = MONDAY_8_UTC + timedelta(hours=2)  # 11:00 in Madrid
    answer = await chat.press(f"pz:{kind}")
    assert starts_again in text_of(answer) and "pz:off" in data_of(answer)
    paused_until = (await chat.user()).paused_until
    assert paused_until is not None
    [first] = await next_reminders(chat)
    assert first >= paused_until
    answer = await chat.command("pause")
    assert "pz:off" in data_of(answer) and "paused until" in text_of(answer)
    answer = await chat.press("pz:off")
    assert "on again" in text_of(answer) and (await chat.user()).paused_until is None
    assert "today at 12:0" in text_of(answer)


async def test_pause_keeps_a_settings_step_and_refuses_forged_kinds(chat: Chat) -> None:
    await onboarded(chat)
    await chat.press("set:edit:breaks")
    answer = await chat.press("pz:forever")
    assert text_of(answer) == STALE_TEXT
    assert (await chat.user()).paused_until is None
    await chat.press("pz:1d")
    user = await chat.user()
    assert user.step == "set:breaks" and user.paused_until is not None


# --- parsers of this flow ---------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "mask"), [
    ("mon-fri", 0b0011111), ("Mon to Fri", 0b0011111), ("weekdays", 0b0011111),
    ("every day", 0b1111111), ("Mon, Wed, Fri", 0b0010101), ("sat and sun", 0b1100000),
    ("fri-mon", 0b1110001), ("Tuesday Thursday", 0b0001010), ("Mon–Thu", 0b0001111),
    ("", None), ("someday", None), ("mon-funday", None), ("x" * 300, None),
])
def test_parse_work_days(typed: str, mask: int | None) -> None:
    assert parse_work_days(typed) == mask


@pytest.mark.parametrize(("typed", "place"), [
    ("1", "desk"), ("desk", "desk"), ("2", "band"), ("desk with a band", "band"),
    ("3", "floor"), ("Floor", "floor"), ("kettlebell", "floor"), ("4", None), ("", None),
])
def test_parse_place(typed: str, place: str | None) -> None:
    assert parse_place(typed) == place
