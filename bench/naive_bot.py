"""The naive design, for scenario 3's baseline: one JobQueue job per user per break.

This is where python-telegram-bot's timerbot example leads: each user's reminders are
`job_queue.run_daily(...)` jobs held in memory. Since jobs vanish on restart, the bot
re-creates them from the users table at start-up, then polls. Same environment as the
real bot (TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL, DATABASE_URL):

    python -m bench.naive_bot
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from telegram.ext import Application, ApplicationBuilder, ContextTypes

from bot.config import normalise_database_url
from bot.storage.db import Database
from bot.storage.models import User

log = logging.getLogger("naive")


async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Sends the break reminder (as timerbot's `alarm` does)."""
    job = context.job
    assert job is not None and job.chat_id is not None
    await context.bot.send_message(job.chat_id, "Time for a stretch break!")


def _break_times(user: User) -> list[time]:
    """Local wall times of the user's breaks: evenly spread over the work window."""
    start = datetime.combine(datetime(2026, 1, 5).date(), user.work_start)
    end = datetime.combine(start.date(), user.work_end)
    if end <= start:
        end += timedelta(days=1)
    length = (end - start).total_seconds()
    n = user.breaks_per_day
    zone = ZoneInfo(user.time_zone or "UTC")
    return [(start + timedelta(seconds=(2 * i + 1) * length / (2 * n))).time()
            .replace(microsecond=0, tzinfo=zone) for i in range(n)]


def _ptb_days(work_days: int) -> tuple[int, ...]:
    # Our bit d is weekday d with 0 = Monday; PTB's days count 0 = Sunday.
    return tuple((day + 1) % 7 for day in range(7) if work_days >> day & 1)


async def schedule_everyone(application: Application) -> None:
    database = Database(normalise_database_url(os.environ["DATABASE_URL"]))
    assert application.job_queue is not None
    jobs = 0
    try:
        async with database.session() as session:
            users = (await session.scalars(select(User).where(User.active))).all()
            for user in users:
                days = _ptb_days(user.work_days)
                for number, at in enumerate(_break_times(user)):
                    application.job_queue.run_daily(
                        remind, at, days=days, chat_id=user.chat_id, user_id=user.id,
                        name=f"break:{user.id}:{number}")
                    jobs += 1
    finally:
        await database.close()
    log.warning("scheduled %d jobs for %d users", jobs, len(users))


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    builder = ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"])
    base = os.environ.get("TELEGRAM_API_BASE_URL")
    if base:
        builder = builder.base_url(base)
    application = builder.post_init(schedule_everyone).build()
    application.run_polling(allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    main()
