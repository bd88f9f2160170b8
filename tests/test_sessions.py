"""Guided breaks: the pure plan (rotation, follow-up offsets, buttons, texts) and the session
engine through the real Application, router and route table, on SQLite and PostgreSQL, with
a manual clock and a recording sender.

A user's actions are updates through the real `Application` (tests/conftest.py `Chat`), one
transaction each; due rows go out through a real `Dispatcher` into a `RecordingSender`, and
`live_until` jumps the clock from one due row to the next.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from telegram.ext import Application

from bot.adapter.countdown import Countdown
from bot.domain.callbacks import (
    MAX_BYTES,
    MAX_ID,
    MAX_RATING,
    BreakAction,
    BreakControl,
    RatingTap,
    unpack,
)
from bot.domain.clock import ManualClock
from bot.domain.content import PLACES, load_program
from bot.domain.guided_break import (
    ABANDON_AFTER,
    DESK_BREAK_MAX_SECONDS,
    RATING_WAIT,
    SETUP_WAIT,
    Item,
    Studio,
    hold_reply,
    hold_seconds,
    hold_steps,
    outcome,
    pain_alarm,
    plan_desk_break,
    position_reply,
    rating_prompt,
    safety_text,
    sequence_of,
    side_seconds,
)
from bot.domain.parsing import Ratings, parse_ratings
from bot.domain.replies import Reply
from bot.domain.schedule import PAUSED_INDEFINITELY
from bot.outbox import due
from bot.outbox.delivery import TryLater
from bot.outbox.dispatcher import Dispatcher
from bot.storage.db import Database
from bot.storage.models import Assessment, Break, DueMessage, Rating, User
from handlers.account import unsubscribe as deactivate
from handlers.jobs import make_jobs
from handlers.turn import Services
from tests.conftest import Chat, RecordingRequest, Seen, Shown, in_process, text_of
from tests.simulate import live_until

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PROGRAM = load_program()
SEQUENCE = sequence_of(PROGRAM)
STALE = "That button is no longer active."


# ------------------------------------------------------------------------------------------
# Pure planning


def test_four_desk_breaks_a_day_cover_the_whole_sequence_within_two_days() -> None:
    rotation, breaks = 0, 0
    seen: set[str] = set()
    while len(seen) < len(SEQUENCE):
        positions, rotation = plan_desk_break(SEQUENCE, rotation)
        seen.update(positions)
        breaks += 1
    assert breaks <= 8
    assert seen == {item.position_id for item in SEQUENCE}


def test_a_desk_break_is_one_two_sided_position_or_two_one_sided_ones() -> None:
    rotation, plans = 0, []
    for _break in range(7):
        positions, rotation = plan_desk_break(SEQUENCE, rotation)
        plans.append(positions)
    assert plans == [["fh_9090"], ["fh_side"], ["fh_introt"], ["lat_dist"], ["post_hip"],
                     ["twist"], ["ham_fold", "ham_stagger", "hf_static"]]
    assert rotation == 0  # the top again
    # With short holds (1 minute a side) two two-sided positions fit.
    short = sequence_of(PROGRAM, short=True)
    assert plan_desk_break(short, 0) == (["fh_9090", "fh_side"], 2)


@given(st.lists(st.integers(10, 600), min_size=1, max_size=20), st.integers(0, 3),
       st.integers(0, 10_000))
def test_desk_breaks_are_short_walk_the_sequence_and_never_leave_the_bonus_alone(
    seconds: list[int], bonuses: int, rotation: int
) -> None:
    sequence = [Item(f"p{i}", s, bonus=i >= len(seconds) - bonuses and i > 0)
                for i, s in enumerate(seconds)]
    mobility = [item.position_id for item in sequence if not item.bonus]
    bonus = [item.position_id for item in sequence if item.bonus]
    length = {item.position_id: item.seconds for item in sequence}
    covered: list[str] = []
    for _break in range(len(sequence)):
        positions, following = plan_desk_break(sequence, rotation)
        worked = [p for p in positions if p not in bonus]
        assert worked, "a bonus never comes alone"
        assert len(worked) == 1 or sum(length[p] for p in worked) <= DESK_BREAK_MAX_SECONDS
        start = rotation % len(mobility)
        assert worked == mobility[start:start + len(worked)]  # consecutive, in order
        # The bonus only ever follows the last of the mobility work.
        assert positions[len(worked):] == (bonus if worked[-1] == mobility[-1] else [])
        assert following == (start + len(worked)) % len(mobility)
        covered += positions
        rotation = following
    assert set(covered) == {item.position_id for item in sequence}


def test_holds_meet_the_articles_two_minutes_a_side_unless_short() -> None:
    for stretch, position in PROGRAM.positions():
        if not stretch.bonus:  # the article: "about 2 min in each position"
            assert side_seconds(position, short=False) >= 120, position.id
        assert side_seconds(position, short=True) <= 60, position.id
        assert hold_seconds(position, False) == side_seconds(position, False) * (
            2 if position.sides == "both" else 1)


@pytest.mark.parametrize("short", [False, True])
def test_every_cue_is_shown_and_at_most_two_messages_notify_per_side(short: bool) -> None:
    for _stretch, position in PROGRAM.positions():
        for place in PLACES:
            steps = hold_steps(position, place, short)
            side, total = side_seconds(position, short), hold_seconds(position, short)
            # The hold opens with cue 0; each later cue arrives at its moment.
            assert sorted({0, *(step.cue for step in steps)}) == list(
                range(len(position.cues_for(place)))), (position.id, place)
            assert steps[-1] == (steps[-1].__class__("done", total, steps[-1].cue))
            switches = [step.at for step in steps if step.stage == "switch"]
            assert switches == ([side] if position.sides == "both" else [])
            # Side one: the position message (+ a silent start of the clock); side two: the
            # switch and "Time!". Cues are edits, which never notify.
            notifying = [step for step in steps if step.stage != "cue"]
            assert len(notifying) == position.side_count
            assert all(0 < step.at <= total for step in steps)


def test_the_whole_routine_takes_about_thirty_five_minutes() -> None:
    assert 28 * 60 <= sum(item.seconds for item in SEQUENCE) <= 40 * 60


# Near misses of real callback data: numbers (some out of range, some with leading zeros or
# other digits) and action letters, in the shapes of break controls and ratings, and not.
_NUMBER = st.one_of(st.integers(0, 12).map(str), st.integers(0, 2**32).map(str),
                    st.from_regex(r"[0-9]{1,11}", fullmatch=True),
                    st.sampled_from(["-1", "١", "²", ""]))
_ACTION = st.sampled_from([*get_args(BreakAction), "x", "nn", "N", ""])
_NEAR_MISS = st.one_of(
    st.tuples(_NUMBER, _NUMBER, _NUMBER, _ACTION).map(":".join),  # s:break:index:attempt:action
    st.tuples(_NUMBER, _NUMBER).map(":".join),  # r:break:pain
    st.tuples(_NUMBER, _NUMBER, _NUMBER).map(":".join),  # r:break:pain:stiffness
    st.lists(st.one_of(_NUMBER, _ACTION), max_size=6).map(":".join),
)


@given(st.one_of(st.text(max_size=80), _NEAR_MISS))
def test_forged_callback_data_is_refused_without_raising(text: str) -> None:
    control = unpack("s:" + text)
    if control is not None:
        assert isinstance(control, BreakControl) and control.pack() == "s:" + text
        assert 0 < control.break_id <= MAX_ID and control.action in get_args(BreakAction)
        assert control.index >= 0 and control.attempt >= 0
    tap = unpack("r:" + text)
    if tap is not None:
        assert isinstance(tap, RatingTap) and tap.pack() == "r:" + text
        assert 0 < tap.break_id <= MAX_ID and 0 <= tap.pain <= MAX_RATING
        assert tap.stiffness is None or 0 <= tap.stiffness <= MAX_RATING


def test_callback_data_round_trips_and_stays_under_64_bytes() -> None:
    assert BreakControl(12, 0, 3, "n").pack() == "s:12:0:3:n"  # the wire format is stable
    assert RatingTap(5, 3).pack() == "r:5:3" and RatingTap(5, 3, 10).pack() == "r:5:3:10"
    control = BreakControl(MAX_ID, 99, 999, "h")
    assert unpack(control.pack()) == control
    assert len(control.pack().encode()) <= MAX_BYTES
    assert unpack(f"s:{MAX_ID + 1}:0:0:n") is None  # beyond the id columns: names nothing
    assert unpack("s:1:0:0:x") is None and unpack("s:1:0:0:n:") is None
    assert unpack("s:١:0:0:n") is None  # Arabic-Indic digits are not ids
    assert unpack(RatingTap(5, 3, 10).pack()) == RatingTap(5, 3, 10)
    assert unpack("r:5:3") == RatingTap(5, 3)
    assert unpack("r:5:11") is None and unpack("r:5:3:11") is None


@given(st.text(max_size=300))
def test_typed_ratings_never_raise(text: str) -> None:
    result = parse_ratings(text)
    if isinstance(result, Ratings):
        assert 0 <= result.pain <= 10 and 0 <= result.stiffness <= 10


@pytest.mark.parametrize("text,expected", [
    ("3 5", (3, 5)), ("pain 3, stiffness 5", (3, 5)), ("p3 s5", (3, 5)), ("11 2", None),
    ("hello", None)])
def test_typed_ratings_examples(text: str, expected: tuple[int, int] | None) -> None:
    result = parse_ratings(text)
    got = (result.pain, result.stiffness) if isinstance(result, Ratings) else None
    assert got == expected


def test_pain_stops_at_seven_or_two_above_the_baseline() -> None:
    assert pain_alarm(7, None) == "high"
    assert pain_alarm(6, None) is None
    assert pain_alarm(5, 3) == "rise"
    assert pain_alarm(4, 3) is None
    assert outcome(["a", "b"], ["b", "a"]) == "done"
    assert outcome(["a", "b"], ["a"]) == "partial"


@pytest.mark.parametrize("place", PLACES)
def test_every_position_message_fits_telegram(place: str) -> None:
    ids = [item.position_id for item in SEQUENCE]
    for index in range(len(ids)):
        brk = Break(id=MAX_ID, positions=ids, positions_done=[], position_index=index,
                    attempt=999, place=place, short=False)
        variant = PROGRAM.position(ids[index]).variant(place)  # type: ignore[arg-type]
        total = hold_seconds(PROGRAM.position(ids[index]), False)
        for reply in (position_reply(PROGRAM, brk, "desk", "en"),
                      *(hold_reply(PROGRAM, brk, "desk", "en", t) for t in range(0, total, 15))):
            assert len(reply.text) < 1024
            assert all(len(b.data.encode()) <= 64 for row in reply.buttons for b in row)
            assert all(unpack(b.data) == b.callback for row in reply.buttons for b in row)
        setup = position_reply(PROGRAM, brk, "desk", "en").text
        assert variant.name in setup and variant.setup in setup
        assert variant.instructions in setup
    prompt = rating_prompt(brk, "en", finished=True, repeat=None)
    assert [b.label for row in prompt.buttons for b in row] == [str(n) for n in range(11)]


def test_the_safety_message_names_the_studio_when_configured() -> None:
    plain = Studio()
    studio = Studio("+ Movimiento", "hola@example.com")
    assert "physiotherapist" in safety_text("en", plain, "button")
    assert "Movimiento" not in safety_text("en", plain, "button")
    text = safety_text("en", studio, "rise", pain=5, baseline=2)
    assert "+ Movimiento" in text and "hola@example.com" in text and "3 points" in text


# ------------------------------------------------------------------------------------------
# The engine: the real Application for the user's turns, a real dispatcher for due rows


@dataclass
class Sent:
    chat_id: int
    reply: Reply
    at: datetime
    message_id: int


@dataclass
class RecordingSender:
    clock: ManualClock
    sent: list[Sent] = field(default_factory=list)
    edits: list[tuple[int, Reply]] = field(default_factory=list)

    async def send(self, chat_id: int, reply: Reply) -> int:
        message_id = 100 + len(self.sent)
        self.sent.append(Sent(chat_id, reply, self.clock(), message_id))
        return message_id

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        self.edits.append((message_id, reply))


def data_of(reply: Reply | Shown, label: str) -> str:
    """The callback data of the button whose label contains `label`, on a message the
    dispatcher sent (`Reply`) or one the user saw arrive from a turn (`Shown`)."""
    for row in reply.buttons:
        for button in row:
            if label.lower() in button.label.lower():
                return button.data
    raise LookupError(f"no button {label!r} in {[b.label for r in reply.buttons for b in r]}")


async def press_on(chat: Chat, sent: Sent, label: str) -> Seen:
    """Presses a button of a message the dispatcher sent, under that message."""
    return await chat.press(data_of(sent.reply, label), sent.message_id)


@dataclass
class World:
    application: Application
    request: RecordingRequest
    services: Services
    clock: ManualClock
    sender: RecordingSender
    dispatcher: Dispatcher
    chats: dict[int, Chat] = field(default_factory=dict)

    @property
    def database(self) -> Database:
        return self.services.database

    def chat(self, user_id: int = 1001) -> Chat:
        """The user's chat with the real bot (one per user, so it remembers what was seen)."""
        if user_id not in self.chats:
            self.chats[user_id] = Chat(self.application, self.request, self.database, user_id)
        return self.chats[user_id]

    async def live_until(self, end: datetime) -> None:
        await live_until(self.dispatcher, self.clock, end)

    async def live_for(self, delta: timedelta) -> None:
        await self.live_until(self.clock.now + delta)

    async def brk(self, break_id: int | None = None) -> Break:
        async with self.database.session() as session:
            query = select(Break).order_by(Break.id.desc()).limit(1) if break_id is None \
                else select(Break).where(Break.id == break_id)
            found = await session.scalar(query)
        assert found is not None
        return found

    async def user(self, user_id: int = 1001) -> User:
        return await self.chat(user_id).user()

    async def rows(self, **where: Any) -> list[DueMessage]:
        async with self.database.session() as session:
            query = select(DueMessage).order_by(DueMessage.due_at, DueMessage.id)
            for name, value in where.items():
                query = query.where(getattr(DueMessage, name) == value)
            return list(await session.scalars(query))


