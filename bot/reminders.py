"""Break reminders: planning the next one, sending it, snooze, skip, expiry.

The next break of every active, set-up user is always a `DueMessage` row of kind
"reminder"; handling one plans the one after it. A snoozed reminder is a "snooze" row and
an unanswered reminder's end is an "expire" row, so a restart loses none of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import due
from bot.dispatcher import Action, Edit, Send, Skip
from bot.i18n import _
from bot.models import Break, DueMessage, User
from bot.replies import Button, Reply
from bot.schedule import (
    Preferences,
    expires_at,
    next_break_at,
    stagger_for,
    still_useful,
)
from bot.services import Services
from bot.timefmt import local_day_and_time
from bot.turn import Turn

SNOOZE_MINUTES = 10


def preferences(user: User) -> Preferences:
    return Preferences(
        time_zone=user.time_zone or "UTC",
        work_days=frozenset(day for day in range(7) if user.work_days >> day & 1),
        start=user.work_start,
        end=user.work_end,
        breaks_per_day=user.breaks_per_day,
        stagger_seconds=stagger_for(user.id),
        paused_until=user.paused_until,
    )


def _reminded(user: User) -> bool:
    return user.active and user.onboarded_at is not None and user.time_zone is not None


async def plan_next(session: AsyncSession, user: User, after: datetime) -> datetime | None:
    """Stores the first break after `after` as a reminder row (idempotent)."""
    if not _reminded(user):
        return None
    at = next_break_at(preferences(user), after)
    if at is not None:
        await due.schedule(session, user.id, "reminder", f"remind:{at.isoformat()}", at)
    return at


async def reschedule(turn: Turn) -> datetime | None:
    """Replaces the planned next break after any change of settings, pause or subscription."""
    await due.drop_pending(turn.session, turn.user.id, kinds=["reminder"])
    await turn.session.flush()
    at = await plan_next(turn.session, turn.user, turn.now)
    if at is not None:
        turn.wake(at)
    from bot import summary  # imported here: summary builds on this module

    await summary.replan(turn)  # the week's summary follows the work days too
    return at


async def next_planned(session: AsyncSession, user_id: int) -> datetime | None:
    return await session.scalar(
        select(DueMessage.due_at)
        .where(DueMessage.user_id == user_id, DueMessage.kind == "reminder",
               DueMessage.status == "pending")
        .order_by(DueMessage.due_at)
        .limit(1)
    )


async def describe_next(turn: Turn) -> str:
    """One sentence for the user about their next break."""
    user = turn.user
    if not _reminded(user):
        return turn.t("Reminders are off.")
    at = await next_planned(turn.session, user.id)
    if at is None:
        return turn.t("No break is planned: check your work days and any /pause.")
    return turn.t("Your next break: {when}.", when=local_day_and_time(at, user, turn.now))


def reminder_buttons(user: User, break_id: int) -> tuple[tuple[Button, ...], ...]:
    def label(text: str) -> str:
        return _(text, user.language)

    return (
        (Button(label("Start now"), f"b:{break_id}:go"),),
        (Button(label("Snooze 10 min"), f"b:{break_id}:snooze"),
         Button(label("Skip this one"), f"b:{break_id}:skip")),
    )


def _reminder(user: User, brk: Break) -> Reply:
    text = _("Time for a stretch break! A couple of minutes for your hips, right where "
             "you are.", user.language)
    return Reply(text, reminder_buttons(user, brk.id))


async def _close_unanswered(session: AsyncSession, user_id: int, now: datetime) -> None:
    """A reminder still unanswered when the next one comes counts as missed."""
    await session.execute(
        update(Break)
        .where(Break.user_id == user_id, Break.status == "pending")
        .values(status="missed", ended_at=now)
    )


class ReminderJob:
    """Sends a planned break reminder ("reminder") or a snoozed one ("snooze")."""

    def __init__(self, services: Services) -> None:
        self.expire_after = timedelta(minutes=services.settings.reminder_expiry_minutes)
        self.grace = timedelta(minutes=services.settings.late_grace_minutes)

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        prefs = preferences(user)
        if row.kind == "reminder":
            # The following break goes into the database before this one is sent.
            await plan_next(session, user, row.due_at)
            brk = await self._break_for(session, row, user, now)
        else:
            found = await session.get(Break, row.break_id) if row.break_id else None
            if found is None or found.status != "pending":
                return Skip("answered before the snooze ended", status="cancelled")
            brk = found
        if not still_useful(prefs, row.due_at, now, self.grace):
            brk.status, brk.ended_at = "missed", now
            return Skip("too late to be useful")
        return Send(_reminder(user, brk))

    async def _break_for(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Break:
        if row.break_id is not None:  # a retried row: the break already exists
            existing = await session.get(Break, row.break_id)
            if existing is not None:
                return existing
        await _close_unanswered(session, user.id, now)
        brk = Break(user_id=user.id, kind="reminder", status="pending", planned_at=row.due_at,
                    place=user.place, positions=[], positions_done=[])
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
        brk = await session.get(Break, row.break_id) if row.break_id else None
        if brk is None:
            return
        brk.message_id = message_id
        if brk.status == "pending":
            prefs = preferences(user)
            at = expires_at(prefs, brk.planned_at, now, self.expire_after)
            following = next_break_at(prefs, brk.planned_at)
            if following is not None:
                # Expire just before the next reminder, so this one is closed (and its
                # buttons removed) first.
                at = min(at, following - timedelta(seconds=1))
            await due.schedule(session, user.id, "expire", f"expire:{brk.id}:{brk.snoozes}",
                               at, break_id=brk.id)

    async def undeliverable(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime, reason: str
    ) -> None:
        brk = await session.get(Break, row.break_id) if row.break_id else None
        if brk is not None and brk.status == "pending":
            brk.status, brk.ended_at = "missed", now


class ExpiryJob:
    """Ends an unanswered reminder quietly: it counts as missed and loses its buttons."""

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        brk = await session.get(Break, row.break_id) if row.break_id else None
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
