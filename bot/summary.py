"""The weekly summary: a "summary" due row shortly after the user's last work window of the
week ends, planned like any other message.

    at = await replan(turn)                            # after any change of settings or pause
    at = await plan(session, user, after=now)          # idempotent: one row per week
    SummaryJob(services)                               # sends it (registered in bot/jobs.py)

The row's key is "summary:<Monday of the week>", so a week is summarised at most once,
whatever replans it. Handling one plans the next week's first. It is skipped ("cancelled")
while the user is paused, and when the week held nothing at all: no planned break, no
break, no rating. Unsubscribed users get none (their rows are dropped, and the dispatcher
cancels any left).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import due, reminders
from bot.dispatcher import Action, Send, Skip
from bot.history import load_records
from bot.models import DueMessage, User
from bot.progress import local_date, summary_text, week_figures, week_of
from bot.replies import Reply
from bot.schedule import PAUSED_INDEFINITELY, Preferences, is_paused, work_window
from bot.services import Services
from bot.turn import Turn

SUMMARY_KIND = "summary"
# After the window ends, so the day's last break has been answered or has expired.
AFTER_WORK = timedelta(minutes=30)
# A summary this late (the bot was down) is no longer news.
TOO_LATE = timedelta(days=1)


def summary_times(prefs: Preferences, after: datetime) -> Iterator[tuple[datetime, date]]:
    """(due time, Monday of the week) of each summary after `after`, in order.

    The last work day's window may end in the next week (a Sunday night shift), so the
    search starts a week early.
    """
    if not prefs.work_days:
        return
    monday = week_of(local_date(after, prefs.time_zone)) - timedelta(days=7)
    last_day = max(prefs.work_days)
    for week in range(60):
        start = monday + timedelta(days=7 * week)
        window = work_window(prefs, start + timedelta(days=last_day))
        if window is not None and window[1] + AFTER_WORK > after:
            yield window[1] + AFTER_WORK, start


def _key(monday: date) -> str:
    return f"{SUMMARY_KIND}:{monday.isoformat()}"


def _planned_for(user: User) -> bool:
    return (user.active and user.onboarded_at is not None and user.time_zone is not None
            and (user.paused_until is None or user.paused_until < PAUSED_INDEFINITELY))


async def plan(session: AsyncSession, user: User, after: datetime) -> datetime | None:
    """Stores the next summary after `after` unless it is planned already; its due time."""
    if not _planned_for(user):
        return None
    existing = dict((await session.execute(
        select(DueMessage.key, DueMessage.status).where(
            DueMessage.user_id == user.id, DueMessage.kind == SUMMARY_KIND))).all())
    for at, monday in summary_times(reminders.preferences(user), after):
        status = existing.get(_key(monday))
        if status == "pending":
            return at
        if status is None:
            await due.schedule(session, user.id, SUMMARY_KIND, _key(monday), at,
                               {"week": monday.isoformat()})
            return at
        # That week's summary was sent or skipped already: the next week's is due.
    return None


async def replan(turn: Turn) -> datetime | None:
    """Replaces the planned summary after a change of work days, hours, zone or pause."""
    await due.drop_pending(turn.session, turn.user.id, kinds=[SUMMARY_KIND])
    await turn.session.flush()
    at = await plan(turn.session, turn.user, turn.now)
    if at is not None:
        turn.wake(at)
    return at


class SummaryJob:
    """Sends the week's summary: breaks, the change in ratings, one encouraging line."""

    def __init__(self, services: Services) -> None:
        settings = services.settings
        self.studio = " · ".join(part for part in (settings.studio_name,
                                                   settings.studio_contact) if part) or None

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        await plan(session, user, row.due_at)  # next week's goes in first
        prefs = reminders.preferences(user)
        if is_paused(prefs, now):
            return Skip("reminders are paused", status="cancelled")
        if now - row.due_at > TOO_LATE:
            return Skip("too late to be useful")
        week = row.payload.get("week")
        monday = date.fromisoformat(week) if isinstance(week, str) \
            else week_of(local_date(row.due_at, prefs.time_zone))
        # A day early: a break late on Sunday in UTC may be Monday in the user's zone.
        ratings, breaks = await load_records(session, user.id,
                                             since=row.due_at - timedelta(days=9))
        figures = week_figures(ratings, breaks, prefs, monday, now)
        if figures.empty:
            return Skip("nothing happened this week", status="cancelled")
        return Send(Reply(summary_text(figures, user.language, self.studio)))

    async def delivered(self, *_args: object) -> None:
        return None

    async def undeliverable(self, *_args: object) -> None:
        return None