@asynccontextmanager
async def make_world(database_url: str, **settings: Any) -> AsyncIterator[World]:
    """The real Application over `database_url` at Monday 9:00, and a dispatcher sharing its
    database and clock."""
    clock = ManualClock(MONDAY_9)
    async with in_process(database_url, clock, PROGRAM, **settings) as (
        application, request, services,
    ):
        sender = RecordingSender(clock)
        dispatcher = Dispatcher(services.database, sender, clock, make_jobs(services),
                                on_blocked=deactivate, worker="test")
        yield World(application, request, services, clock, sender, dispatcher)


async def add_user(world: World, user_id: int = 1001, place: str = "desk",
                   baseline: tuple[int, int] | None = (3, 4), consented: bool = True) -> None:
    async with world.database.session() as session:
        session.add(User(
            id=user_id, chat_id=user_id, language="en", created_at=MONDAY_9,
            consented_at=MONDAY_9 if consented else None, onboarded_at=MONDAY_9,
            active=True, draft={}, time_zone="UTC", work_start=time(9), work_end=time(17),
            breaks_per_day=4, place=place, rotation=0))
        await session.flush()
        if baseline is not None:
            session.add(Rating(user_id=user_id, kind="baseline", rated_at=MONDAY_9,
                               pain=baseline[0], stiffness=baseline[1]))


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with make_world(database_url) as built:
        await add_user(built)
        yield built


