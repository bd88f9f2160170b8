"""Every kind of due message and the job that handles it."""

from __future__ import annotations

from bot.dispatcher import Job
from bot.reminders import ExpiryJob, ReminderJob
from bot.services import Services


def make_jobs(services: Services) -> dict[str, Job]:
    reminder = ReminderJob(services)
    return {"reminder": reminder, "snooze": reminder, "expire": ExpiryJob()}
