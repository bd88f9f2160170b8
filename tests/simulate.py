"""Living through time in tests: jump a manual clock from one due row to the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.domain.clock import ManualClock
from bot.outbox import due
from bot.outbox.dispatcher import Dispatcher


async def live_until(
    dispatcher: Dispatcher, clock: ManualClock, end: datetime, step: timedelta = timedelta(0)
) -> None:
    """Dispatches every row due up to `end`, moving the clock to each one (plus `step`, to
    take everything due in that stretch at once, but never past `end`: nothing due after
    it is sent); leaves the clock at `end`."""
    while True:
        async with dispatcher.database.session() as session:
            next_due = await due.next_due_at(session)
        if next_due is None or next_due > end:
            clock.now = max(clock.now, end)
            return
        clock.now = max(clock.now, min(next_due + step, end))
        await dispatcher.run_once()


def as_utc(value: Any) -> datetime:
    """A datetime read back raw from the bot's database (SQLite gives text), in UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