def texts(world: World) -> list[str]:
    return [s.reply.text for s in world.sender.sent]


def opening(sent: Sent) -> str:
    return sent.reply.text[:12]


async def test_a_desk_break_runs_from_ready_to_two_tap_rating(world: World) -> None:
    chat = world.chat()
    first = (await chat.command("stretch")).replies[0]
    brk = await world.brk()
    assert (brk.kind, brk.status, brk.positions) == ("stretch", "active", ["fh_9090"])
    desk = PROGRAM.position("fh_9090").variant("desk")
    assert desk.cues is not None
    for text in (desk.name, desk.setup, desk.instructions, "2 minutes on each side",
                 "Tap Ready"):
        assert text in first.text
    assert "band" not in first.text.lower() and "kneel" not in first.text.lower()
    assert (await world.user()).rotation == 1
    # Setting up takes the time it takes: nothing arrives, then Ready starts the clock in
    # the same message.
    await world.live_for(timedelta(seconds=20))
    assert world.sender.sent == [] and world.sender.edits == []
    held = (await chat.press(data_of(first, "Ready"), first.message_id)).replies[0]
    assert held.edit and held.message_id == first.message_id
    for text in ("Side 1 of 2 · 2:00 left", desk.cues[0], "6 out of 10"):
        assert text in held.text
    ready_at = world.clock.now
    await world.live_for(timedelta(seconds=250))
    # Two messages notify: the switch with its how-to after 2 minutes, the rating after 4.
    assert [(opening(s), s.at - ready_at) for s in world.sender.sent] == [
        ("Switch sides", timedelta(seconds=120)), ("Time! That's", timedelta(seconds=240))]
    switch, prompt = world.sender.sent
    assert desk.switch is not None and desk.switch in switch.reply.text
    assert "Side 2 of 2 · 2:00 left" in switch.reply.text and desk.cues[2] in switch.reply.text
    # The other cues arrive as edits of the live message: side one's, then side two's.
    assert [(message_id, reply.text.split("\n💬 ")[-1].split("\n")[0])
            for message_id, reply in world.sender.edits] == [
        (first.message_id, desk.cues[1]), (switch.message_id, desk.cues[3])]
    assert "1:00 left" in world.sender.edits[1][1].text
    assert "pain" in prompt.reply.text
    stiffness = (await press_on(chat, prompt, "4")).replies[0]
    assert stiffness.edit and "Pain 4/10" in stiffness.text
    assert stiffness.message_id == prompt.message_id
    saved = await chat.press(data_of(stiffness, "6"))
    assert [reply.text.split(".")[0] for reply in saved.replies] == [
        "Saved: pain 4/10, stiffness 6/10"]
    assert saved.replies[0].edit and saved.replies[0].message_id == prompt.message_id

    brk = await world.brk()
    assert brk.status == "done" and brk.positions_done == ["fh_9090"]
    assert not brk.stopped_for_pain
    async with world.database.session() as session:
        rating = await session.scalar(select(Rating).where(Rating.kind == "break"))
    user = await world.user()
    assert rating is not None and (rating.pain, rating.stiffness, rating.break_id) == (
        4, 6, brk.id)
    assert user.step is None
    # Nothing of this break is left to send.
    assert not [r for r in await world.rows(status="pending") if r.break_id == brk.id]


