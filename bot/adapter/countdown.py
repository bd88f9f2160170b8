"""The countdown: each running hold's live message, edited in place every ~20 seconds to
show the time left and the cue of the moment.

Best effort, below everything else the bot sends. A tick is skipped while the outbox is
late with anything (reminders and the moments of a hold go first); its edits are capped
at a share of Telegram's ~30 messages/s and sent one at a time; it stops as soon as
something is late or Telegram says to slow down; and a failed edit is simply dropped:
the next tick shows the right time anyway. Nothing here is stored, so a restart loses
nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from telegram.ext import Application, ContextTypes

from bot.domain.clock import real_seconds
from bot.outbox.delivery import Blocked, Rejected, Sender, TryLater
from handlers.breaks import LiveHold, live_holds, outbox_behind
from handlers.turn import Services

log = logging.getLogger(__name__)

SHARE_PER_SECOND = 10.0  # edits/s at most: a third of Telegram's ~30/s per bot
LOOK_AGAIN = 5  # edits between two looks at whether the outbox fell behind
# A tick's edits, paced at the share, end well before the next tick.
TICK_FILL = 0.8


@dataclass
class Tally:
    """What the countdown did, for logs and the benchmark."""

    edited: int = 0
    shed: int = 0  # updates a running hold did not get (the outbox came first)
    failed: int = 0


class Countdown:
    def __init__(self, services: Services, sender: Sender,
                 share_per_second: float = SHARE_PER_SECOND,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.services = services
        self.sender = sender
        self.sleep = sleep
        # Of the bot's clock; COUNTDOWN_SECONDS, 20 by default (15-30 s is plenty).
        self.every = timedelta(seconds=services.settings.countdown_seconds)
        self.share = share_per_second
        self.tally = Tally()
        self._running = asyncio.Lock()

    async def tick(self) -> None:
        if self._running.locked():
            return  # the last tick is still editing: this one would only compete with it
        async with self._running:
            await self._tick()

    async def _tick(self) -> None:
        services = self.services
        every = real_seconds(services.clock, self.every)
        budget = max(1, int(self.share * every * TICK_FILL))
        now = services.clock()
        async with services.database.session() as session:
            behind = await outbox_behind(session, now)
            holds, total = await live_holds(session, services.program, now,
                                            0 if behind else budget)
        self.tally.shed += total - len(holds)
        # One edit at a time, paced at the share: a reminder falling due meanwhile finds at
        # most one edit ahead of it in the rate limiter's queue.
        for done, hold in enumerate(holds):
            if done and done % LOOK_AGAIN == 0:
                async with services.database.session() as session:
                    if await outbox_behind(session, services.clock()):
                        self.tally.shed += len(holds) - done
                        return
            started = time.monotonic()
            if not await self._edit(hold):  # Telegram asked us to slow down: the rest waits
                self.tally.shed += len(holds) - done - 1
                return
            await self.sleep(max(0.0, 1 / self.share - (time.monotonic() - started)))

    async def _edit(self, hold: LiveHold) -> bool:
        """One edit; False when Telegram says to slow down."""
        try:
            await self.sender.edit(hold.chat_id, hold.message_id, hold.reply)
        except TryLater:
            self.tally.failed += 1
            return False
        except (Blocked, Rejected) as exc:
            self.tally.failed += 1
            log.debug("countdown edit dropped: %s", exc)
            return True
        self.tally.edited += 1
        return True


async def countdown_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    countdown: Countdown | None = context.application.bot_data.get("countdown")
    if countdown is not None:
        await countdown.tick()


def start_countdown(application: Application, services: Services, sender: Sender) -> Countdown:
    countdown = Countdown(services, sender)
    application.bot_data["countdown"] = countdown
    assert application.job_queue is not None
    every = max(real_seconds(services.clock, countdown.every), 0.2)
    application.job_queue.run_repeating(
        countdown_tick, interval=every, first=every, name="countdown",
        job_kwargs={"max_instances": 2})  # a long tick returns at once instead of a warning
    return countdown
