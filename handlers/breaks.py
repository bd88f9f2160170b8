"""Guided breaks: starting one, each position and the moments of its hold, stopping for pain.

    answer = await start_break(turn, brk)     # e.g. a pending reminder's "Start now"

/stretch starts a desk break now (a pending reminder's break if there is one), /routine
the whole sequence; the first break needing equipment, and every /routine, opens with a
checklist. Each position is one message: set-up first, then Ready (or a "ready" row after
SETUP_WAIT) starts its hold in that message, the live message. The moments of the hold
(a cue as an edit of the live message, the side switch, "done") are due rows of kind
"step", sent by `StepJob`, so a restart mid-hold resumes on time. Every row carries the
break's position index and attempt: pressing next, repeat or continue bumps the attempt,
and older rows then skip themselves. Between the moments, bot/adapter/countdown.py keeps
the live message's time left up to date (`live_holds`), when the outbox is not behind.

After a hold's "done" the break waits for a button. An "abandon" row (`AbandonJob`),
ABANDON_AFTER the end of the current hold, ends a break nobody continued as partial and
edits its last message quietly (an edit sends no notification). After the last position
the break asks for pain and stiffness (status "rating", user.step "rate:<break>"; see
handlers/ratings.py); left unanswered for RATING_WAIT, it is saved without ratings, silently.

Safety: "it hurts", a pain rating of 7 or more, or a pain rating 2 or more above the
latest baseline stops the break and points to a professional (and the operator's studio).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import guided_break as plan
from bot.domain.callbacks import BreakControl, ShowPictures
from bot.domain.content import Position, Program, as_place
from bot.domain.replies import Answer, Reply, caption_fits
from bot.domain.safety import (
    ask_before_stretching,
    eased_note,
    eased_positions,
    screening_reply,
    stop_pain_question,
)
from bot.outbox import due
from bot.outbox.dispatcher import Action, Edit, Send, Skip
from bot.storage.models import Assessment, Break, DueMessage, User
from bot.storage.records import latest_check
from handlers.planning import rest_after_stop, resting_until
from handlers.turn import Services, Turn

ACTIVE, RATING = "active", "rating"
# Two stops for pain within this long suggest seeing a professional before going on.
STOPS_WINDOW = timedelta(days=7)
STEP_KIND, ABANDON_KIND = "step", "abandon"


# ------------------------------------------------------------------------------------------
# Finding and changing breaks


async def _latest(session: AsyncSession, user_id: int, status: str) -> Break | None:
    return await session.scalar(
        select(Break).where(Break.user_id == user_id, Break.status == status)
        .order_by(Break.id.desc()).limit(1)
    )


async def drop_rows(session: AsyncSession, brk: Break) -> None:
    """Unsent follow-ups of this break will not be needed (claimed ones skip themselves)."""
    await session.execute(
        delete(DueMessage).where(DueMessage.break_id == brk.id, DueMessage.status == "pending",
                                 DueMessage.kind.in_((STEP_KIND, ABANDON_KIND)))
    )


def _ready_key(brk: Break) -> str:
    """The key of the row that starts the current position's hold if nobody taps Ready."""
    return f"step:{brk.id}:{brk.position_index}:{brk.attempt}:ready"


def _current_position(program: Program, brk: Break) -> Position:
    return program.position(brk.positions[brk.position_index])


async def _begin_setup(session: AsyncSession, program: Program, brk: Break,
                       now: datetime) -> datetime:
    """The current position waits for Ready; a "ready" row starts its hold if nobody taps.
    Returns when that row is due."""
    await drop_rows(session, brk)
    brk.hold_started_at = None
    position = _current_position(program, brk)
    ready_at = now + plan.SETUP_WAIT
    payload = {"index": brk.position_index, "attempt": brk.attempt, "stage": "ready"}
    await due.schedule(session, brk.user_id, STEP_KIND, _ready_key(brk), ready_at, payload,
                       brk.id)
    await _schedule_abandon(session, brk, ready_at + plan.abandon_offset(
        plan.hold_seconds(position, brk.short)))
    return ready_at