async def test_without_ready_the_hold_starts_after_the_set_up_time(world: World) -> None:
    chat = world.chat()
    first = (await chat.command("routine")).replies[0]
    assert "Tap Ready" in first.text and "by itself in 1 minute" in first.text
    await world.live_for(timedelta(seconds=59))
    assert world.sender.sent == [] and world.sender.edits == []
    # The /routine message came as an answer to a command: its id was recorded once it
    # went out, so the clock starts in it, and the cues edit it too.
    await world.live_for(timedelta(seconds=2))
    assert world.sender.sent == []
    started, view = world.sender.edits[0]
    assert started == first.message_id and "Side 1 of 2 · 2:00 left" in view.text
    await world.live_for(timedelta(seconds=70))
    assert {message_id for message_id, _reply in world.sender.edits} == {first.message_id}
    brk = await world.brk()
    assert brk.hold_started_at == MONDAY_9 + SETUP_WAIT
    late = await chat.press(data_of(first, "Ready"))
    assert text_of(late) == "The clock is already running."


async def test_the_next_desk_break_starts_where_the_last_one_stopped(world: World) -> None:
    chat = world.chat()
    await chat.command("stretch")
    first = await world.brk()
    await chat.press(BreakControl(first.id, 0, first.attempt, "e").pack())
    await chat.command("stretch")
    second = await world.brk()
    assert second.id != first.id and second.positions == ["fh_side"]


