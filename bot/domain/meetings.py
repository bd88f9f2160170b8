"""Breaks that give way to meetings, and the check-in that replaces nagging. Pure.

    move = move_break(now + timedelta(hours=1), window_end, next_break)
    # Moved(at): the break comes back then; Merged(next_at): the next break is close, this
    # one joins it; Dropped(window_end): past the work window, never sent late.

    plan_fit_due(last_statuses, user.plan_fit_at, now)  # three skipped or missed in a row,
                                                        # no check-in within a week
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bot.domain.free_time import next_free_start

# How long a desk break takes: what a free slot must hold.
BREAK_LENGTH: Final = timedelta(minutes=5)
# A moved break this close to the next one (or later) joins it instead.
MERGE_WITHIN: Final = timedelta(minutes=15)
# "Until my next free slot" never comes back sooner than this.
SOONEST: Final = timedelta(minutes=5)
# The fixed choices of "In a meeting".
MEETING_DELAYS: Final = {"m30": timedelta(minutes=30), "m60": timedelta(hours=1)}

# A break's outcome after "In a meeting": joined the next one, or dropped past the window.
MERGED: Final = "merged"
DROPPED: Final = "dropped"
# "I moved already": the user moved on their own, no guided break.
MOVED_ALREADY = "moved_already"
# Outcomes that count toward "three in a row" (a stop for pain never does).
UNANSWERED = ("skipped", "missed")
IN_A_ROW: Final = 3
PLAN_FIT_EVERY: Final = timedelta(days=7)


@dataclass(frozen=True)
class Moved:
    at: datetime


@dataclass(frozen=True)
class Merged:
    next_at: datetime


@dataclass(frozen=True)
class Dropped:
    window_end: datetime


Move = Moved | Merged | Dropped


def move_break(target: datetime | None, window_end: datetime,
               next_break: datetime | None) -> Move:
    """Where a break moved to `target` goes (None: no room left in the window). The rest
    of the day's plan is not touched: a break that would come at or past the next one, or
    within MERGE_WITHIN of it, joins it; one at or past the window's end is dropped."""
    if target is None or target >= window_end:
        return Dropped(window_end)
    if next_break is not None and target > next_break - MERGE_WITHIN:
        return Merged(next_break)
    return Moved(target)


def free_slot_after(busy: Sequence[tuple[datetime, datetime]], now: datetime,
                    window_end: datetime) -> datetime | None:
    """"Until my next free slot": the first gap in the calendar for a break, at least
    SOONEST from now (None when the window has no room)."""
    return next_free_start(busy, now + SOONEST, BREAK_LENGTH, window_end)


def in_a_meeting_now(busy: Sequence[tuple[datetime, datetime]], now: datetime) -> bool:
    """Whether the calendar knows of a meeting going on now."""
    return any(start <= now < end for start, end in busy)


def plan_fit_due(latest: Sequence[tuple[str, bool]], last_asked: datetime | None,
                 now: datetime) -> bool:
    """Whether a reminder gives way to "does the plan fit?": the latest IN_A_ROW reminded
    breaks (newest first, as (status, stopped for pain)) were all skipped or missed, and
    the user was not asked within PLAN_FIT_EVERY."""
    if last_asked is not None and now - last_asked < PLAN_FIT_EVERY:
        return False
    return len(latest) >= IN_A_ROW and all(
        status in UNANSWERED and not for_pain for status, for_pain in latest[:IN_A_ROW])
