"""Where a break fits between meetings: pure functions over busy intervals, no I/O.

    at = place_break(start, end, busy, taken, length, not_before, min_spacing)
    at = next_free_start(busy, after, length, window_end)
    slot, at = next_fitted_slot(prefs, after, busy, used)  # (usual time, moved time)

Intervals are half-open [start, end) and every datetime is timezone-aware (UTC in practice).
A break of `length` starting at `s` fits when [s, s + length) is inside the window and
overlaps no busy interval. The answer is always the earliest start that fits: where the
natural time falls inside a meeting, that is the first minute after the meeting ends (or
after the next meeting of a run of back-to-back ones).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta

from bot.domain.schedule import (
    PAUSED_INDEFINITELY,
    SEARCH_DAYS,
    Preferences,
    break_times,
    next_break_at,
    work_window,
)
from bot.domain.zones import tzinfo_for

Interval = tuple[datetime, datetime]


def merged(busy: Sequence[Interval]) -> list[Interval]:
    """The busy intervals sorted, with overlapping or touching ones joined; empty ones dropped."""
    result: list[Interval] = []
    for start, end in sorted(interval for interval in busy if interval[1] > interval[0]):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def _free(start: datetime, length: timedelta, busy: Sequence[Interval]) -> bool:
    end = start + length
    return all(end <= b_start or start >= b_end for b_start, b_end in busy)


def place_break(
    window_start: datetime,
    window_end: datetime,
    busy: Sequence[Interval],
    taken: Sequence[datetime],
    length: timedelta,
    not_before: datetime,
    min_spacing: timedelta,
) -> datetime | None:
    """The earliest start >= not_before where the break fits in the window, overlaps no busy
    interval and is at least `min_spacing` from every start in `taken`; None if none does.

    The starts allowed form a union of intervals, each closed on the left, and the left end
    of each is one of: the window's start, `not_before`, a busy interval's end, or a taken
    break plus the spacing. So trying those candidates in order finds the earliest one.
    """
    intervals = merged(busy)
    first = max(window_start, not_before)
    candidates = {first}
    candidates.update(end for _start, end in intervals if end > first)
    candidates.update(t + min_spacing for t in taken if t + min_spacing > first)
    for start in sorted(candidates):
        if start + length > window_end:
            return None
        if _free(start, length, intervals) and all(
            abs(start - t) >= min_spacing for t in taken
        ):
            return start
    return None


def next_free_start(
    busy: Sequence[Interval], after: datetime, length: timedelta, window_end: datetime
) -> datetime | None:
    """The earliest start >= after where `length` of free time begins and ends by window_end."""
    return place_break(after, window_end, busy, (), length, after, timedelta(0))


# --- a day's breaks around meetings ----------------------------------------------------------

# How long a break is taken to last when looking for a gap: a desk break's few holds.
BREAK_LENGTH = timedelta(minutes=10)
# Two breaks pushed together by meetings stay at least this far apart (or half the usual gap
# between breaks, when breaks are closer than that anyway).
MAX_SPACING = timedelta(minutes=30)


def fitted_breaks(prefs: Preferences, work_day: date, busy: Sequence[Interval]) -> list[datetime]:
    """The breaks of the shift that starts on `work_day`, each moved out of any meeting to the
    earliest free gap after its usual time; a break with no gap left in the window is dropped.
    """
    return [at for _slot, at in fitted_slots(prefs, work_day, busy)]


def fitted_slots(prefs: Preferences, work_day: date,
                 busy: Sequence[Interval]) -> list[tuple[datetime, datetime]]:
    """`fitted_breaks` as (usual time, fitted time): which slot of the plan each break is.

    The user's stagger is added to each meeting's end, so people leaving the same meeting are
    not all reminded in the same second.
    """
    usual = break_times(prefs, work_day)
    window = work_window(prefs, work_day)
    if not busy or not usual or window is None:
        return [(at, at) for at in usual]
    start, end = window
    stagger = timedelta(seconds=prefs.stagger_seconds)
    relevant = [(b_start, b_end + stagger) for b_start, b_end in busy
                if b_end > start and b_start < end]
    if not relevant:
        return [(at, at) for at in usual]
    spacing = min(MAX_SPACING, (end - start) / (2 * len(usual)))
    placed: list[tuple[datetime, datetime]] = []
    for at in usual:
        not_before = max(at, placed[-1][1] + spacing) if placed else at
        spot = place_break(start, end, relevant, [p for _s, p in placed], BREAK_LENGTH,
                           not_before, spacing)
        if spot is not None:
            placed.append((at, spot))
    return placed


def next_fitted_break(prefs: Preferences, after: datetime,
                      busy: Sequence[Interval]) -> datetime | None:
    """Like schedule.next_break_at, with every day's breaks fitted around the busy times."""
    found = next_fitted_slot(prefs, after, busy)
    return found[1] if found is not None else None


def next_fitted_slot(prefs: Preferences, after: datetime, busy: Sequence[Interval],
                     used: Collection[datetime] = ()) -> tuple[datetime, datetime] | None:
    """(usual time, fitted time) of the first break after `after`, its slot not in `used`:
    a break already reminded is not planned again when a meeting that appears later over
    its time moves its slot past `after`."""
    paused_until = prefs.paused_until
    if not busy:
        at = next_break_at(prefs, after)
        while at is not None and at in used:
            at = next_break_at(prefs, at)
        return (at, at) if at is not None else None
    if paused_until is not None and paused_until >= PAUSED_INDEFINITELY:
        return None
    earliest = after if paused_until is None else max(after, paused_until)
    first_day = earliest.astimezone(tzinfo_for(prefs.time_zone)).date() - timedelta(days=1)
    for offset in range(SEARCH_DAYS + 2):
        for slot, at in fitted_slots(prefs, first_day + timedelta(days=offset), busy):
            if at > after and (paused_until is None or at >= paused_until) \
                    and slot not in used:
                return slot, at
    return None
