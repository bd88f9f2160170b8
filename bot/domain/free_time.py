"""Free time in a work window around calendar busy times (aware UTC datetimes). Pure.

A minimal version: the calendar feed's placement of breaks replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta


def next_free_start(busy: Sequence[tuple[datetime, datetime]], after: datetime,
                    length: timedelta, window_end: datetime) -> datetime | None:
    """The first moment from `after` with `length` free of busy times before `window_end`."""
    at = after
    for start, end in sorted(busy):
        if end <= at:
            continue
        if start >= at + length:
            break
        at = end
    return at if at + length <= window_end else None


def place_break(window_start: datetime, window_end: datetime,
                busy: Sequence[tuple[datetime, datetime]], taken: Sequence[datetime],
                length: timedelta, not_before: datetime,
                min_spacing: timedelta) -> datetime | None:
    """A start for a break in the window, clear of busy times and `min_spacing` from the
    `taken` ones, not before `not_before`; None if there is no room."""
    at: datetime | None = max(window_start, not_before)
    while at is not None:
        at = next_free_start(busy, at, length, window_end)
        clash = next((t for t in sorted(taken) if abs(t - at) < min_spacing), None) \
            if at is not None else None
        if clash is None:
            return at
        at = clash + min_spacing
    return None
