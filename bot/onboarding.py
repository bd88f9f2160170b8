"""Setting a new user up: time zone, work days, hours, breaks, place, baseline."""

from __future__ import annotations

from bot.replies import Answer
from bot.turn import Turn


async def begin(turn: Turn) -> Answer:
    turn.user.step = "tz"
    return await resume(turn)


async def resume(turn: Turn) -> Answer:
    return Answer().say(turn.t("Which time zone are you in? Type a city, e.g. Madrid."))