async def _schedule_abandon(session: AsyncSession, brk: Break, at: datetime) -> None:
    await due.schedule(
        session, brk.user_id, ABANDON_KIND,
        f"abandon:{brk.id}:{brk.position_index}:{brk.attempt}:{int(at.timestamp())}",
        at, {"index": brk.position_index, "attempt": brk.attempt}, brk.id)


async def begin_hold(session: AsyncSession, program: Program, brk: Break,
                     now: datetime) -> datetime:
    """Starts the current position's clock: each moment of the hold becomes a due row (a
    cue edit, the side switch, "Time!"), so a restart mid-hold resumes on time. Returns
    when the first is due."""
    await drop_rows(session, brk)
    brk.hold_started_at = now
    position = _current_position(program, brk)
    steps = plan.hold_steps(position, as_place(brk.place), brk.short)
    for number, step in enumerate(steps):
        # A cue that would arrive after the next moment is due is not worth sending.
        later = steps[number + 1].at if number + 1 < len(steps) else None
        until = now + timedelta(seconds=later) if later is not None \
            else now + plan.abandon_offset(step.at)
        payload = {"index": brk.position_index, "attempt": brk.attempt, "stage": step.stage,
                   "at": step.at, "until": until.isoformat()}
        await due.schedule(
            session, brk.user_id, STEP_KIND,
            f"step:{brk.id}:{brk.position_index}:{brk.attempt}:{step.stage}{step.at}",
            now + timedelta(seconds=step.at), payload, brk.id)
    await _schedule_abandon(session, brk, now + plan.abandon_offset(
        plan.hold_seconds(position, brk.short)))
    return now + timedelta(seconds=steps[0].at)


def mark_done(brk: Break) -> None:
    position_id = brk.positions[brk.position_index]
    if position_id not in brk.positions_done:
        # A new list: a JSON column notices assignment, not changes in place.
        brk.positions_done = [*brk.positions_done, position_id]


async def _ask_rating(session: AsyncSession, user: User, brk: Break, now: datetime) -> datetime:
    """The holds are over: wait for pain and stiffness, typed or tapped."""
    brk.status, brk.ended_at = RATING, now
    if user.step is None or user.step.startswith("rate:"):
        user.step = f"rate:{brk.id}"
    at = now + plan.RATING_WAIT
    await due.schedule(session, user.id, ABANDON_KIND, f"unrated:{brk.id}", at,
                       {"stage": "rating"}, brk.id)
    return at


def clear_step(user: User, brk: Break) -> None:
    if user.step == f"rate:{brk.id}" or (user.step or "").startswith(f"rate:{brk.id}:"):
        user.step = None


async def _close_unrated(session: AsyncSession, user: User) -> None:
    """A break still waiting for its rating is saved without one when a new one starts."""
    brk = await _latest(session, user.id, RATING)
    if brk is not None:
        brk.status = plan.outcome(brk.positions, brk.positions_done)
        clear_step(user, brk)
        await drop_rows(session, brk)


# ------------------------------------------------------------------------------------------
# Starting


async def sequence_for(session: AsyncSession, program: Program, user: User,
                       short: bool) -> tuple[list[plan.Item], tuple[str, ...]]:
    """The user's sequence (safe for their screening answers, without what their latest
    self-check found painful) and the positions eased off for that reason."""
    return safe_sequence(program, user, short, await latest_check(session, user.id))


def safe_sequence(program: Program, user: User, short: bool, check: Assessment | None
                  ) -> tuple[list[plan.Item], tuple[str, ...]]:
    """`sequence_for`, given the user's latest self-check (read for many users at once)."""
    conditions = user.screening or ()
    eased = eased_positions(program, check.answers, conditions) if check is not None else ()
    return plan.sequence_of(program, short, conditions, eased), eased


def _refused(turn: Turn) -> Answer | None:
    """No session for an unsubscribed user: nothing would reach them."""
    if not turn.user.active:
        return Answer().say(turn.t("You're unsubscribed, so I can't time a break for you. "
                                   "Send /start to come back."))
    return None


