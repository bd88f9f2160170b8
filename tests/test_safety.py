"""Safety: typed pain words and red flags (pure, property-tested), the triaged warning signs,
and a stop for pain that holds, through the real route table on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.content import CONDITIONS, PLACES
from bot.domain.guided_break import SETUP_WAIT, plan_desk_break, sequence_of
from bot.domain.progress import BreakRecord, RatingRecord, Stop, daily_series, week_figures
from bot.domain.progress_text import summary_text
from bot.domain.safety import (
    EMERGENCY,
    PAIN_PHRASES,
    PAIN_WORDS,
    SOON,
    eased_positions,
    red_flag,
    says_it_hurts,
)
from bot.domain.schedule import Preferences, rest_until
from bot.outbox import due
from bot.storage.models import User
from tests.conftest import text_of
from tests.test_sessions import (
    MONDAY_9,
    PROGRAM,
    World,
    add_user,
    data_of,
    make_world,
    press_on,
)

# Ordinary words that contain a pain word, or look like one.
LOOKALIKES = ["painting", "painless", "spain", "Spain", "paint", "sharpen", "hurtle",
              "shurts", "dolores", "owl", "bowl", "pained?", "sharply", "ayuda", "payday"]
ORDINARY = ["I", "am", "fine", "thanks", "the", "hip", "feels", "good", "bien", "3", "5",
            "stretch", "gracias", "ok", "later", "muy"]


@given(st.lists(st.sampled_from(LOOKALIKES + ORDINARY), min_size=1, max_size=8))
def test_ordinary_words_never_stop_a_break(words: list[str]) -> None:
    assert not says_it_hurts(" ".join(words))


@given(st.sampled_from(sorted(PAIN_WORDS) + list(PAIN_PHRASES)),
       st.lists(st.sampled_from(ORDINARY), max_size=4), st.lists(st.sampled_from(ORDINARY),
                                                                 max_size=4),
       st.sampled_from(["", "!", "...", " :("]), st.booleans())
def test_every_pain_word_stops_wherever_it_is_said(word: str, before: list[str],
                                                   after: list[str], end: str,
                                                   shout: bool) -> None:
    said = " ".join([*before, word.upper() if shout else word, *after]) + end
    assert says_it_hurts(said), said


@pytest.mark.parametrize("typed", ["Me duele", "it hurts", "Ouch!", "sharp pain", "DOLOR",
                                   "it’s painful", "me duéle mucho"])
def test_the_listed_examples_stop(typed: str) -> None:
    assert says_it_hurts(typed)


def test_the_emergency_group_holds_every_nhs_emergency_sign() -> None:
    now, soon = " | ".join(EMERGENCY), " | ".join(SOON)
    for sign in ("bladder or bowel control", "difficulty peeing",
                 "around your genitals, buttocks", "both legs", "cannot put weight on",
                 "shorter or turned outwards after a fall", "hot, swollen hip with a fever",
                 "sudden, severe hip pain without an injury"):
        assert sign in now, sign
        assert sign not in soon, sign
    for sign in ("unexplained weight loss", "history of cancer", "wakes you at night",
                 "one leg", "locks, catches or gives way"):
        assert sign in soon and sign not in now, sign


@pytest.mark.parametrize("typed,flag", [
    ("I can't control my bladder", True), ("my bum feels numb", True),
    ("numbness in both legs", True), ("I can't put weight on my leg", True),
    ("tengo fiebre", True), ("hip is hot and I have a fever", True),
    ("the stretch in my bum is strong", False), ("a bowl of soup", False),
    ("one leg feels tight", False), ("3 5", False)])
def test_red_flags_in_typed_text(typed: str, flag: bool) -> None:
    assert red_flag(typed) is flag


def test_a_stop_rests_the_rest_of_that_work_day() -> None:
    prefs = Preferences("UTC", frozenset(range(5)), time(9), time(17), 4)
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    assert rest_until(prefs, monday.replace(hour=11)) == monday.replace(hour=17)
    assert rest_until(prefs, monday.replace(hour=7)) == monday.replace(hour=17)  # before work
    evening = monday.replace(hour=20)
    assert rest_until(prefs, evening) == evening  # tomorrow's breaks are not today's
    night = Preferences("UTC", frozenset(range(7)), time(22), time(6), 4)
    assert rest_until(night, monday.replace(hour=3)) == monday.replace(hour=6)


# ------------------------------------------------------------------------------------------
# Through the real route table


async def _to_rating(world: World) -> None:
    await world.chat().command("stretch")
    await world.live_for(SETUP_WAIT + timedelta(seconds=241))
    assert "pain" in world.sender.sent[-1].reply.text


def _reminders(world: World) -> list[str]:
    return [s.reply.text for s in world.sender.sent
            if "stretch break" in s.reply.text or "How is the hip" in s.reply.text]


@pytest.fixture
async def world(database_url: str) -> World:  # type: ignore[misc]
    async with make_world(database_url, studio_name="+ Movimiento",
                          studio_contact="hola@example.com") as built:
        await add_user(built)
        yield built


async def test_a_pain_of_8_holds_until_the_next_work_day_which_opens_with_a_check_in(
    world: World,
) -> None:
    chat = world.chat()
    async with world.database.session() as session:  # today's next break, already planned
        await due.schedule(session, 1001, "reminder", "remind:today",
                           MONDAY_9 + timedelta(hours=2))
    await _to_rating(world)
    stopped = text_of(await chat.send("8 2"))
    assert "a pain of 8 out of 10" in stopped and "until your next work day" in stopped
    assert "hola@example.com" in stopped and "This is not medical advice." in stopped
    # /stretch the same day asks first.
    asked = (await chat.command("stretch")).replies[0]
    assert "stopped for pain earlier today" in asked.text
    assert (await world.brk()).status == "done"  # no new break was started
    await world.live_until(MONDAY_9.replace(hour=23))
    assert _reminders(world) == []
    await world.live_until(MONDAY_9 + timedelta(days=1, hours=1, minutes=5))
    check_in = world.sender.sent[-1]
    assert check_in.reply.text.startswith("How is the hip today?")
    assert check_in.at.date() == (MONDAY_9 + timedelta(days=1)).date()
    assert len(_reminders(world)) == 1
    better = await press_on(chat, check_in, "Better")
    reminder = better.replies[0]
    assert reminder.edit and "Time for a stretch break" in reminder.text
    started = await chat.press(data_of(reminder, "Start now"), check_in.message_id)
    assert "1/1" in started.replies[0].text
    assert (await world.user()).pain_stop_at is None


async def test_worse_offers_rest_a_gentle_break_or_a_pause(world: World) -> None:
    chat = world.chat()
    await _to_rating(world)
    await chat.send("9 9")
    await world.live_until(MONDAY_9 + timedelta(days=1, hours=1, minutes=5))
    check_in = world.sender.sent[-1]
    worse = (await press_on(chat, check_in, "Worse")).replies[0]
    assert "GP or physiotherapist" in worse.text and "not medical advice" in worse.text
    labels = [b.label for row in worse.buttons for b in row]
    assert {"Rest today", "A gentle break", "1 week"} <= set(labels)
    gentle = await chat.press(data_of(worse, "A gentle break"), check_in.message_id)
    brk = await world.brk()
    assert (brk.status, brk.short) == ("active", True)
    assert "1 minute on each side" in gentle.replies[0].text


async def test_typed_pain_words_stop_a_break_and_ordinary_words_do_not(
    world: World,
) -> None:
    chat = world.chat()
    await chat.command("stretch")
    await world.live_for(timedelta(seconds=30))
    painting = text_of(await chat.send("I'm painting later, Spain was painless"))
    assert "I only understand buttons" in painting
    assert (await world.brk()).status == "active"
    stopped = text_of(await chat.send("me duele"))
    assert "you said it hurts" in stopped
    brk = await world.brk()
    assert (brk.status, brk.stopped_for_pain) == ("partial", True)
    assert (await world.user()).pain_stop_at == world.clock.now
    await world.live_for(timedelta(hours=1))
    assert world.sender.sent == []  # nothing more of the break


async def test_ouch_in_the_rating_step_and_two_stops_in_a_week(world: World) -> None:
    chat = world.chat()
    await _to_rating(world)
    first = text_of(await chat.send("ouch"))
    assert "you said it hurts" in first and "stops for pain in 7 days" not in first
    assert (await world.user()).step is None
    await world.live_until(MONDAY_9 + timedelta(days=2))
    await chat.command("stretch")
    await world.live_for(timedelta(seconds=20))
    second = text_of(await chat.send("it hurts"))
    assert "That's 2 stops for pain in 7 days" in second and "Until I /resume" in second


async def test_a_red_flag_gets_the_emergency_guidance_at_any_step(world: World) -> None:
    chat = world.chat()
    await _to_rating(world)
    said = text_of(await chat.send("I can't feel my bum and it's numb"))
    assert "emergency number" in said and "A&E" in said and "hola@example.com" not in said
    assert "unexplained weight loss" not in said  # the "soon" group is for /help
    # The rating is still waiting for its answer.
    assert (await world.user()).step is not None
    assert (await world.brk()).status == "rating"


async def test_help_lists_both_groups_the_studio_and_not_medical_advice(world: World) -> None:
    shown = text_of(await world.chat().command("help"))
    now = shown.index("Get help now")
    soon = shown.index("see a GP or physiotherapist soon")
    assert now < shown.index("loss of bladder or bowel control") < soon
    assert soon < shown.index("unexplained weight loss")
    assert "hola@example.com" in shown and shown.endswith("This is not medical advice.")


async def test_a_painful_self_check_answer_is_called_out(world: World) -> None:
    chat = world.chat()
    message = (await chat.press("a:start")).replies[0]
    for answer_label in ("Comfortable", "Yes, easily", "Painful"):
        message = (await chat.press(data_of(message, answer_label))).replies[0]
    assert "You found a test painful" in message.text
    assert "GP or physiotherapist" in message.text


async def test_a_baseline_of_7_or_more_is_said_plainly_and_breaks_are_gentle(
    database_url: str,
) -> None:
    async with make_world(database_url) as world:
        chat = world.chat()
        await chat.command("start")
        await chat.press("c:yes")
        for typed in ("Madrid", "mon-fri", "9-17", "4", "desk"):
            await chat.send(typed)
        said = text_of(await chat.send("8 5"))
        assert "A pain of 8 out of 10 is high for stretching on your own" in said
        assert "short, gentle holds" in said
        user = await world.user()
        assert user.onboarded_at is not None and user.short_holds


# ------------------------------------------------------------------------------------------
# The safety questions

# What standard precautions after a (posterior) hip replacement rule out, as the content
# names the positions: a leg cross, a twist, loaded internal rotation, a figure-4, and
# bending the hip past a right angle.
AFTER_HIP_REPLACEMENT = {"twist", "fh_introt", "post_hip", "ham_fold"}


def test_the_content_marks_the_positions_a_hip_replacement_rules_out() -> None:
    marked = {position.id for _stretch, position in PROGRAM.positions()
              if "hip_replacement" in position.avoid_with}
    assert marked == AFTER_HIP_REPLACEMENT
    assert "Seated figure-four lean" in {
        PROGRAM.position("post_hip").variant(place).name for place in PLACES}


@given(st.sets(st.sampled_from(CONDITIONS)), st.booleans(), st.integers(0, 50),
       st.sampled_from(PLACES))
def test_no_plan_ever_holds_a_position_ruled_out_for_the_users_conditions(
    conditions: set[str], short: bool, rotation: int, place: str,
) -> None:
    sequence = sequence_of(PROGRAM, short, conditions)
    assert sequence, "some positions are always left"
    ruled_out = {position.id for _stretch, position in PROGRAM.positions()
                 if set(position.avoid_with) & conditions}
    routine = {item.position_id for item in sequence}
    assert not routine & ruled_out
    for _break in range(len(sequence) + 1):
        positions, rotation = plan_desk_break(sequence, rotation)
        assert positions and not set(positions) & ruled_out
        for position_id in positions:  # every variant of a safe position is safe
            assert PROGRAM.position(position_id).variant(place).name  # type: ignore[arg-type]
        if "hip_replacement" in conditions:
            assert not set(positions) & AFTER_HIP_REPLACEMENT


# What a "Painful" self-check answer leaves out (content/assessment.yaml `eases`).
EASED = {"sit_90_90": {"fh_9090", "fh_side"}, "knee_chest": {"post_hip"},
         "int_rot": {"fh_introt"}}


@given(st.sets(st.sampled_from(sorted(EASED))), st.sets(st.sampled_from(CONDITIONS)),
       st.integers(0, 50))
def test_painful_answers_leave_their_positions_out_of_every_plan(
    painful: set[str], conditions: set[str], rotation: int,
) -> None:
    answers = {q: "painful" if q in painful else "easy" for q in EASED}
    eased = eased_positions(PROGRAM, answers, conditions)
    assert set(eased) <= set().union(*EASED.values())
    left_out = set().union(*(EASED[q] for q in painful))
    sequence = sequence_of(PROGRAM, False, conditions, eased)
    assert sequence and not {item.position_id for item in sequence} & left_out
    for _break in range(len(sequence) + 1):
        positions, rotation = plan_desk_break(sequence, rotation)
        assert positions and not set(positions) & left_out


async def _self_check(chat: Any, labels: tuple[str, str, str]) -> str:
    message = (await chat.press("a:start")).replies[0]
    for answer_label in labels:
        message = (await chat.press(data_of(message, answer_label))).replies[0]
    return str(message.text)


async def test_a_painful_test_eases_its_positions_until_a_check_without_pain(
    world: World,
) -> None:
    chat = world.chat()
    said = await _self_check(chat, ("Comfortable", "Yes, easily", "Painful"))
    assert "Left out while your latest self-check finds them painful: Internal rotation." \
        in said and "GP or physiotherapist" in said
    first = (await chat.command("routine")).replies[0].text
    assert first.startswith("Left out while your latest self-check finds them painful")
    assert "fh_introt" not in (await world.brk()).positions
    await chat.press(data_of((await chat.command("routine")).replies[0], "End"))
    await world.live_until(MONDAY_9 + timedelta(days=1))
    said = await _self_check(chat, ("Comfortable", "Yes, easily", "Easy"))
    assert "Back in your breaks now that they are no longer painful: Internal rotation." \
        in said and "Left out" not in said
    first = (await chat.command("routine")).replies[0].text
    assert "Left out" not in first and "fh_introt" in (await world.brk()).positions


async def test_screening_after_consent_then_only_safe_positions(database_url: str) -> None:
    async with make_world(database_url) as world:
        chat = world.chat()
        await chat.command("start")
        consented = await chat.press("c:yes")
        questions = next(r for r in consented.replies if "safety questions" in r.text)
        ticked = (await chat.press(data_of(questions, "A hip replacement"))).replies[0]
        assert "✓ A hip replacement" in [b.label for row in ticked.buttons for b in row]
        advice = (await chat.press(data_of(ticked, "Done"))).replies[0]
        assert "dislocate" in advice.text and "before you start" in advice.text
        assert "Seated leg cross and twist" not in advice.text  # names, not variant titles
        assert "Leg cross and twist" in advice.text and "not medical advice" in advice.text
        await chat.press(data_of(advice, "Go on with the safe positions"))
        for typed in ("Madrid", "mon-fri", "9-17", "4", "desk", "2 4"):
            await chat.send(typed)
        assert (await world.user()).screening == ["hip_replacement"]
        routine = (await chat.command("routine")).replies[0]
        brk = await world.brk()
        assert brk.positions and not set(brk.positions) & AFTER_HIP_REPLACEMENT
        assert "1/5" in routine.text  # 9 positions less the 4 ruled out
        privacy = text_of(await chat.command("privacy"))
        assert "safety questions" in privacy and "A hip replacement" in privacy
        settings = (await chat.command("settings")).replies[0]
        again = (await chat.press(data_of(settings, "Safety questions"))).replies[0]
        assert "✓ A hip replacement" in [b.label for row in again.buttons for b in row]


async def test_a_first_stretch_asks_the_safety_questions_if_still_unanswered(
    database_url: str,
) -> None:
    async with make_world(database_url) as world:
        await add_user(world)
        async with world.database.session() as session:
            user = await session.get(User, 1001)
            assert user is not None
            user.screening = None
        chat = world.chat()
        asked = (await chat.command("stretch")).replies[0]
        assert "safety questions" in asked.text
        nothing = await chat.press(data_of(asked, "None of these"))
        assert "nothing there changes your breaks" in text_of(nothing)
        assert "1/1" in (await chat.command("stretch")).replies[0].text


# ------------------------------------------------------------------------------------------
# A pain number at a stop: on the chart, in the summary, in the export


async def test_it_hurts_asks_for_an_optional_number_that_shows_in_progress_and_export(
    world: World,
) -> None:
    chat = world.chat()
    first = (await chat.command("stretch")).replies[0]
    await world.live_for(timedelta(seconds=30))
    stopped = await chat.press(data_of(first, "It hurts"))
    said, question = stopped.replies
    assert "you said it hurts" in said.text
    assert [b.label for row in question.buttons for b in row] == [
        *map(str, range(11)), "Skip"]
    # Someone else's tap on this break changes nothing.
    await add_user(world, 1002)
    other = await chat.other(1002).press(data_of(question, "6"), question.message_id)
    assert [reply.text for reply in other.replies] == ["That button is no longer active."]
    assert (await world.brk()).stop_pain is None
    noted = await chat.press(data_of(question, "6"), question.message_id)
    assert noted.replies[0].edit and "pain 6/10 when you stopped" in noted.replies[0].text
    again = await chat.press(data_of(question, "2"), question.message_id)
    assert [reply.text for reply in again.replies] == ["Already noted: pain 6/10."]
    assert (await world.brk()).stop_pain == 6

    caption = (await chat.command("progress")).replies[0]
    assert caption.photo and "Stops for pain on this chart: 1" in caption.text
    # Resting today: only Tuesday to Friday's breaks are still to come.
    assert "This week: 16 planned breaks to come." in caption.text
    exported = (await chat.command("export")).replies[0]
    assert exported.document is not None
    row = next(line for line in exported.document.decode().splitlines()
               if line.startswith("break,"))
    header = exported.document.decode().splitlines()[0].split(",")
    values = dict(zip(header, row.split(","), strict=False))
    assert (values["stopped_for_pain"], values["stop_pain"]) == ("yes", "6")


async def test_a_stop_without_a_number_is_still_a_stop(world: World) -> None:
    chat = world.chat()
    await chat.command("stretch")
    await world.live_for(timedelta(seconds=30))
    question = (await chat.send("ouch")).replies[1]
    skipped = await chat.press(data_of(question, "Skip"), question.message_id)
    assert "no number" in skipped.replies[0].text
    brk = await world.brk()
    assert (brk.stopped_for_pain, brk.stop_pain) == (True, None)
    assert "Stops for pain on this chart: 1" in (await chat.command("progress")).replies[0].text


async def test_a_rating_that_stops_keeps_its_pain_and_asks_nothing_more(world: World) -> None:
    chat = world.chat()
    await _to_rating(world)
    stopped = await chat.send("8 2")
    assert len(stopped.replies) == 2 and not stopped.replies[1].buttons
    assert (await world.brk()).stop_pain == 8


def test_the_week_summary_counts_stops_and_two_suggest_a_professional() -> None:
    prefs = Preferences(time_zone="UTC", work_days=frozenset(range(5)), start=time(9),
                        end=time(17), breaks_per_day=4)
    ratings = [RatingRecord(MONDAY_9, 3, 4, baseline=True)]
    breaks = [BreakRecord(MONDAY_9 + timedelta(hours=1), "partial", stopped_for_pain=True,
                          stop_pain=6),
              BreakRecord(MONDAY_9 + timedelta(days=2), "skipped", stopped_for_pain=True)]
    now = MONDAY_9 + timedelta(days=4, hours=9)
    text = summary_text(week_figures(ratings, breaks[:1], prefs, MONDAY_9.date(), now,
                                     joined=MONDAY_9), "en")
    assert "Stopped for pain: once (pain 6/10)." in text and "Two or more" not in text
    text = summary_text(week_figures(ratings, breaks, prefs, MONDAY_9.date(), now,
                                     joined=MONDAY_9), "en")
    assert "Stopped for pain: 2 times (pain 6/10; no number)." in text
    assert "please see a GP or physiotherapist" in text and "/pause" in text
    series = daily_series(ratings, breaks, "UTC", now, joined=MONDAY_9)
    assert series.stops == (Stop(MONDAY_9.date(), 6),
                            Stop((MONDAY_9 + timedelta(days=2)).date(), None))
    assert all(day.pain is None for day in series.days)  # a stop is not a break rating
