"""Break reminders: sending them, their buttons, their expiry.

The next break is planned by handlers/planning.py as a "reminder" due row; `ReminderJob`
sends it (and plans the one after). A snoozed reminder, or one moved for a meeting, is a
"snooze" row and an unanswered reminder's end is an "expire" row, so a restart loses none
of them. Each press bumps the break's `snoozes`, so an expiry row made before it (keyed by
the count) skips itself; the break's row is locked for the turn (`Turn.own`), so a press
and the expiry job never both decide.

Buttons: Start now; Snooze 10 min; In a meeting (30 min / 1 h / until my next free slot:
the break moves, joins the next one when it would come too close to it, or is dropped
past the work window; the rest of the day's plan stays); I moved already (done without a
guided break); Skip this one. After three reminders in a row skipped or missed, the next
one asks whether the plan fits instead (handlers/plan_fit.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import guided_break as plan
from bot.domain import meetings
from bot.domain.callbacks import ReminderChoice
from bot.domain.content import Program
from bot.domain.i18n import _
from bot.domain.meetings import Dropped, Merged, Moved
from bot.domain.replies import Answer, Button, Reply
from bot.domain.safety import check_in_reply
from bot.domain.schedule import (
    expires_at,
    next_break_at,
    snooze_until,
    still_useful,
    window_of,
)
from bot.domain.timefmt import local_time
from bot.outbox import due
from bot.outbox.dispatcher import Action, Edit, Send, Skip
from bot.storage.calendar import busy_times
from bot.storage.db import among, update_from_values
from bot.storage.models import Assessment, Break, DueMessage, User
from bot.storage.records import latest_check, latest_checks
from handlers.breaks import safe_sequence, start_break
from handlers.plan_fit import check_in_end, plan_fit_reply
from handlers.planning import (
    SNOOZE_KIND,
    describe_next,
    next_planned,
    next_reminders,
    plan_next,
    preferences,
    resting_until,
)
from handlers.turn import Services, Turn

SNOOZE_MINUTES = 10
K = TypeVar("K")
V = TypeVar("V")
# A reminder that falls due during a break looks again this often until the break is over.
WAIT_STEP = timedelta(seconds=20)


def _planned_at(row: DueMessage) -> datetime:
    """When a reminder was planned for: its (first) due time, or the original one if it
    waited."""
    planned = row.payload.get("planned") if row.payload else None
    return datetime.fromisoformat(planned) if isinstance(planned, str) else due.first_due(row)


def _slot_of(row: DueMessage) -> datetime | None:
    """The usual break time a reminder stands for (None for rows planned before slots were
    kept)."""
    slot = row.payload.get("slot") if row.payload else None
    return datetime.fromisoformat(slot) if isinstance(slot, str) else None


@functools.cache
def _button_labels(language: str) -> tuple[str, str, str, str, str]:
    def t(text: str) -> str:  # named t so that the extraction finds the labels
        return _(text, language)

    return (t("Start now"), t("Snooze 10 min"), t("In a meeting"), t("I moved already"),
            t("Skip this one"))


def reminder_buttons(user: User, break_id: int) -> tuple[tuple[Button, ...], ...]:
    go, snooze, meet, moved, skip = _button_labels(user.language)
    return (
        (Button(go, ReminderChoice(break_id, "go")),),
        (Button(snooze, ReminderChoice(break_id, "snooze")),
         Button(meet, ReminderChoice(break_id, "meet"))),
        (Button(moved, ReminderChoice(break_id, "moved")),
         Button(skip, ReminderChoice(break_id, "skip"))),
    )


def reminder_text(program: Program, user: User, positions: Sequence[str]) -> str:
    text = _("Time for a stretch break for your hips, right where you are.", user.language)
    if positions:
        text += "\n" + plan.break_summary(program, positions, user.place, user.short_holds,
                                          user.language)
    return text


def reminder_reply(program: Program, user: User, brk: Break) -> Reply:
    return Reply(reminder_text(program, user, brk.positions), reminder_buttons(user, brk.id))


class _Remembered:
    """What reminders say and plan, by what it depends on: a batch sends the same few texts
    and breaks to many users, and the content never changes while the bot runs. Bounded:
    each emptied when full."""

    LIMIT = 4096

    def __init__(self, program: Program) -> None:
        self.program = program
        self._texts: dict[tuple[str, tuple[str, ...], str, bool], str] = {}
        self._positions: dict[tuple[bool, tuple[str, ...], tuple[Any, ...], int],
                              tuple[str, ...]] = {}

    def reply(self, user: User, break_id: int, positions: Sequence[str]) -> Reply:
        """The reminder (language, positions, place, hold length)."""
        key = (user.language, tuple(positions), user.place, user.short_holds)
        text = self._remember(self._texts, key,
                              lambda: reminder_text(self.program, user, positions))
        return Reply(text, reminder_buttons(user, break_id))

    def positions(self, user: User, check: Assessment | None) -> list[str]:
        """The next desk break's positions, from where the last one stopped (hold length,
        screening, the latest self-check's answers, place in the rotation)."""
        answers = tuple(sorted(check.answers.items())) if check is not None else ()
        key = (user.short_holds, tuple(user.screening or ()), answers, user.rotation)

        def plan_them() -> tuple[str, ...]:
            sequence, _eased = safe_sequence(self.program, user, user.short_holds, check)
            return tuple(plan.plan_desk_break(sequence, user.rotation)[0])

        positions: tuple[str, ...] = self._remember(self._positions, key, plan_them)
        return list(positions)

    def _remember(self, store: dict[K, V], key: K, work_out: Callable[[], V]) -> V:
        value = store.get(key)
        if value is None:
            if len(store) >= self.LIMIT:
                store.clear()
            value = store[key] = work_out()
        return value