async def start_break(turn: Turn, brk: Break, gentle: bool = False) -> Answer:
    """Starts a pending break now: plans its positions and sends the first one. A gentle
    break (offered after a stop for pain) has short holds."""
    user, program = turn.user, turn.services.program
    if (refused := _refused(turn)) is not None:
        return refused
    going = await _latest(turn.session, user.id, ACTIVE)
    if going is not None and going.id != brk.id:
        return answer_with(plan.already_going(going, user.language), edit=False)
    if user.screening is None:  # the safety questions come before the first stretch
        return answer_with(screening_reply(user.language), edit=False)
    await _close_unrated(turn.session, user)
    short = user.short_holds or gentle
    sequence, eased = await sequence_for(turn.session, program, user, short)
    if brk.kind == "routine":
        positions = [item.position_id for item in sequence]
    else:  # planned now, from where the last break stopped (the reminder named the same)
        positions, user.rotation = plan.plan_desk_break(sequence, user.rotation)
    brk.positions, brk.positions_done = positions, []
    brk.status, brk.started_at, brk.ended_at = ACTIVE, turn.now, None
    brk.place, brk.position_index, brk.attempt = user.place, 0, (brk.attempt or 0)
    brk.short = short
    ready = _to_have_ready(program, user, brk)
    notes = ([eased_note(program, eased, user.language)] if eased else []) \
        + ([plan.checklist(program, ready, user.language)] if ready else [])
    before = "\n\n".join(notes)
    first = await _show_position(turn, brk, before)
    answer = answer_with(first, toast=turn.t("Let's go!"))
    if before and not first.text.startswith(before):
        answer.replies.insert(0, Reply(before))  # kept apart: see _show_position
    if brk.kind == "routine" and turn.services.pictures is not None:
        # The overview: the whole sequence at a glance, before its first position.
        answer.replies.insert(0, _album_reply(turn, positions, brk.place, turn.t(
            "The whole routine, in order:")))
    return answer


def _album_reply(turn: Turn, positions: list[str], place: str, heading: str) -> Reply:
    """The pictures of `positions` as albums, then their names as a numbered list: a
    phone shows an album's captions only one picture at a time."""
    album = pictures_album(turn.services, positions, place, turn.user.language)
    names = [f"{number}. {turn.t(turn.services.program.position(p).variant(as_place(place)).name)}"
             for number, p in enumerate(positions, start=1)]
    return Reply("\n".join([heading, *names]), album=album)


def pictures_album(services: Services, positions: list[str], place: str,
                   language: str) -> tuple[tuple[str, str], ...]:
    """Each position's picture captioned with its number and name, for an album."""
    assert services.pictures is not None
    variant_place = as_place(place)
    return tuple(
        (services.pictures.key_for(position_id, variant_place),
         plan.numbered_name(services.program, position_id, variant_place, number, len(positions),
                            language))
        for number, position_id in enumerate(positions, start=1))


async def show_pictures(turn: Turn, _tap: ShowPictures) -> Answer:
    """ "What the positions look like": the user's positions at their place, in order."""
    if turn.services.pictures is None:
        return Answer(toast=turn.t("Pictures are not available right now."))
    positions = [item.position_id for item in
                 plan.sequence_of(turn.services.program, False, turn.user.screening or ())]
    heading = turn.t("Every position in the order /routine takes them, for where you take "
                     "your breaks (/settings changes it; /stretch starts a break):")
    return Answer(replies=[_album_reply(turn, positions, turn.user.place, heading)],
                  toast=turn.t("Pictures"))


def picture_of(services: Services, brk: Break) -> str | None:
    """The key of the current position's picture, at the break's place."""
    if services.pictures is None:
        return None
    return services.pictures.key_for(brk.positions[brk.position_index], as_place(brk.place))


def _to_have_ready(program: Program, user: User, brk: Break) -> list[str]:
    """The equipment to list before this break: all of it for /routine, otherwise what
    the user has not been told about yet (a desk has nothing to fetch)."""
    at_desk = set(program.places.offers("desk"))
    place = as_place(brk.place)
    needed = dict.fromkeys(item for position_id in brk.positions
                           for item in program.position(position_id).variant(place).equipment
                           if item not in at_desk)
    items = list(needed) if brk.kind == "routine" else \
        [item for item in needed if item not in user.equipment_told]
    if items:
        user.equipment_told = [*user.equipment_told,
                               *(item for item in items if item not in user.equipment_told)]
    return items