async def test_repeat_restarts_the_hold_and_stale_follow_ups_stay_silent(world: World) -> None:
    chat = world.chat()
    first = (await chat.command("stretch")).replies[0]
    held = (await chat.press(data_of(first, "Ready"), first.message_id)).replies[0]
    await world.live_for(timedelta(seconds=130))  # the switch went out at 120 s
    again = await chat.press(data_of(held, "Repeat"), first.message_id)
    assert again.replies[0].edit and "Tap Ready" in again.replies[0].text
    restarted = world.clock.now
    # A button from before the repeat changes nothing.
    stale = await chat.press(data_of(held, "Finish"))
    assert "earlier step" in text_of(stale)
    # No Ready this time: the clock starts by itself, in the message that was pressed.
    await world.live_for(SETUP_WAIT + timedelta(seconds=245))
    assert [(opening(s), s.at) for s in world.sender.sent] == [
        ("Switch sides", MONDAY_9 + timedelta(seconds=120)),
        ("Switch sides", restarted + SETUP_WAIT + timedelta(seconds=120)),
        ("Time! That's", restarted + SETUP_WAIT + timedelta(seconds=240))]
    assert (first.message_id, restarted + SETUP_WAIT) in [
        (message_id, restarted + SETUP_WAIT) for message_id, reply in world.sender.edits
        if "2:00 left" in reply.text]
    brk = await world.brk()
    assert brk.attempt == 1 and brk.positions_done == ["fh_9090"]
    # The first attempt's moments after the repeat never went out: dropped or skipped.
    old = [r for r in await world.rows() if r.key.startswith(f"step:{brk.id}:0:0:")
           and r.due_at > restarted]
    assert all(r.status == "cancelled" for r in old)


async def test_it_hurts_ends_the_break_with_the_safety_message(database_url: str) -> None:
    async with make_world(database_url, studio_name="+ Movimiento",
                          studio_contact="hola@example.com") as world:
        await add_user(world)
        chat = world.chat()
        first = (await chat.command("stretch")).replies[0]
        await world.live_for(timedelta(seconds=30))
        stopped = await chat.press(data_of(first, "It hurts"))
        text = stopped.replies[0].text
        assert "you said it hurts" in text and "physiotherapist" in text
        assert "+ Movimiento" in text and "hola@example.com" in text
        brk = await world.brk()
        assert (brk.status, brk.stopped_for_pain, brk.positions_done) == ("partial", True, [])
        await world.live_for(timedelta(hours=1))
        assert world.sender.sent == [] and world.sender.edits == []
        again = await chat.press(data_of(first, "It hurts"))
        assert text_of(again) == "This break has already ended."


async def test_an_abandoned_break_ends_quietly_as_partial(world: World) -> None:
    chat = world.chat()
    await chat.command("routine")
    await world.live_for(timedelta(hours=2))
    brk = await world.brk()
    assert brk.status == "partial" and brk.positions_done == ["fh_9090"]
    assert brk.ended_at == MONDAY_9 + SETUP_WAIT + timedelta(seconds=240) + ABANDON_AFTER
    # The "Time!" message lost its buttons and says what happened; nothing new was sent.
    # (The hold started in the /routine message itself: its id is known once sent.)
    assert [opening(s) for s in world.sender.sent] == ["Switch sides", "Time! Standi"]
    assert world.sender.edits[-1][0] == world.sender.sent[-1].message_id
    assert "saved as partial" in world.sender.edits[-1][1].text
    assert world.sender.edits[-1][1].buttons == ()


