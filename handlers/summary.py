"""The weekly summary: sent shortly after the user's last work window of the week.

Planned like the next break (handlers/planning.py); `SummaryJob` sends it and plans the next
week's first. It is skipped ("cancelled") while the user is paused, and when the week held
nothing at all: no planned break, no break, no rating. Unsubscribed users get none (their
rows are dropped, and the dispatcher cancels any left).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.domain.progress import local_date, week_figures, week_of
from bot.domain.progress_text import summary_text
from bot.domain.replies import Reply
from bot.domain.schedule import is_paused
from bot.outbox.dispatcher import Action, Send, Skip
from bot.storage.models import DueMessage, User
from bot.storage.records import load_records
from handlers.planning import plan_summary, preferences
from handlers.turn import Services

# A summary this late (the bot was down) is no longer news.
TOO_LATE = timedelta(days=1)


def studio_line(settings: Settings) -> str | None:
    """'Hip Studio · hello@example.com' when the operator configured a studio."""
    return " · ".join(part for part in (settings.studio_name, settings.studio_contact)
                      if part) or None


class SummaryJob:
    """Sends the week's summary: breaks, the change in ratings, one encouraging line."""

    def __init__(self, services: Services) -> None:
        self.studio = studio_line(services.settings)

    async def prepare(
        self, session: AsyncSession, row: DueMessage, user: User, now: datetime
    ) -> Action:
        await plan_summary(session, user, row.due_at)  # next week's goes in first
        prefs = preferences(user)
        if is_paused(prefs, now):
            return Skip("reminders are paused", status="cancelled")
        if now - row.due_at > TOO_LATE:
            return Skip("too late to be useful")
        week = row.payload.get("week")
        monday = date.fromisoformat(week) if isinstance(week, str) \
            else week_of(local_date(row.due_at, prefs.time_zone))
        # All of it: the streak's milestones and "a week of ratings" look back past the week.
        ratings, breaks = await load_records(session, user.id)
        figures = week_figures(ratings, breaks, prefs, monday, now,
                               joined=user.onboarded_at or user.created_at)
        if figures.empty:
            return Skip("nothing happened this week", status="cancelled")
        return Send(Reply(summary_text(figures, user.language, self.studio)))

    async def delivered(self, *_args: object) -> None:
        return None

    async def undeliverable(self, *_args: object) -> None:
        return None