def answer_with(reply: Reply, toast: str | None = None, edit: bool = True) -> Answer:
    """An answer with one prepared reply; `edit` replaces the message whose button was pressed."""
    return Answer(replies=[replace(reply, edit=edit)], toast=toast)


async def _show_position(turn: Turn, brk: Break, before: str = "") -> Reply:
    """The current position's set-up message, with its picture (after `before`, if any); it
    becomes the live message its hold edits."""
    turn.wake(await _begin_setup(turn.session, turn.services.program, brk, turn.now))
    reply = plan.position_reply(turn.services.program, brk, turn.user.place, turn.user.language)
    reply = replace(reply, picture=picture_of(turn.services, brk))
    joined = before + "\n\n" + reply.text
    # With a picture, the position keeps its caption when only `before` makes it too long:
    # the caller then sends `before` on its own, first. A text too long anyway follows
    # the picture, `before` included.
    if before and (reply.picture is None or caption_fits(joined)
                   or not caption_fits(reply.text)):
        reply = replace(reply, text=joined)
    return _becomes_live(turn, brk, reply)


def _becomes_live(turn: Turn, brk: Break, reply: Reply) -> Reply:
    """`reply` (an edit) becomes the live message: the pressed message when it can take
    its place, else a new one whose id is recorded once sent (`remember_live_message`)."""
    if turn.message_id is not None and reply.replaces(turn.pressed_photo):
        brk.message_id, brk.message_captioned = turn.message_id, turn.pressed_photo
    else:
        brk.message_id = None
        brk.message_captioned = reply.picture is not None and caption_fits(reply.text)
    return replace(reply, edit=True, live_of=(brk.id, brk.attempt))


async def remember_live_message(services: Services, break_id: int, attempt: int,
                                message_id: int, captioned: bool) -> None:
    """A break's live message went out as a new message: its cues and countdown edit it,
    and the set-up minute before the hold starts by itself counts from its arrival (a
    first upload of its picture may have taken a while)."""
    async with services.database.session() as session:
        owner = await session.scalar(select(Break.user_id).where(Break.id == break_id))
        if owner is None:
            return
        # The user's row first, as every turn and the dispatcher take it.
        await session.get(User, owner, with_for_update=True)
        brk = await session.get(Break, break_id, with_for_update=True)
        # Already set: the hold started by itself meanwhile, in a message of its own.
        if brk is None or brk.attempt != attempt or brk.status != ACTIVE \
                or brk.message_id is not None:
            return
        brk.message_id, brk.message_captioned = message_id, captioned
        if brk.hold_started_at is None:
            await session.execute(
                update(DueMessage).where(
                    DueMessage.break_id == brk.id, DueMessage.status == "pending",
                    DueMessage.key == _ready_key(brk))
                .values(due_at=services.clock() + plan.SETUP_WAIT))


async def _ready(turn: Turn, brk: Break) -> Answer:
    """Ready: the hold's clock starts now, in the message whose button was pressed."""
    if brk.hold_started_at is not None:
        return Answer(toast=turn.t("The clock is already running."))
    program = turn.services.program
    turn.wake(await begin_hold(turn.session, program, brk, turn.now))
    live = plan.hold_reply(program, brk, turn.user.place, turn.user.language, 0)
    return Answer(replies=[_becomes_live(turn, brk, live)], toast=turn.t("Go!"))


async def _new_break(turn: Turn, kind: str, gentle: bool = False) -> Answer:
    if (refused := _refused(turn)) is not None:
        return refused
    going = await _latest(turn.session, turn.user.id, ACTIVE)
    if going is not None:
        return answer_with(plan.already_going(going, turn.user.language), edit=False)
    rest_end = resting_until(turn.user)
    if not gentle and rest_end is not None and turn.now < rest_end:
        return answer_with(ask_before_stretching(turn.user.language), edit=False)
    pending = await _latest(turn.session, turn.user.id, "pending")
    if kind == "stretch" and pending is not None:
        return await start_break(turn, pending, gentle)  # the reminder's break, now
    brk = Break(user_id=turn.user.id, kind=kind, status="pending", planned_at=turn.now,
                place=turn.user.place, positions=[], positions_done=[],
                position_index=0, attempt=0, snoozes=0, stopped_for_pain=False)
    turn.session.add(brk)
    await turn.session.flush()
    return await start_break(turn, brk, gentle)