async def test_an_unrated_break_is_saved_without_ratings(world: World) -> None:
    chat = world.chat()
    first = (await chat.command("routine")).replies[0]
    brk = await world.brk()
    assert brk.kind == "routine" and len(brk.positions) == len(SEQUENCE)
    held = (await chat.press(data_of(first, "Ready"))).replies[0]
    await world.live_for(timedelta(seconds=30))
    ended = await chat.press(data_of(held, "Next"))
    assert "2/9" in ended.replies[0].text
    state = await world.brk()
    await chat.press(BreakControl(state.id, 1, state.attempt, "n").pack())
    state = await world.brk()
    assert state.positions_done == ["fh_9090", "fh_side"] and state.position_index == 2
    # /stretch during a break offers to continue or end it.
    offer = (await chat.command("stretch")).replies[0]
    assert "middle of a break" in offer.text
    prompt = (await chat.press(data_of(offer, "End"))).replies[0]
    assert "pain" in prompt.text
    user = await world.user()
    assert user.step == f"rate:{brk.id}"
    await world.live_for(RATING_WAIT + timedelta(minutes=1))
    brk = await world.brk()
    assert brk.status == "partial"
    async with world.database.session() as session:
        ratings = list(await session.scalars(select(Rating).where(Rating.kind == "break")))
    user = await world.user()
    assert user.step is None and ratings == []
    late = await chat.press(data_of(prompt, "3"))
    assert text_of(late) == "This break is already saved."


@pytest.mark.parametrize("typed,expected_status,stopped", [
    ("pain 3, stiffness 5", "done", False), ("p8 s2", "done", True), ("5 1", "done", True)])
async def test_typed_ratings_and_pain_safety(world: World, typed: str, expected_status: str,
                                             stopped: bool) -> None:
    chat = world.chat()
    await chat.command("stretch")
    await world.live_for(SETUP_WAIT + timedelta(seconds=241))
    assert "pain" in world.sender.sent[-1].reply.text
    unclear = await chat.send("hello")
    assert "for example: 3 5" in unclear.replies[0].text
    out_of_range = await chat.send("12 3")
    assert "from 0 to 10" in out_of_range.replies[0].text
    for number in ("11", "-1"):
        one = await chat.send(number)
        assert one.replies[0].text.startswith("0 to 10, please. For example: 3")
    answer = await chat.send(typed)
    brk = await world.brk()
    assert (brk.status, brk.stopped_for_pain) == (expected_status, stopped)
    said = text_of(answer)
    assert ("physiotherapist" in said) is stopped
    if typed == "5 1":  # baseline pain is 3: a rise of 2
        assert "2 points above" in said


async def test_buttons_from_another_user_or_forged_change_nothing(world: World) -> None:
    await add_user(world, user_id=2002)
    first = (await world.chat().command("stretch")).replies[0]
    other = world.chat(2002)
    # Well-formed, but naming a break or self-check that is not 2002's (or does not exist):
    # the feature refuses it with a quiet note.
    for data in (data_of(first, "It hurts"), data_of(first, "Ready"), "s:99999:0:0:n",
                 "r:1:3", "r:1:3:4", "a:1:sit_90_90:easy"):
        answer = await other.press(data)
        assert text_of(answer) == STALE, data
    # Forged or out of range: refused by `unpack`, answered like any stale button.
    for data in ("s:1:0:0:zz", "s:x", "r:1:99", "a:zzz"):
        answer = await other.press(data)
        assert [reply.text for reply in answer.replies] == [
            "That button belongs to an older message. /help lists what you can do now."], data
    brk = await world.brk()
    assert brk.status == "active" and brk.attempt == 0 and not brk.stopped_for_pain
    async with world.database.session() as session:
        assert await session.scalar(select(Assessment)) is None
        assert await session.scalar(select(Rating).where(Rating.kind == "break")) is None


async def test_a_reminder_break_starts_from_its_button(world: World) -> None:
    async with world.database.session() as session:
        await due.schedule(session, 1001, "reminder", "remind:test",
                           MONDAY_9 + timedelta(minutes=1))
    await world.live_for(timedelta(minutes=1))
    reminder = world.sender.sent[-1]
    # It says truthfully what is coming: one position, both sides, with setting up.
    assert "Standing split-stance hip opener: about 5 minutes, setting up included" in (
        reminder.reply.text)
    started = await press_on(world.chat(), reminder, "Start now")
    brk = await world.brk()
    assert (brk.kind, brk.status, brk.positions) == ("reminder", "active", ["fh_9090"])
    assert started.replies[0].edit and "1/1" in started.replies[0].text
    assert started.replies[0].message_id == reminder.message_id == brk.message_id
    await world.live_for(timedelta(hours=1))  # the reminder's expiry finds it answered
    assert (await world.brk(brk.id)).status == "done"  # held to the end, left unrated
    # The clock started in the reminder's own message, which the cues then edited.
    assert world.sender.edits[0][0] == reminder.message_id


async def test_a_single_typed_number_is_the_pain_then_the_stiffness(world: World) -> None:
    chat = world.chat()
    await chat.command("stretch")
    await world.live_for(SETUP_WAIT + timedelta(seconds=241))
    asked = await chat.send("5")
    assert "Pain 5/10" in asked.replies[0].text and not asked.replies[0].edit
    saved = await chat.send("2")
    assert saved.replies[0].text.startswith("Saved: pain 5/10, stiffness 2/10")
    brk = await world.brk()
    assert brk.status == "done" and (await world.user()).step is None


