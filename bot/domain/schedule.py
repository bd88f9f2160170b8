"""When breaks fall: pure functions of (preferences, now), no I/O and no clock.

How to use: build a `Preferences` from the user's stored settings, then

- `next_break_at(prefs, now)` gives the due time of the next reminder to store;
- `upcoming_breaks(prefs, now, 4)` gives the times to show the user ("your breaks will fall at");
- `still_useful`, `expires_at` and `snooze_until` answer the questions asked when a reminder
  is due, has been sent, or is snoozed;
- `pause_end(kind, now, prefs)` turns a /pause choice into `Preferences.paused_until`.

Every datetime taken or returned is timezone-aware and every one returned is in UTC. Nothing
here reads the clock: callers pass "now" in.

The rules:

- A work day's window starts at `start` local time on that day and ends at `end` the same day,
  or the next day when `end <= start` (a shift belongs to the day it starts; `end == start` is
  a 24-hour window). Windows are half-open: [start, end). Seconds in `start`/`end` are ignored.
- Break i (0-based) of n falls at start + (i + 0.5) * length / n, rounded down to the whole
  minute, counted in local wall-clock minutes, so a summer-time change keeps every break at its
  usual local time. Then `stagger_seconds` are added (capped below half the gap between breaks,
  so a break never leaves its slot) to spread users with the same hours over a few minutes.
- A local time that does not exist (the clocks jump forward over it) moves to the first
  wall-clock minute after the jump: 02:30 in New York on the spring-forward day fires at 03:00.
  A local time that happens twice (the clocks go back) fires once, at the first occurrence.
- So on a spring-forward day a user may get fewer breaks than asked for: two breaks moved to
  the same instant merge into one, and a break moved to or past the window's end (the window
  ended inside the jump) is dropped. Breaks are always distinct and strictly increasing.
- A break that falls while the user is paused is skipped, not postponed. `break_times` lists
  a day's breaks regardless of pauses; `next_break_at` and friends leave paused ones out.
  "Paused until resumed" is `paused_until = PAUSED_INDEFINITELY`; not paused is `None`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_BREAKS_PER_DAY = 1
MAX_BREAKS_PER_DAY = 8
DEFAULT_STAGGER_SPREAD_SECONDS = 180
# How far ahead next_break_at looks (from the end of any pause): two weeks always contain a
# work day, whatever the work days are.
SEARCH_DAYS = 14
# paused_until for "until resumed": far in the future, but still room to add a few days to it
# without overflowing datetime.
PAUSED_INDEFINITELY = datetime(9999, 1, 1, tzinfo=UTC)
# The /pause choices. "resume" is an alias of "until_resumed" (pause until /resume).
PAUSE_KINDS = ("today", "1d", "3d", "7d", "until_resumed", "resume")
_PAUSE_DAYS = {"1d": 1, "3d": 3, "7d": 7}

_ONE_DAY = timedelta(days=1)
_FIXED_OFFSET = re.compile(r"UTC([+-])(\d\d):(\d\d)", re.ASCII)
_MAX_OFFSET_MINUTES = 14 * 60  # the widest offset in use (Pacific/Kiritimati)


_Hours = tuple[str, frozenset[int], time, time, int]


@dataclass(frozen=True)
class Preferences:
    """What the schedule needs to know about one user."""

    time_zone: str  # IANA name ("Europe/Madrid"), "UTC", or a fixed offset "UTC+05:30"
    work_days: frozenset[int]  # 0 = Monday … 6 = Sunday
    start: time  # local wall-clock start of the work window
    end: time  # local end; end <= start means the shift crosses midnight
    breaks_per_day: int  # MIN_BREAKS_PER_DAY..MAX_BREAKS_PER_DAY
    stagger_seconds: int = 0  # see stagger_for
    paused_until: datetime | None = None  # UTC; None = not paused; PAUSED_INDEFINITELY

    def __post_init__(self) -> None:
        # Settings come from user input: refuse nonsense here rather than mid-dispatch.
        _tz(self.time_zone)
        object.__setattr__(self, "work_days", frozenset(self.work_days))
        if not self.work_days <= frozenset(range(7)):
            raise ValueError(f"work days must be 0..6, got {sorted(self.work_days)}")
        if not MIN_BREAKS_PER_DAY <= self.breaks_per_day <= MAX_BREAKS_PER_DAY:
            raise ValueError(f"breaks per day must be 1..8, got {self.breaks_per_day}")
        if self.stagger_seconds < 0:
            raise ValueError("stagger_seconds must not be negative")
        if self.paused_until is not None:
            _require_aware(self.paused_until)

    @property
    def hours(self) -> _Hours:
        """What a work day's window and breaks depend on (not the stagger, not a pause)."""
        return self.time_zone, self.work_days, self.start, self.end, self.breaks_per_day