async def _locked(session: AsyncSession, break_id: int | None) -> Break | None:
    """The break, locked until the job's commit: a button pressed meanwhile waits for it
    (and then sees what the job decided) instead of being overwritten by it."""
    return await session.get(Break, break_id, with_for_update=True) if break_id else None


async def _running(session: AsyncSession, user_id: int) -> bool:
    """Whether one of the user's breaks is going on (setting up or holding)."""
    found = await session.scalar(
        select(Break.id).where(Break.user_id == user_id, Break.status == "active").limit(1))
    return found is not None


async def _close_unanswered(session: AsyncSession, user_id: int, now: datetime) -> None:
    """A reminder still unanswered when the next one comes counts as missed."""
    await session.execute(
        update(Break)
        .where(Break.user_id == user_id, Break.status == "pending")
        .values(status="missed", ended_at=now)
    )


# Every column of a new break, with the defaults the ORM would give it: the multi-row
# INSERT that bypasses the ORM sends the same columns for every row.
_unset: dict[str, Any] = {
    **{column.key: None for column in cast(Table, Break.__table__).columns
       if column.key != "id"},
    "position_index": 0, "attempt": 0, "short": False, "snoozes": 0,
    "message_captioned": False, "stopped_for_pain": False}


async def _plan_fit_due(session: AsyncSession, row: DueMessage, user: User,
                        now: datetime) -> bool:
    """Whether this reminder gives way to "does the plan fit?"; if so, recorded on the user
    and on the row (a retried send asks again rather than sending a reminder)."""
    if row.payload and row.payload.get("plan_fit"):
        return True
    # The reminder still waiting above counts too: this one closes it as missed.
    latest = (await session.execute(
        select(Break.status, Break.stopped_for_pain)
        .where(Break.user_id == user.id, Break.kind == "reminder",
               Break.planned_at < _planned_at(row))
        .order_by(Break.planned_at.desc()).limit(meetings.IN_A_ROW))).all()
    outcomes = [("missed" if status == "pending" else status, bool(for_pain))
                for status, for_pain in latest]
    if not meetings.plan_fit_due(outcomes, user.plan_fit_at, now):
        return False
    user.plan_fit_at = now
    payload = {**(row.payload or {}), "plan_fit": True}
    await session.execute(
        update(DueMessage).where(DueMessage.id == row.id).values(payload=payload))
    row.payload = payload
    return True