async def test_a_reminder_due_during_a_break_arrives_after_it(world: World) -> None:
    chat = world.chat()
    async with world.database.session() as session:
        await due.schedule(session, 1001, "reminder", "remind:test",
                           MONDAY_9 + timedelta(minutes=2))
    first = (await chat.command("stretch")).replies[0]
    await chat.press(data_of(first, "Ready"), first.message_id)
    await world.live_for(timedelta(minutes=3))
    # The break runs from 9:00 to 9:04: no reminder in it.
    assert not [s for s in world.sender.sent if "stretch break" in s.reply.text]
    await world.live_for(timedelta(minutes=2))
    prompt, reminder = [s for s in world.sender.sent if s.at >= MONDAY_9 + timedelta(
        minutes=4)]
    assert "pain" in prompt.reply.text and prompt.at == MONDAY_9 + timedelta(minutes=4)
    assert "stretch break" in reminder.reply.text
    assert reminder.message_id > prompt.message_id
    assert timedelta(0) <= reminder.at - prompt.at <= timedelta(seconds=20)
    # Its break is the next in the sequence; rating the last one does not name another
    # break while this reminder is live above.
    saved = await chat.send("2 3")
    assert "A break reminder is waiting above" in text_of(saved)
    assert "Your next break" not in text_of(saved)


async def test_short_holds_are_a_choice_in_settings(world: World) -> None:
    chat = world.chat()
    overview = (await chat.command("settings")).replies[0]
    assert "Holds: 2 minutes a side, as the article suggests" in overview.text
    asked = (await chat.press(data_of(overview, "Hold length"))).replies[0]
    chosen = (await chat.press(data_of(asked, "Short: 1 minute a side"))).replies[0]
    assert "article suggests longer holds" in chosen.text
    assert (await world.user()).short_holds
    first = (await chat.command("stretch")).replies[0]
    brk = await world.brk()
    assert brk.short and brk.positions == ["fh_9090", "fh_side"]
    assert "1 minute on each side" in first.text
    assert "the article suggests 2 minutes or more" in first.text
    held = (await chat.press(data_of(first, "Ready"), first.message_id)).replies[0]
    assert "Side 1 of 2 · 1:00 left" in held.text
    await world.live_for(timedelta(seconds=125))
    assert [(opening(s), s.at - world.clock.now + timedelta(seconds=125))
            for s in world.sender.sent] == [
        ("Switch sides", timedelta(seconds=60)), ("Time! Standi", timedelta(seconds=120))]


async def test_the_equipment_is_listed_before_the_first_break_that_needs_it(
    database_url: str,
) -> None:
    async with make_world(database_url) as world:
        await add_user(world, place="band")
        chat = world.chat()
        first = (await chat.command("stretch")).replies[0]
        assert first.text.startswith("Before you start, have these ready:")
        for item in ("Strong elastic bands", "A secure anchor point", "A small towel"):
            assert item in first.text
        assert "kettlebell" not in first.text.lower()  # not at the band place
        brk = await world.brk()
        await chat.press(BreakControl(brk.id, 0, brk.attempt, "e").pack())
        second = (await chat.command("stretch")).replies[0]
        assert "have these ready" not in second.text  # told once
        brk = await world.brk()
        await chat.press(BreakControl(brk.id, 0, brk.attempt, "e").pack())
        routine = (await chat.command("routine")).replies[0]
        assert routine.text.startswith("Before you start, have these ready:")


async def test_the_variant_switches_for_this_break_only(world: World) -> None:
    chat = world.chat()
    first = (await chat.command("stretch")).replies[0]
    switched = (await chat.press(data_of(first, "band version"))).replies[0]
    assert PROGRAM.position("fh_9090").variant("band").instructions in switched.text
    assert "desk version" in " ".join(b.label for row in switched.buttons for b in row)
    brk = await world.brk()
    user = await world.user()
    assert brk.place == "band" and brk.attempt == 1
    assert user.place == "desk"


async def test_no_session_before_consent(database_url: str) -> None:
    async with make_world(database_url) as world:
        await add_user(world, consented=False)
        chat = world.chat()
        # A command has no button to put a note on: the user is told in a message.
        answer = await chat.command("stretch")
        assert "please read the note above and agree" in text_of(answer)
        # A button gets the note too.
        pressed = await chat.press("a:start")
        assert "please read the note above and agree" in text_of(pressed)
        async with world.database.session() as session:
            assert await session.scalar(select(Break)) is None
            assert await session.scalar(select(Assessment)) is None


async def test_the_self_assessment_stores_answers_and_comes_back_in_two_weeks(
    world: World,
) -> None:
    chat = world.chat()
    message = (await chat.press("a:start")).replies[0]
    assert "Question 1 of 3" in message.text
    for answer_label in ("Hard to hold", "Yes, easily", "Painful"):
        before = message
        message = (await chat.press(data_of(message, answer_label))).replies[0]
    assert "Saved" in message.text
    stale = await chat.press(data_of(before, "Painful"))
    assert text_of(stale) == "This self-check is already saved."
    async with world.database.session() as session:
        check = await session.scalar(select(Assessment))
    assert check is not None and check.completed
    assert check.answers == {"sit_90_90": "hard", "knee_chest": "easy", "int_rot": "painful"}
    await world.live_for(timedelta(days=15))
    invitation = world.sender.sent[-1]
    assert invitation.at == MONDAY_9 + timedelta(days=14)
    assert data_of(invitation.reply, "self-check") == "a:start"


