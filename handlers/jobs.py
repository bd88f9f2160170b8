"""Every kind of due message and the job that handles it."""

from __future__ import annotations

from bot.outbox.dispatcher import Job
from handlers.assessment import RepeatJob
from handlers.breaks import AbandonJob, StepJob
from handlers.calendar import NoticeJob
from handlers.plan_fit import CHECK_IN_END_KIND, CheckInEndJob
from handlers.reminders import ExpiryJob, ReminderJob
from handlers.summary import SummaryJob
from handlers.turn import Services


def make_jobs(services: Services) -> dict[str, Job]:
    reminder = ReminderJob(services)
    return {
        "reminder": reminder,
        "snooze": reminder,
        "expire": ExpiryJob(),
        # An ignored "does the plan fit?" loses its buttons.
        CHECK_IN_END_KIND: CheckInEndJob(),
        # Inside a break: a hold's follow-ups, and the end of a break nobody continued.
        "step": StepJob(services),
        "abandon": AbandonJob(),
        # Two weeks after a self-assessment: the invitation to take it again.
        "assess": RepeatJob(),
        # After the last work window of the week: the week's breaks and ratings.
        "summary": SummaryJob(services),
        # What a calendar feed gave: read the first time, or failing for a day.
        "calendar": NoticeJob(),
    }
