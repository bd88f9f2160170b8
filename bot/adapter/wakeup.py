"""Waking the dispatcher through PTB's JobQueue: one timer for the next due row.

The timer is only an alarm clock; the rows in the database are the schedule, so losing
the timer (restart, crash) loses nothing: the safety tick finds the rows anyway.
"""

from __future__ import annotations

import time
from datetime import datetime

from telegram.ext import Application, ContextTypes

from bot.domain.clock import real_seconds
from bot.outbox.dispatcher import Dispatcher
from handlers.turn import Services

WAKE_JOB = "dispatcher-wake"


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    dispatcher: Dispatcher | None = context.application.bot_data.get("dispatcher")
    if dispatcher is None:
        return
    next_due = await dispatcher.tick()
    if next_due is not None:
        wake_at(context.application, next_due)


def wake_at(application: Application, when: datetime) -> None:
    """Makes sure the dispatcher wakes by `when`, moving the one timer earlier if needed."""
    if application.job_queue is None or "dispatcher" not in application.bot_data:
        return
    services: Services = application.bot_data["services"]
    delay = max(0.0, real_seconds(services.clock, when - services.clock())) + 0.01
    target = time.time() + delay
    for job in application.job_queue.get_jobs_by_name(WAKE_JOB):
        if job.next_t is not None and job.next_t.timestamp() <= target:
            return
        job.schedule_removal()
    application.job_queue.run_once(tick, delay, name=WAKE_JOB)