async def test_a_paused_invitation_waits_for_resume_and_shows_answers_side_by_side(
    world: World,
) -> None:
    chat = world.chat()
    message = (await chat.press("a:start")).replies[0]
    for answer_label in ("Hard to hold", "Yes, easily", "Painful"):
        message = (await chat.press(data_of(message, answer_label))).replies[0]
    async with world.database.session() as session:
        user = await session.get(User, 1001)
        assert user is not None
        user.paused_until = PAUSED_INDEFINITELY
    await world.live_for(timedelta(days=16))
    assert not any("self-check" in sent.reply.text for sent in world.sender.sent)
    async with world.database.session() as session:
        user = await session.get(User, 1001)
        assert user is not None
        user.paused_until = None
    await world.live_for(timedelta(days=1))
    assert "self-check" in world.sender.sent[-1].reply.text

    message = (await chat.press("a:start")).replies[0]
    for answer_label in ("Comfortable", "Yes, easily", "Painful"):
        message = (await chat.press(data_of(message, answer_label))).replies[0]
    assert "and at your last check" in message.text
    assert "(last time: Hard to hold)" in message.text
    assert "more freely" in message.text


# ------------------------------------------------------------------------------------------
# The countdown: best effort, after everything the outbox has due


@dataclass
class SlowDownSender(RecordingSender):
    """Telegram saying "too many requests" to every edit."""

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        raise TryLater("429", retry_after=5)


async def no_wait(_seconds: float) -> None:
    return None


async def test_the_countdown_shows_the_time_left_and_yields_to_due_messages(
    world: World,
) -> None:
    chat = world.chat()
    first = (await chat.command("stretch")).replies[0]
    await chat.press(data_of(first, "Ready"), first.message_id)
    countdown = Countdown(world.services, world.sender, sleep=no_wait)
    world.clock.now += timedelta(seconds=25)
    await countdown.tick()
    assert [(m, r.text.split("\n💬")[0].split("\n")[-1]) for m, r in world.sender.edits] == [
        (first.message_id, "⏱ Side 1 of 2 · 1:35 left")]
    # Sends are behind (another user's reminder is late): it goes first, the countdown
    # waits.
    await add_user(world, user_id=2002)
    async with world.database.session() as session:
        await due.schedule(session, 2002, "reminder", "remind:now",
                           world.clock.now - timedelta(seconds=5))
    await countdown.tick()
    assert len(world.sender.edits) == 1 and countdown.tally.shed == 1
    await world.live_for(timedelta(seconds=1))  # the reminder goes out
    # Side two is shown only in the switch message, once that is sent.
    world.clock.now = MONDAY_9 + timedelta(seconds=125)
    await countdown.tick()
    assert len(world.sender.edits) == 1
    await world.live_until(MONDAY_9 + timedelta(seconds=125))
    switch = world.sender.sent[-1]
    assert switch.reply.text.startswith("Switch sides")
    await countdown.tick()
    assert world.sender.edits[-1][0] == switch.message_id
    assert "Side 2 of 2 · 1:55 left" in world.sender.edits[-1][1].text
    assert countdown.tally.edited == 2


async def test_the_countdown_sheds_beyond_its_share_and_when_told_to_slow_down(
    database_url: str,
) -> None:
    async with make_world(database_url) as world:
        for user_id in range(3001, 3031):  # 30 holds running at once
            await add_user(world, user_id=user_id)
            first = (await world.chat(user_id).command("stretch")).replies[0]
            await world.chat(user_id).press(data_of(first, "Ready"), first.message_id)
        world.clock.now += timedelta(seconds=25)
        # A share of 1 edit/s over a 20 s period, paced to end within 16 s: 16 edits, one
        # a second; the 14 others are shed.
        pauses: list[float] = []

        async def pause(seconds: float) -> None:
            pauses.append(seconds)

        countdown = Countdown(world.services, world.sender, share_per_second=1.0, sleep=pause)
        await countdown.tick()
        assert (countdown.tally.edited, countdown.tally.shed) == (16, 14)
        assert len({message_id for message_id, _reply in world.sender.edits}) == 16
        assert len(pauses) == 16 and all(0.9 < p <= 1.0 for p in pauses)
        # Flood control: the first refused edit ends the tick; nothing is retried.
        refused = Countdown(world.services, SlowDownSender(world.clock), sleep=pause)
        await refused.tick()
        assert refused.tally.edited == 0 and refused.tally.failed == 1
        assert refused.tally.shed == 29