async def gentle_break(turn: Turn) -> Answer:
    """A gentle /stretch, chosen after a stop for pain."""
    return await _new_break(turn, "stretch", gentle=True)


async def stretch(turn: Turn) -> Answer:
    return await _new_break(turn, "stretch")


async def routine(turn: Turn) -> Answer:
    return await _new_break(turn, "routine")


# ------------------------------------------------------------------------------------------
# Session buttons: next, repeat, it hurts, other variant, continue, end


def no_longer_active(turn: Turn) -> Answer:
    return Answer(toast=turn.t("That button is no longer active."))


async def on_session_button(turn: Turn, control: BreakControl) -> Answer:
    brk = await turn.own(Break, control.break_id)
    if brk is None:
        return no_longer_active(turn)
    if control.action == "h":
        if brk.status not in (ACTIVE, RATING):
            return Answer(toast=turn.t("This break has already ended."))
        return await stop_for_pain(turn, brk, "button")
    # A repeat may also come from the last position's rating question.
    open_states = (ACTIVE, RATING) if control.action == "r" else (ACTIVE,)
    if brk.status not in open_states:
        return Answer(toast=turn.t("This break has already ended."))
    if control.action == "c":
        return await _restart(turn, brk, turn.t("Welcome back"))
    if control.action == "e":
        return await _end(turn, brk)
    if (control.index, control.attempt) != (brk.position_index, brk.attempt) \
            or brk.position_index >= len(brk.positions):
        return Answer(toast=turn.t("That button is from an earlier step of this break."))
    if control.action == "n":
        return await _next(turn, brk)
    if control.action == "g":
        return await _ready(turn, brk)
    if control.action == "v":
        brk.place = plan.other_place(brk.place, turn.user.place)
    return await _restart(turn, brk, turn.t("Again!") if control.action == "r"
                          else turn.t("Switched"))


async def _restart(turn: Turn, brk: Break, toast: str) -> Answer:
    """The current position starts over (repeat, other variant, continue)."""
    if brk.status == RATING:
        brk.status, brk.ended_at = ACTIVE, None
        clear_step(turn.user, brk)
    brk.attempt += 1
    return answer_with(await _show_position(turn, brk), toast=toast)


async def _next(turn: Turn, brk: Break) -> Answer:
    mark_done(brk)
    if brk.position_index + 1 >= len(brk.positions):
        return await _to_rating(turn, brk)
    brk.position_index += 1
    brk.attempt += 1
    return answer_with(await _show_position(turn, brk), toast=turn.t("Next"))


async def _to_rating(turn: Turn, brk: Break) -> Answer:
    await drop_rows(turn.session, brk)
    brk.position_index = len(brk.positions)  # no current position: its rows are all stale
    turn.wake(await _ask_rating(turn.session, turn.user, brk, turn.now))
    return answer_with(plan.rating_prompt(brk, turn.user.language, finished=True, repeat=None))


async def _end(turn: Turn, brk: Break) -> Answer:
    if brk.positions_done:
        return await _to_rating(turn, brk)
    await drop_rows(turn.session, brk)
    brk.status, brk.ended_at = "partial", turn.now
    return Answer(toast=turn.t("Ended")).say(
        turn.t("Break ended. /stretch starts a new one whenever you like."), edit=True)