async def _maybe_plan_fit(session: AsyncSession, items: Sequence[tuple[DueMessage, User]],
                          now: datetime) -> set[int]:
    """The rows of `items` whose reminder may give way to "does the plan fit?" (prepare
    decides), from every user's latest reminded breaks in one query."""
    asked = [user.id for _row, user in items if user.pain_stop_at is None]
    if not asked:
        return set()
    ranked = (select(Break.user_id, Break.status, Break.stopped_for_pain,
                     func.row_number().over(partition_by=Break.user_id,
                                            order_by=Break.planned_at.desc()).label("n"))
              .where(among(session, Break.user_id, asked), Break.kind == "reminder")
              .subquery())
    latest: dict[int, list[tuple[str, bool]]] = {}
    for user_id, status, for_pain, _n in await session.execute(
            select(ranked).where(ranked.c.n <= meetings.IN_A_ROW).order_by(ranked.c.n)):
        latest.setdefault(user_id, []).append(
            ("missed" if status == "pending" else status, bool(for_pain)))
    return {row.id for row, user in items if user.id in latest
            and meetings.plan_fit_due(latest[user.id], user.plan_fit_at, now)}


class ReminderJob:
    """Sends a planned break reminder ("reminder") or a snoozed one ("snooze")."""

    # Its prepare ends the row once it is too late to be useful (then the break counts as
    # missed): until then a send that fails (Telegram down) is tried again, however often.
    retries_until_too_late = True

    def __init__(self, services: Services) -> None:
        self.program = services.program
        self._remembered = _Remembered(services.program)
        self.expire_after = timedelta(minutes=services.settings.reminder_expiry_minutes)
        self.grace = timedelta(minutes=services.settings.late_grace_minutes)

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        rest_end = resting_until(user)
        if row.kind == "reminder":
            planned = _planned_at(row)
            if rest_end is not None and planned < rest_end:  # a stop for pain holds
                await plan_next(session, user, rest_end)
                return Skip("resting after a stop for pain", status="cancelled")
            # The following break goes into the database before this one is sent.
            await plan_next(session, user, planned)
            if await _running(session, user.id):
                return await self._wait(session, row, user, planned, now)
            if user.pain_stop_at is None \
                    and still_useful(preferences(user), row.due_at, now, self.grace) \
                    and await _plan_fit_due(session, row, user, now):
                await _close_unanswered(session, user.id, now)
                return Send(plan_fit_reply(user.language))
            brk = await self._break_for(session, row, user, now)
        else:
            found = await _locked(session, row.break_id)
            if found is None or found.status != "pending":
                return Skip("answered before the snooze ended", status="cancelled")
            brk = found
        action = self._announce(row, user, brk.id, brk.positions, now)
        if isinstance(action, Skip):
            brk.status, brk.ended_at = "missed", now
        return action

    def _announce(self, row: DueMessage, user: User, break_id: int, positions: Sequence[str],
                  now: datetime) -> Send | Skip:
        """The reminder of a break; Skip when it is too late (the break is then missed)."""
        # (A reminder that waited out a break was checked against its window when it was
        # queued again: see _wait.) One put off by failed sends counts from its first try:
        # it keeps being tried through an outage until then, never later.
        if not still_useful(preferences(user), due.first_due(row), now, self.grace):
            return Skip("too late to be useful")
        if user.pain_stop_at is not None:  # the first reminder after a stop asks first
            return Send(check_in_reply(user.language, break_id))
        return Send(self._remembered.reply(user, break_id, positions))

    async def prepare_many(
        self, session: AsyncSession, items: Sequence[tuple[DueMessage, User]], now: datetime
    ) -> list[Action]:
        """`prepare` for many rows in a few statements: fresh reminders (nearly all) are
        planned, closed, created and linked together; any other row goes its own way."""
        fresh = {row.id for row, user in items if row.kind == "reminder"
                 and row.break_id is None and resting_until(user) is None}
        if fresh:
            # The following breaks go into the database before these are sent.
            await due.schedule_many(session, await next_reminders(session, [
                (user, _planned_at(row)) for row, user in items if row.id in fresh]))
            ids = [user.id for row, user in items if row.id in fresh]
            running = set(await session.scalars(select(Break.user_id).where(
                among(session, Break.user_id, ids), Break.status == "active")))
            fresh -= {row.id for row, user in items if user.id in running}
            # Those whose reminder gives way to "does the plan fit?" go their own way.
            fresh -= await _maybe_plan_fit(session, [(row, user) for row, user in items
                                                     if row.id in fresh], now)
        announced = [(row, user) for row, user in items if row.id in fresh]
        breaks = await self._new_breaks(session, announced, now)
        actions: list[Action] = []
        late: list[int] = []  # the new breaks' reminders found too late: missed
        for row, user in items:
            if row.id in breaks:
                break_id, positions = breaks[row.id]
                action = self._announce(row, user, break_id, positions, now)
                if isinstance(action, Skip):
                    late.append(break_id)
                actions.append(action)
            else:
                actions.append(await self.prepare(session, row, user, now))
        if late:
            await session.execute(update(Break).where(among(session, Break.id, late))
                                  .values(status="missed", ended_at=now))
        return actions

    async def _new_breaks(self, session: AsyncSession,
                          items: Sequence[tuple[DueMessage, User]],
                          now: datetime) -> dict[int, tuple[int, list[str]]]:
        """The breaks that fresh reminders announce (id, positions), by row id (see
        _break_for)."""
        if not items:
            return {}
        await session.execute(
            update(Break)
            .where(among(session, Break.user_id, [user.id for _row, user in items]),
                   Break.status == "pending")
            .values(status="missed", ended_at=now)
        )
        # One INSERT for all (the ORM inserts one row at a time where it cannot be sure of
        # the order of returned ids, as on SQLite): each user has one new break here, so the
        # ids are matched by user. Every row has the same columns, so the statement is
        # compiled once and SQLAlchemy sends the rows in multi-row batches. No ORM objects:
        # building one costs more than the rest of the break.
        checks = await latest_checks(session, [user.id for _row, user in items])
        new = {user.id: {**_unset, **self._break(row, user, checks.get(user.id))}
               for row, user in items}
        table = cast(Table, Break.__table__)
        returned = await session.execute(insert(table).returning(table.c.user_id, table.c.id),
                                         list(new.values()))
        ids: dict[int, int] = {user_id: break_id for user_id, break_id in returned}
        breaks = {row.id: (ids[user.id], new[user.id]["positions"]) for row, user in items}
        await update_from_values(session, cast(Table, DueMessage.__table__), "id", "break_id",
                                 [(row_id, brk[0]) for row_id, brk in breaks.items()])
        for row, _user in items:
            row.break_id = breaks[row.id][0]  # the claimed copy, which delivered() reads
        return breaks

    def _break(self, row: DueMessage, user: User, check: Assessment | None) -> dict[str, Any]:
        """The columns of the break a reminder announces (planned again at start)."""
        return dict(user_id=user.id, kind="reminder", status="pending",
                    planned_at=_planned_at(row), slot=_slot_of(row), place=user.place,
                    positions=self._remembered.positions(user, check), positions_done=[])

    async def _wait(self, session: AsyncSession, row: DueMessage, user: User,
                    planned: datetime, now: datetime) -> Skip:
        """A break is going on: this reminder waits for it to end, looking again every
        WAIT_STEP, unless its window is over by then."""
        again = now + WAIT_STEP
        if not self._after_break_useful(user, planned, again):
            return Skip("a break was going on until its window passed")
        slot = _slot_of(row)
        await due.schedule(session, user.id, "reminder",
                           f"wait:{planned.isoformat()}:{int(again.timestamp())}", again,
                           {"planned": planned.isoformat()}
                           | ({"slot": slot.isoformat()} if slot is not None else {}))
        return Skip("a break is going on: waits for it to end")

    def _after_break_useful(self, user: User, planned: datetime, at: datetime) -> bool:
        """A reminder that waited out a break is still worth sending at `at`: inside its
        work window and before the next break is due."""
        prefs = preferences(user)
        following = next_break_at(prefs, planned)
        return still_useful(prefs, planned, at, timedelta(days=1)) \
            and (following is None or at < following)

    async def _break_for(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Break:
        if row.break_id is not None:  # a retried row: the break already exists
            existing = await _locked(session, row.break_id)
            if existing is not None:
                return existing
        await _close_unanswered(session, user.id, now)
        brk = Break(**self._break(row, user, await latest_check(session, user.id)))
        session.add(brk)
        await session.flush()
        await session.execute(
            update(DueMessage).where(DueMessage.id == row.id).values(break_id=brk.id)
        )
        row.break_id = brk.id  # the claimed copy, which delivered() reads next
        return brk

    async def delivered(
        self, session: AsyncSession, row: DueMessage, user: User, message_id: int | None,
        now: datetime,
    ) -> None:
        await self.delivered_many(session, [(row, user, message_id)], now)

    async def delivered_many(
        self, session: AsyncSession, items: Sequence[tuple[DueMessage, User, int | None]],
        now: datetime,
    ) -> None:
        """Stores the message ids and schedules each pending break's expiry, and each plan
        check-in's end, together."""
        ends = [check_in_end(user, message_id, self._expiry(user, _planned_at(row), now))
                for row, user, message_id in items
                if row.payload and row.payload.get("plan_fit") and message_id is not None
                and user.plan_fit_at is not None]
        ids = [row.break_id for row, _user, _message_id in items if row.break_id is not None]
        if not ids:
            await due.schedule_many(session, ends)
            return
        # Locked (in id order) until the commit, as _locked does for one; read as plain
        # rows: only these columns matter here.
        breaks = {brk.id: brk for brk in await session.execute(
            select(Break.id, Break.status, Break.planned_at, Break.snoozes)
            .where(among(session, Break.id, ids)).order_by(Break.id).with_for_update())}
        message_ids = []
        expiries = []
        for row, user, message_id in items:
            brk = breaks.get(row.break_id) if row.break_id is not None else None
            if brk is None:
                continue
            message_ids.append((brk.id, message_id))
            # Snoozed or moved since this message went out (a tap can come before its
            # send is recorded): the snooze's own message gets the expiry, not this one.
            if brk.status == "pending" and brk.snoozes == _snoozes_when_sent(row):
                expiries.append(dict(user_id=user.id, kind="expire",
                                     key=f"expire:{brk.id}:{brk.snoozes}",
                                     due_at=self._expiry(user, brk.planned_at, now),
                                     break_id=brk.id))
        await update_from_values(session, cast(Table, Break.__table__), "id", "message_id",
                                 message_ids)
        await due.schedule_many(session, expiries + ends)

    def _expiry(self, user: User, planned: datetime, sent_at: datetime) -> datetime:
        """When an unanswered message in a reminder's place ends: just before the next
        reminder at the latest, so it is closed (and its buttons removed) first."""
        prefs = preferences(user)
        at = expires_at(prefs, planned, sent_at, self.expire_after)
        following = next_break_at(prefs, planned)
        return min(at, following - timedelta(seconds=1)) if following is not None else at

    async def undeliverable(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime, reason: str
    ) -> None:
        brk = await _locked(session, row.break_id)
        if brk is not None and brk.status == "pending":
            brk.status, brk.ended_at = "missed", now
        if row.kind == "reminder":  # the chain of reminders goes on
            await plan_next(session, user, row.due_at)


def _snoozes_when_sent(row: DueMessage) -> int:
    """The break's `snoozes` when this row's message was sent: a snooze row is keyed by it
    ("snooze:<break>:<snoozes>"); a break's first reminder comes before any."""
    return int(row.key.rsplit(":", 1)[1]) if row.kind == SNOOZE_KIND else 0


class ExpiryJob:
    """Ends an unanswered reminder quietly: it counts as missed and loses its buttons."""

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        brk = await _locked(session, row.break_id)
        if brk is None or brk.status != "pending" or row.key != f"expire:{brk.id}:{brk.snoozes}":
            return Skip("answered in time", status="cancelled")
        brk.status, brk.ended_at = "missed", now
        if brk.message_id is None:
            return Skip("missed")
        text = _("This break has passed; no worries, there's another one coming.",
                 user.language)
        return Edit(brk.message_id, Reply(text))

    async def delivered(self, *_args: object) -> None:
        return None

    async def undeliverable(self, *_args: object) -> None:
        return None


async def on_reminder_button(turn: Turn, tap: ReminderChoice) -> Answer:
    brk = await turn.own(Break, tap.break_id)
    if brk is None:
        return Answer(toast=turn.t("That button is no longer active."))
    if brk.status != "pending":
        return Answer(toast=turn.t("This break was already handled."))
    if tap.action == "go":
        return await start_break(turn, brk)
    if tap.action == "skip":
        return await _ended(turn, brk, "skipped", turn.t("Skipped"), turn.t("Skipped."))
    if tap.action == "moved":
        return await _ended(turn, brk, meetings.MOVED_ALREADY, turn.t("Noted"), turn.t(
            "Nice one: noted as done on your own, no guided break needed."))
    if tap.action == "meet":
        return await _meeting_choices(turn, brk)
    if tap.action == "back":
        reply = reminder_reply(turn.services.program, turn.user, brk)
        return Answer().say(reply.text, *reply.buttons, edit=True)
    if tap.action in meetings.MEETING_DELAYS:
        return await _move(turn, brk, turn.now + meetings.MEETING_DELAYS[tap.action])
    if tap.action == "free":
        return await _move_to_free_slot(turn, brk)
    at = snooze_until(preferences(turn.user), brk.planned_at, turn.now, SNOOZE_MINUTES)
    if at is None:
        return Answer(toast=turn.t("Too close to the end of your work day to snooze."))
    await _postpone(turn, brk, at)
    return Answer(toast=turn.t("Snoozed")).say(
        turn.t("Snoozed: I'll remind you again at {time}.", time=local_time(at, turn.user)),
        edit=True,
    )


async def _ended(turn: Turn, brk: Break, status: str, toast: str, said: str) -> Answer:
    """The reminder's break ends with `status`; its message says so and what comes next."""
    brk.status, brk.ended_at = status, turn.now
    next_break = await describe_next(turn)
    return Answer(toast=toast).say(f"{said} {next_break}", edit=True)


async def _postpone(turn: Turn, brk: Break, at: datetime) -> None:
    """The break's reminder comes again at `at` (a "snooze" row); its expiry is void."""
    brk.snoozes += 1
    await due.drop_pending(turn.session, turn.user.id, kinds=["expire"])
    await due.schedule(turn.session, turn.user.id, SNOOZE_KIND, f"snooze:{brk.id}:{brk.snoozes}",
                       at, break_id=brk.id)
    turn.wake(at)


def _window(turn: Turn, brk: Break) -> tuple[datetime, datetime]:
    """The work window the break belongs to (the tap's moment if it fell outside one)."""
    window = window_of(preferences(turn.user), brk.planned_at)
    return window if window is not None else (turn.now, turn.now)


async def _meeting_choices(turn: Turn, brk: Break) -> Answer:
    """ "In a meeting": 30 min, 1 h, and "until my next free slot" when the calendar knows
    of a meeting now; otherwise a line on how the calendar would help."""
    _start, end = _window(turn, brk)
    busy = await busy_times(turn.session, turn.user.id, turn.now, end)
    rows: list[list[Button]] = [[Button(turn.t("30 min"), ReminderChoice(brk.id, "m30")),
                                 Button(turn.t("1 hour"), ReminderChoice(brk.id, "m60"))]]
    text = turn.t("In a meeting? I'll move this break. The rest of today's plan stays as it "
                  "is.")
    if meetings.in_a_meeting_now(busy, turn.now):
        rows.append([Button(turn.t("Until my next free slot"), ReminderChoice(brk.id, "free"))])
    else:
        text += "\n" + turn.t("Connect your calendar with /calendar and I can also wait "
                              "until a meeting in it ends.")
    rows.append([Button(turn.t("« Back"), ReminderChoice(brk.id, "back"))])
    return Answer().say(text, *rows, edit=True)


async def _move_to_free_slot(turn: Turn, brk: Break) -> Answer:
    _start, end = _window(turn, brk)
    busy = await busy_times(turn.session, turn.user.id, turn.now, end)
    return await _move(turn, brk, meetings.free_slot_after(busy, turn.now, end))


async def _move(turn: Turn, brk: Break, target: datetime | None) -> Answer:
    """Moves the break for a meeting, merges it into the next one, or drops it; says
    plainly which."""
    user = turn.user
    _start, end = _window(turn, brk)
    following = await next_planned(turn.session, user.id)
    move = meetings.move_break(target, end, following)
    if isinstance(move, Moved):
        await _postpone(turn, brk, move.at)
        brk.message_id = None  # this message now says where the break went
        return Answer(toast=turn.t("Moved")).say(
            turn.t("Moved: I'll remind you at {time}. Your other breaks today stay as they "
                   "were.", time=local_time(move.at, user)), edit=True)
    brk.status, brk.ended_at = move_status(move), turn.now
    if isinstance(move, Merged):
        text = turn.t("That's close to your next break at {time}, so I've folded this one "
                      "into it: one break then, not two.", time=local_time(move.next_at, user))
    else:
        text = turn.t("That's past the end of your work day ({time}), so I've dropped this "
                      "break rather than remind you late.",
                      time=local_time(move.window_end, user))
        text += " " + await describe_next(turn)
    return Answer(toast=turn.t("Moved")).say(text, edit=True)


def move_status(move: Merged | Dropped) -> str:
    return meetings.MERGED if isinstance(move, Merged) else meetings.DROPPED
