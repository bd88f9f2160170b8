"""A calendar feed (iCalendar text) to busy intervals: pure, no I/O.

    busy = busy_intervals(ics_bytes, start, end, "Europe/Madrid")   # [(start, end), ...] in UTC

Rules (what a person means by "I'm in a meeting"):
- recurring events are expanded (RRULE, RDATE), with their exceptions (EXDATE, and a moved
  or changed occurrence given by RECURRENCE-ID);
- an event marked free (TRANSP:TRANSPARENT) is not busy, nor is a cancelled one
  (STATUS:CANCELLED), nor an all-day event (a DATE, not a DATE-TIME: holidays, birthdays,
  "working from home" markers would otherwise swallow the whole day);
- times with a TZID are in that zone, times ending in Z are UTC, floating times (neither)
  are in the user's own zone; Google's X-WR-TIMEZONE is honoured as its calendar's zone.
Only start and end are kept: never a title, place or attendee.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import recurring_ical_events

from bot.domain.free_time import Interval, merged
from bot.domain.zones import tzinfo_for

# A single event longer than this is not a meeting (a conference, "out of office" for a
# week): it would hide every break, so it is ignored.
LONGEST_MEETING = timedelta(hours=12)


class NotACalendar(ValueError):
    """The text is not an iCalendar feed."""


def parse(data: bytes) -> icalendar.Calendar:
    """The calendar in `data`, or NotACalendar."""
    if b"BEGIN:VCALENDAR" not in data[:4096].upper():
        raise NotACalendar("no BEGIN:VCALENDAR")
    try:
        calendar = icalendar.Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError) as exc:
        raise NotACalendar(type(exc).__name__) from None
    if not isinstance(calendar, icalendar.Calendar):
        raise NotACalendar("not a VCALENDAR")
    return calendar


def busy_intervals(data: bytes, start: datetime, end: datetime,
                   user_zone: str) -> list[Interval]:
    """The busy times of the feed between `start` and `end`, in UTC, merged and sorted."""
    return busy_in(parse(data), start, end, user_zone)


def busy_in(calendar: icalendar.Calendar, start: datetime, end: datetime,
            user_zone: str) -> list[Interval]:
    named = calendar.get("X-WR-TIMEZONE")
    floating = tzinfo_for(str(named) if _known_zone(named) else user_zone)
    try:
        events = recurring_ical_events.of(calendar, components=["VEVENT"]).between(start, end)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise NotACalendar(type(exc).__name__) from None
    intervals: list[Interval] = []
    for event in events:
        interval = _busy(event, floating)
        if interval is not None and interval[1] > start and interval[0] < end:
            intervals.append((max(interval[0], start), min(interval[1], end)))
    return merged(intervals)


def _known_zone(name: object) -> bool:
    if not name:
        return False
    try:
        tzinfo_for(str(name))
    except (KeyError, ValueError):
        return False
    return True


def _busy(event: Any, floating: Any) -> Interval | None:
    if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
        return None
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return None
    begins = event.get("DTSTART")
    if begins is None:
        return None
    first = begins.dt
    if not isinstance(first, datetime):  # an all-day event
        return None
    ends = event.get("DTEND")
    if ends is not None and isinstance(ends.dt, datetime):
        last = ends.dt
    elif event.get("DURATION") is not None:
        last = first + event["DURATION"].dt
    else:
        return None  # an instant, not a span of time
    start_at, end_at = _utc(first, floating), _utc(last, floating)
    if end_at <= start_at or end_at - start_at > LONGEST_MEETING:
        return None
    return start_at, end_at


def _utc(moment: datetime | date, floating: Any) -> datetime:
    assert isinstance(moment, datetime)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=floating)
    return moment.astimezone(UTC)