async def stop_for_pain(turn: Turn, brk: Break, reason: str, pain: int | None = None,
                        baseline: int | None = None) -> Answer:
    """Ends the break at once and says plainly why, with where to get help; the stop holds
    for the rest of the work day (handlers/planning.py `rest_after_stop`)."""
    await drop_rows(turn.session, brk)
    if brk.status == ACTIVE:
        brk.status = "partial"
    elif brk.status == RATING:
        brk.status = plan.outcome(brk.positions, brk.positions_done)
    elif brk.status == "pending":  # said at a reminder, before starting
        brk.status = "skipped"
    brk.stopped_for_pain, brk.stop_pain = True, pain
    brk.ended_at = brk.ended_at or turn.now
    clear_step(turn.user, brk)
    await rest_after_stop(turn)
    stops = await turn.session.scalar(
        select(func.count()).select_from(Break).where(
            Break.user_id == turn.user.id, Break.stopped_for_pain.is_(True),
            Break.ended_at >= turn.now - STOPS_WINDOW)) or 1
    text = plan.safety_text(turn.user.language, turn.services.studio, reason, pain, baseline,
                            stops)
    answer = Answer(toast=turn.t("Stopped")).say(text)
    if pain is None:  # "it hurts" carries no number: one optional tap records it
        answer.replies.append(stop_pain_question(brk.id, turn.user.language))
    return answer


# ------------------------------------------------------------------------------------------
# The countdown: what each running hold's live message shows now (bot/adapter/countdown.py)


@dataclass(frozen=True)
class LiveHold:
    chat_id: int
    message_id: int
    reply: Reply


# A due message still unsent this long after its time means sends are behind.
BEHIND_AFTER = timedelta(seconds=0.5)


async def outbox_behind(session: AsyncSession, now: datetime) -> bool:
    """Whether a due message (a reminder, a moment of a hold) is late going out: those
    always go before a countdown update. (One being sent right now is not late.)"""
    found = await session.scalar(
        select(DueMessage.id).where(DueMessage.due_at <= now - BEHIND_AFTER,
                                    DueMessage.status.in_(("pending", "claimed"))).limit(1))
    return found is not None


async def live_holds(session: AsyncSession, program: Program, now: datetime,
                     limit: int) -> tuple[list[LiveHold], int]:
    """Up to `limit` running holds (a random pick, so none is always left out) with the
    live message each should show now, and how many holds are running in all."""
    running = (Break.status == ACTIVE, Break.hold_started_at.is_not(None),
               Break.message_id.is_not(None))
    total = await session.scalar(select(func.count()).select_from(Break).where(*running)) or 0
    rows = (await session.execute(
        select(Break, User).join(User, User.id == Break.user_id)
        .where(*running, User.active.is_(True)).order_by(func.random()).limit(limit))).all()
    # A side-two view belongs in the switch message: wait for that to be sent.
    switched = set((await session.execute(
        select(DueMessage.break_id, DueMessage.key).where(
            DueMessage.break_id.in_([brk.id for brk, _user in rows]),
            DueMessage.kind == STEP_KIND, DueMessage.status == "sent",
            DueMessage.key.like("%:switch%")))).all())
    holds: list[LiveHold] = []
    for brk, user in rows:
        try:
            position = _current_position(program, brk)
        except (KeyError, IndexError):
            continue
        assert brk.hold_started_at is not None and brk.message_id is not None
        elapsed = (now - brk.hold_started_at).total_seconds()
        side = plan.side_seconds(position, brk.short)
        if not 0 <= elapsed < plan.hold_seconds(position, brk.short):
            continue
        switch_key = f"step:{brk.id}:{brk.position_index}:{brk.attempt}:switch{side}"
        if position.side_count == 2 and (elapsed >= side) != ((brk.id, switch_key) in switched):
            continue
        live = plan.hold_reply(program, brk, user.place, user.language, elapsed)
        holds.append(LiveHold(user.chat_id, brk.message_id, on_live(brk, live)))
    return holds, total


# ------------------------------------------------------------------------------------------
# Due rows: the moments of a hold, and the end of an abandoned break


def _current(row: DueMessage, brk: Break) -> bool:
    """Whether a row was made for the break's current position and attempt."""
    index, attempt = row.payload.get("index"), row.payload.get("attempt")
    return (index, attempt) == (brk.position_index, brk.attempt) \
        and brk.position_index < len(brk.positions)


def on_live(brk: Break, reply: Reply) -> Reply:
    """An edit of the break's live message: of its caption when it is a photo."""
    return replace(reply, caption=brk.message_captioned)