def stagger_for(user_id: int, spread_seconds: int = DEFAULT_STAGGER_SPREAD_SECONDS) -> int:
    """A stable offset in 0..spread_seconds-1 for this user.

    Uses a real hash (Python's hash() changes between runs) so the value survives restarts.
    """
    if spread_seconds < 1:
        raise ValueError("spread_seconds must be at least 1")
    digest = hashlib.blake2b(str(user_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % spread_seconds


def is_paused(prefs: Preferences, now: datetime) -> bool:
    """Whether reminders are paused at `now`."""
    return prefs.paused_until is not None and now < prefs.paused_until


def work_window(prefs: Preferences, work_day: date) -> tuple[datetime, datetime] | None:
    """The UTC (start, end) of the shift that starts on `work_day`, or None on a day off."""
    day = _day(prefs.hours, work_day)
    return None if day is None else day.window


def break_times(prefs: Preferences, work_day: date) -> list[datetime]:
    """UTC times of the breaks of the shift that starts on `work_day` ([] on a day off)."""
    return list(_break_times(prefs, work_day))


# A batch of reminders asks each user's days several times (the next break, the expiry).
@lru_cache(maxsize=8192)
def _break_times(prefs: Preferences, work_day: date) -> tuple[datetime, ...]:
    day = _day(prefs.hours, work_day)
    if day is None:
        return ()
    start_utc, end_utc = day.window
    stagger = timedelta(seconds=min(prefs.stagger_seconds, day.most_stagger))
    times: list[datetime] = []
    for plain in day.breaks:
        at = plain + stagger
        # Only a spring-forward jump can make a break collide or overrun: see the module notes.
        if start_utc <= at < end_utc and (not times or at > times[-1]):
            times.append(at)
    return tuple(times)


@dataclass(frozen=True)
class _Day:
    window: tuple[datetime, datetime]  # UTC
    breaks: tuple[datetime, ...]  # UTC, before the stagger
    most_stagger: int  # seconds: the largest whole second below half the gap between breaks


# A work day's window and unstaggered breaks are the same for every user with the same hours
# (most users share a few): remembered by the hours alone, not by each user's preferences.
@lru_cache(maxsize=8192)
def _day(hours: _Hours, work_day: date) -> _Day | None:
    time_zone, work_days, start, end, n = hours
    if work_day.weekday() not in work_days:
        return None
    tz = _tz(time_zone)
    start_wall, end_wall = _window_walls(start, end, work_day)
    length = int((end_wall - start_wall).total_seconds())  # wall-clock, not elapsed, seconds
    breaks = tuple(
        _resolve((start_wall + timedelta(seconds=(2 * i + 1) * length // (2 * n)))
                 .replace(second=0), tz)
        for i in range(n))
    return _Day((_resolve(start_wall, tz), _resolve(end_wall, tz)), breaks,
                max(-(-length // (2 * n)) - 1, 0))


def window_of(prefs: Preferences, instant: datetime) -> tuple[datetime, datetime] | None:
    """The UTC (start, end) of the work window containing `instant`, or None outside any."""
    _require_aware(instant)
    local_day = instant.astimezone(_tz(prefs.time_zone)).date()
    # A shift that crossed midnight belongs to the previous local day.
    for day in (local_day - _ONE_DAY, local_day):
        window = work_window(prefs, day)
        if window is not None and window[0] <= instant < window[1]:
            return window
    return None


def rest_until(prefs: Preferences, stopped_at: datetime) -> datetime:
    """After a stop for pain, no reminder before this: the end of the work window the stop
    fell in, or else of that local day's window still to come (a stop before work rests the
    whole day). A stop after the day's work needs no rest beyond it."""
    window = window_of(prefs, stopped_at) or work_window(
        prefs, stopped_at.astimezone(_tz(prefs.time_zone)).date())
    return window[1] if window is not None and window[1] > stopped_at else stopped_at


@lru_cache(maxsize=8192)  # a reminder asks it of its own time thrice (next, expiry)
def next_break_at(prefs: Preferences, after: datetime) -> datetime | None:
    """The first break strictly after `after` that is not paused, or None if there is none."""
    return next(_breaks_after(prefs, after), None)


def upcoming_breaks(prefs: Preferences, after: datetime, count: int) -> list[datetime]:
    """The next `count` unpaused breaks after `after` (fewer if there are no more)."""
    result: list[datetime] = []
    cursor = after
    while len(result) < count:
        at = next_break_at(prefs, cursor)
        if at is None:
            break
        result.append(at)
        cursor = at
    return result


def snooze_until(
    prefs: Preferences, break_at: datetime, now: datetime, minutes: int = 10
) -> datetime | None:
    """When a snoozed reminder comes back: now + minutes, or None if the window is over by then."""
    window = window_of(prefs, break_at)
    if window is None:
        return None
    at = (now + timedelta(minutes=minutes)).astimezone(UTC)
    # A reminder is never sent outside the window, so a snooze past its end is refused.
    return at if at < window[1] else None


def still_useful(prefs: Preferences, break_at: datetime, now: datetime, grace: timedelta) -> bool:
    """Whether a reminder due at `break_at` may still be sent at `now`.

    Only inside the same window, at most `grace` late, and not while paused (a break that fell
    in a pause, or a late one that would arrive during one, is skipped).
    """
    window = window_of(prefs, break_at)
    if window is None or not window[0] <= now < window[1]:
        return False
    if now - break_at > grace:
        return False
    paused_until = prefs.paused_until
    return paused_until is None or (break_at >= paused_until and now >= paused_until)


def expires_at(
    prefs: Preferences, break_at: datetime, sent_at: datetime, expire_after: timedelta
) -> datetime:
    """When an unanswered reminder expires (and counts as missed).

    The earliest of: `expire_after` after it was sent, the next break, the end of its window.
    """
    candidates = [(sent_at + expire_after).astimezone(UTC)]
    following = next_break_at(prefs, break_at)
    if following is not None:
        candidates.append(following)
    window = window_of(prefs, break_at)
    if window is not None:
        candidates.append(window[1])
    return min(candidates)


def pause_end(kind: str, now: datetime, prefs: Preferences) -> datetime:
    """The `paused_until` for a /pause choice (one of PAUSE_KINDS), as a UTC datetime.

    "today": the end of the user's current day: the next local midnight, or the end of
    today's shift if it crosses midnight; during a night shift that began yesterday, the end
    of that shift (so "today" never pauses half a shift). "1d"/"3d"/"7d": now + N days.
    "until_resumed" (or "resume"): PAUSED_INDEFINITELY. /resume itself sets `paused_until`
    to None.
    """
    _require_aware(now)
    if kind in ("until_resumed", "resume"):
        return PAUSED_INDEFINITELY
    if kind in _PAUSE_DAYS:
        return (now + timedelta(days=_PAUSE_DAYS[kind])).astimezone(UTC)
    if kind != "today":
        raise ValueError(f"unknown pause choice {kind!r}; expected one of {PAUSE_KINDS}")
    tz = _tz(prefs.time_zone)
    local_day = now.astimezone(tz).date()
    yesterdays = work_window(prefs, local_day - _ONE_DAY)
    if yesterdays is not None and yesterdays[0] <= now < yesterdays[1]:
        return yesterdays[1]
    midnight = _resolve(datetime.combine(local_day + _ONE_DAY, time()), tz)
    todays = work_window(prefs, local_day)
    return max(midnight, todays[1]) if todays is not None else midnight


# --- helpers ---------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _tz(name: str) -> tzinfo:
    """The tzinfo for a stored zone: an IANA name, "UTC", or a fixed offset "UTC+05:30"."""
    match = _FIXED_OFFSET.fullmatch(name)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3))
        total = hours * 60 + minutes
        if minutes >= 60 or total > _MAX_OFFSET_MINUTES:
            raise ValueError(f"offset out of range: {name!r}")
        return timezone(timedelta(minutes=-total if sign == "-" else total))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError/ValueError: names like "America" or "../x" that are not zone files.
        raise ValueError(f"unknown time zone {name!r}") from exc


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")


def _window_walls(start_time: time, end_time: time, work_day: date
                  ) -> tuple[datetime, datetime]:
    """Naive local wall-clock start and end of the shift that starts on `work_day`."""
    start = datetime.combine(work_day, start_time.replace(second=0, microsecond=0, tzinfo=None))
    end = datetime.combine(work_day, end_time.replace(second=0, microsecond=0, tzinfo=None))
    if end <= start:
        end += _ONE_DAY
    return start, end


def _resolve(wall: datetime, tz: tzinfo) -> datetime:
    """The UTC instant of a naive local wall-clock time in `tz`.

    Ambiguous (clocks went back): the first occurrence. Nonexistent (clocks jumped forward):
    the first whole wall-clock minute after the jump.
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # In a gap, fold=0 and fold=1 use the offsets from either side of the jump, which gives two
    # instants bracketing the jump; bisect (to the second) for the instant of the jump itself.
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = sorted((first, other))
    after_offset = high.astimezone(tz).utcoffset()
    lo, hi = int(low.timestamp()), int(high.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(tz).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    after_jump = datetime.fromtimestamp(hi, UTC).astimezone(tz).replace(tzinfo=None)
    if after_jump.second or after_jump.microsecond:
        after_jump = after_jump.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return after_jump.replace(tzinfo=tz).astimezone(UTC)


def _breaks_after(prefs: Preferences, after: datetime) -> Iterator[datetime]:
    """Unpaused breaks strictly after `after`, in order, over SEARCH_DAYS from the later of
    `after` and the end of the pause."""
    _require_aware(after)
    paused_until = prefs.paused_until
    if paused_until is not None and paused_until >= PAUSED_INDEFINITELY:
        return
    earliest = after if paused_until is None else max(after, paused_until)
    # Start a day early: the shift of the previous day may still be running.
    first_day = earliest.astimezone(_tz(prefs.time_zone)).date() - _ONE_DAY
    for offset in range(SEARCH_DAYS + 2):
        for at in _break_times(prefs, first_day + timedelta(days=offset)):
            if at > after and (paused_until is None or at >= paused_until):
                yield at