class StepJob:
    """One moment of a position, if still current: the hold starting by itself after the
    set-up time ("ready"), a cue ("cue", an edit), the side switch, then "done"."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.program = services.program

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        brk = await session.get(Break, row.break_id, with_for_update=True) \
            if row.break_id else None
        stage = str(row.payload.get("stage"))
        if brk is None or not _current(row, brk):
            return Skip("the break moved on", status="cancelled")
        index = brk.position_index
        last = index + 1 >= len(brk.positions)
        # A retried "done" of the last position finds the rating already being asked.
        if brk.status != ACTIVE and not (stage == "done" and last and brk.status == RATING):
            return Skip("the break has ended", status="cancelled")
        try:
            position = self.program.position(brk.positions[index])
        except KeyError:
            return Skip("the position is no longer in the content", status="cancelled")
        if stage == "ready":
            return await self._start_clock(session, brk, user, now)
        if brk.hold_started_at is None:
            return Skip("the hold has not started", status="cancelled")
        until = row.payload.get("until")
        late = isinstance(until, str) and now >= datetime.fromisoformat(until)
        at = row.payload.get("at")
        elapsed = at if isinstance(at, int) else 0
        if stage in ("cue", "switch"):
            if late:
                return Skip("too late for this cue")
            live = plan.hold_reply(self.program, brk, user.place, user.language, elapsed)
            if stage == "switch":
                return Send(self._new_live(brk, live))
            if brk.message_id is None:
                return Skip("no live message to edit")
            return Edit(brk.message_id, on_live(brk, live))
        mark_done(brk)
        if last:
            if brk.status == ACTIVE:
                await _ask_rating(session, user, brk, now)
            repeat = BreakControl(brk.id, index, brk.attempt, "r")
            brk.message_captioned = False  # the latest message is text from now on
            return Send(plan.rating_prompt(brk, user.language, finished=False, repeat=repeat))
        if late:  # the abandon row is due too: let it end the break
            return Skip("too late to go on")
        brk.message_captioned = False
        return Send(plan.done_reply(self.program, brk, position, user.language))

    async def _start_clock(self, session: AsyncSession, brk: Break, user: User,
                           now: datetime) -> Action:
        """Nobody tapped Ready: the hold starts anyway, in the position message when it
        can be edited, otherwise in a new message that makes no sound."""
        if brk.hold_started_at is not None:
            return Skip("Ready was tapped", status="cancelled")
        await begin_hold(session, self.program, brk, now)
        live = plan.hold_reply(self.program, brk, user.place, user.language, 0)
        if brk.message_id is not None:
            return Edit(brk.message_id, on_live(brk, live))
        return Send(self._new_live(brk, replace(live, silent=True)))

    def _new_live(self, brk: Break, live: Reply) -> Reply:
        """A hold's view sent as a new message, with the position's picture: the message
        the rest of the hold edits (`delivered` records its id)."""
        picture = picture_of(self.services, brk)
        brk.message_captioned = picture is not None and caption_fits(live.text)
        return replace(live, picture=picture)

    async def delivered(
        self, session: AsyncSession, row: DueMessage, user: User, message_id: int | None,
        now: datetime,
    ) -> None:
        brk = await session.get(Break, row.break_id) if row.break_id else None
        if brk is not None and message_id is not None:
            brk.message_id = message_id  # the latest message: what cues and an abandon edit

    async def undeliverable(self, *_args: object) -> None:
        return None  # the abandon row ends the break anyway


class AbandonJob:
    """Ends a break nobody continued (partial), or saves one left unrated."""

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        brk = await session.get(Break, row.break_id, with_for_update=True) \
            if row.break_id else None
        if brk is None:
            return Skip("no such break", status="cancelled")
        if row.payload.get("stage") == "rating":
            if brk.status != RATING:
                return Skip("rated in time", status="cancelled")
            brk.status = plan.outcome(brk.positions, brk.positions_done)
            clear_step(user, brk)
            return Skip("saved without a rating")
        if brk.status != ACTIVE or not _current(row, brk):
            return Skip("the break went on", status="cancelled")
        brk.status, brk.ended_at = "partial", now
        if brk.message_id is None:
            return Skip("abandoned")
        return Edit(brk.message_id, on_live(brk, plan.abandoned_reply(brk, user.language)))

    async def delivered(self, *_args: object) -> None:
        return None

    async def undeliverable(self, *_args: object) -> None:
        return None

