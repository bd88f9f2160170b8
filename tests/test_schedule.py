"""Schedule maths: work windows, break times, pauses, snoozes and expiry across time zones.

Examples first (office hours, night shifts, days off, pauses, summer-time changes in five
zones), then hypothesis properties over every zone, window, break count and date in 2026-2027.
"""

from __future__ import annotations

import functools
import math
import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.schedule import (
    MAX_BREAKS_PER_DAY,
    PAUSE_KINDS,
    PAUSED_INDEFINITELY,
    Preferences,
    break_times,
    expires_at,
    is_paused,
    next_break_at,
    pause_end,
    snooze_until,
    stagger_for,
    still_useful,
    upcoming_breaks,
    window_of,
    work_window,
)

WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))
MADRID = zoneinfo.ZoneInfo("Europe/Madrid")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")

# 2026-06-15 is a Monday.
MON, WED, FRI, SAT, SUN = (date(2026, 6, d) for d in (15, 17, 19, 20, 21))


def prefs(**changes: object) -> Preferences:
    values: dict[str, object] = {
        "time_zone": "Europe/Madrid",
        "work_days": WEEKDAYS,
        "start": time(9),
        "end": time(17),
        "breaks_per_day": 4,
    }
    values.update(changes)
    return Preferences(**values)  # type: ignore[arg-type]


def local(day: date, hour: int, minute: int = 0, second: int = 0, tz: tzinfo = MADRID) -> datetime:
    """A local wall-clock time as a UTC instant (first occurrence when ambiguous)."""
    return datetime.combine(day, time(hour, minute, second), tz).astimezone(UTC)


def walls(times: list[datetime], tz: tzinfo) -> list[str]:
    return [t.astimezone(tz).strftime("%a %H:%M:%S") for t in times]


# --- break times ---------------------------------------------------------------------------


def test_office_hours_spread_four_breaks_evenly() -> None:
    times = break_times(prefs(), WED)
    assert [t.astimezone(MADRID).time() for t in times] == [time(h) for h in (10, 12, 14, 16)]
    assert all(t.tzinfo is UTC for t in times)


def test_stagger_shifts_every_break_by_the_same_seconds() -> None:
    plain = break_times(prefs(), WED)
    staggered = break_times(prefs(stagger_seconds=137), WED)
    assert [s - p for s, p in zip(staggered, plain, strict=True)] == [timedelta(seconds=137)] * 4


def test_stagger_is_capped_below_half_the_gap() -> None:
    # 60 minutes, 8 breaks: a 7.5-minute gap, so at most 224 s after each slot's middle.
    p = prefs(start=time(9), end=time(10), breaks_per_day=8, stagger_seconds=10_000)
    times = break_times(p, WED)
    assert walls(times, MADRID)[0] == "Wed 09:06:44"
    assert times[-1] < local(WED, 10)
    assert len(times) == 8


def test_break_rounds_down_to_the_whole_minute() -> None:
    # 09:00-16:00 with 3 breaks: the first slot's middle is 10:10.
    times = break_times(prefs(end=time(16), breaks_per_day=3), WED)
    assert walls(times, MADRID) == ["Wed 10:10:00", "Wed 12:30:00", "Wed 14:50:00"]
    times = break_times(prefs(start=time(9), end=time(10, 1), breaks_per_day=1), WED)
    assert walls(times, MADRID) == ["Wed 09:30:00"]  # 09:30:30 rounded down


def test_days_off_have_no_breaks() -> None:
    assert break_times(prefs(), SAT) == []
    assert break_times(prefs(), SUN) == []
    assert work_window(prefs(), SAT) is None
    assert break_times(prefs(work_days=frozenset()), WED) == []


def test_night_shift_belongs_to_the_day_it_starts() -> None:
    p = prefs(start=time(22), end=time(6))
    times = break_times(p, FRI)
    assert walls(times, MADRID) == ["Fri 23:00:00", "Sat 01:00:00", "Sat 03:00:00", "Sat 05:00:00"]
    assert break_times(p, SAT) == []  # Saturday is a day off: no shift starts then
    assert window_of(p, times[2]) == (local(FRI, 22), local(SAT, 6))
    # Sunday's shift is off, Monday's starts Monday evening.
    assert window_of(p, local(MON, 3)) is None


def test_a_window_with_end_equal_to_start_lasts_24_hours() -> None:
    p = prefs(start=time(8), end=time(8), breaks_per_day=2)
    assert walls(break_times(p, WED), MADRID) == ["Wed 14:00:00", "Thu 02:00:00"]
    assert work_window(p, WED) == (local(WED, 8), local(WED + timedelta(days=1), 8))


def test_fixed_offset_zone() -> None:
    p = prefs(time_zone="UTC-03:00")
    assert break_times(p, WED)[0] == datetime(2026, 6, 17, 13, tzinfo=UTC)
    p = prefs(time_zone="UTC+05:30", start=time(22), end=time(6), breaks_per_day=1)
    assert break_times(p, WED) == [datetime(2026, 6, 17, 20, 30, tzinfo=UTC)]


def test_window_of_is_half_open() -> None:
    p = prefs()
    assert window_of(p, local(WED, 9)) == (local(WED, 9), local(WED, 17))
    assert window_of(p, local(WED, 17)) is None
    assert window_of(p, local(WED, 8, 59)) is None


# --- summer time ---------------------------------------------------------------------------


def test_new_york_office_hours_keep_local_times_across_both_changes() -> None:
    p = prefs(time_zone="America/New_York", work_days=EVERY_DAY)
    for day in (date(2026, 3, 8), date(2026, 11, 1)):
        times = break_times(p, day)
        assert [t.astimezone(NEW_YORK).time() for t in times] == [time(h) for h in (10, 12, 14, 16)]
    spring, autumn = break_times(p, date(2026, 3, 8))[0], break_times(p, date(2026, 11, 1))[0]
    assert (spring.hour, autumn.hour) == (14, 15)  # EDT on both days: 10:00 local


def test_a_break_in_the_spring_forward_gap_moves_to_the_next_valid_minute() -> None:
    p = prefs(time_zone="America/New_York", work_days=EVERY_DAY, start=time(1), end=time(5))
    times = break_times(p, date(2026, 3, 8))
    assert walls(times, NEW_YORK) == [
        "Sun 01:30:00",
        "Sun 03:00:00",
        "Sun 03:30:00",
        "Sun 04:30:00",
    ]
    assert times[1] == datetime(2026, 3, 8, 7, tzinfo=UTC)


def test_two_breaks_moved_to_the_same_minute_fire_once() -> None:
    # 02:15 and 02:45 do not exist that night; both move to 03:00, which fires once.
    p = prefs(
        time_zone="America/New_York",
        work_days=EVERY_DAY,
        start=time(1),
        end=time(5),
        breaks_per_day=8,
    )
    times = break_times(p, date(2026, 3, 8))
    assert walls(times, NEW_YORK) == [
        "Sun 01:15:00",
        "Sun 01:45:00",
        "Sun 03:00:00",
        "Sun 03:15:00",
        "Sun 03:45:00",
        "Sun 04:15:00",
        "Sun 04:45:00",
    ]


def test_a_window_inside_the_gap_has_no_breaks_and_ending_in_it_drops_the_rest() -> None:
    p = prefs(time_zone="America/New_York", work_days=EVERY_DAY, start=time(2), end=time(3))
    assert break_times(p, date(2026, 3, 8)) == []
    p = prefs(
        time_zone="America/New_York",
        work_days=EVERY_DAY,
        start=time(1),
        end=time(2, 30),
        breaks_per_day=2,
    )
    # 02:07 would move to 03:00, which is where the shortened window ends.
    assert walls(break_times(p, date(2026, 3, 8)), NEW_YORK) == ["Sun 01:22:00"]


def test_an_ambiguous_time_fires_once_at_its_first_occurrence() -> None:
    p = prefs(time_zone="America/New_York", work_days=EVERY_DAY, start=time(0), end=time(4))
    times = break_times(p, date(2026, 11, 1))
    assert walls(times, NEW_YORK) == [
        "Sun 00:30:00",
        "Sun 01:30:00",
        "Sun 02:30:00",
        "Sun 03:30:00",
    ]
    assert times[1] == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not EST
    p = prefs(
        time_zone="America/New_York",
        work_days=EVERY_DAY,
        start=time(1),
        end=time(2),
        breaks_per_day=8,
    )
    times = break_times(p, date(2026, 11, 1))
    assert len(set(times)) == 8
    assert all(t.astimezone(NEW_YORK).fold == 0 for t in times)


def test_a_week_across_a_change_is_strictly_increasing() -> None:
    p = prefs(
        time_zone="America/New_York",
        work_days=EVERY_DAY,
        start=time(22),
        end=time(6),
        breaks_per_day=8,
        stagger_seconds=179,
    )
    for first in (date(2026, 3, 5), date(2026, 10, 29)):
        week = [t for k in range(7) for t in break_times(p, first + timedelta(days=k))]
        assert week == sorted(set(week))


@pytest.mark.parametrize(
    ("zone", "day", "hours", "expected"),
    [
        # Madrid jumps 02:00 -> 03:00 on 29 March, goes back 03:00 -> 02:00 on 25 October.
        ("Europe/Madrid", "2026-03-29", "01:00-05:00", "01:30 03:00 03:30 04:30"),
        ("Europe/Madrid", "2026-10-25", "01:00-05:00", "01:30 02:30 03:30 04:30"),
        # Kolkata has no summer time: a plain +05:30.
        ("Asia/Kolkata", "2026-03-29", "09:00-17:00", "10:00 12:00 14:00 16:00"),
        # Chatham (+12:45/+13:45) jumps 02:45 -> 03:45 on 27 September, back on 5 April.
        ("Pacific/Chatham", "2026-09-27", "02:00-06:00", "02:30 03:45 04:30 05:30"),
        ("Pacific/Chatham", "2026-04-05", "02:00-06:00", "02:30 03:30 04:30 05:30"),
        # Lord Howe moves by half an hour: 02:00 -> 02:30 on 4 October, 02:00 -> 01:30 on 5 April.
        ("Australia/Lord_Howe", "2026-10-04", "01:00-03:00", "01:15 01:45 02:30 02:45"),
        ("Australia/Lord_Howe", "2026-04-05", "01:00-03:00", "01:15 01:45 02:15 02:45"),
    ],
)
def test_summer_time_changes_around_the_world(
    zone: str, day: str, hours: str, expected: str
) -> None:
    start, end = (time.fromisoformat(part) for part in hours.split("-"))
    work_day = date.fromisoformat(day)
    p = prefs(time_zone=zone, work_days=EVERY_DAY, start=start, end=end)
    times = break_times(p, work_day)
    tz = zoneinfo.ZoneInfo(zone)
    assert " ".join(t.astimezone(tz).strftime("%H:%M") for t in times) == expected
    assert all(t.astimezone(tz).date() == work_day for t in times)
    assert times == sorted(set(times))


def test_kolkata_offset_in_utc() -> None:
    p = prefs(time_zone="Asia/Kolkata")
    assert break_times(p, WED)[0] == datetime(2026, 6, 17, 4, 30, tzinfo=UTC)


# --- next break, pauses --------------------------------------------------------------------


def test_next_break_is_strictly_after() -> None:
    p = prefs()
    assert next_break_at(p, local(WED, 8)) == local(WED, 10)
    assert next_break_at(p, local(WED, 10)) == local(WED, 12)


def test_next_break_skips_the_weekend() -> None:
    p = prefs()
    assert next_break_at(p, local(FRI, 16)) == local(date(2026, 6, 22), 10)


def test_next_break_during_a_night_shift_after_midnight() -> None:
    p = prefs(start=time(22), end=time(6))
    assert next_break_at(p, local(SAT, 2)) == local(SAT, 3)


def test_a_break_during_a_pause_is_skipped_not_postponed() -> None:
    p = prefs(paused_until=local(WED, 13))
    assert next_break_at(p, local(WED, 9)) == local(WED, 14)
    assert upcoming_breaks(p, local(WED, 9), 3) == [
        local(WED, 14),
        local(WED, 16),
        local(date(2026, 6, 18), 10),
    ]
    # A pause that ends exactly at a break lets that break through.
    assert next_break_at(prefs(paused_until=local(WED, 12)), local(WED, 9)) == local(WED, 12)


def test_a_long_pause_is_searched_past() -> None:
    p = prefs(paused_until=local(WED, 9) + timedelta(days=30))
    assert next_break_at(p, local(WED, 9)) == local(date(2026, 7, 17), 10)


def test_paused_until_resumed_has_no_next_break() -> None:
    p = prefs(paused_until=PAUSED_INDEFINITELY)
    assert next_break_at(p, local(WED, 9)) is None
    assert upcoming_breaks(p, local(WED, 9), 5) == []
    assert is_paused(p, local(WED, 9))
    assert not is_paused(prefs(), local(WED, 9))


def test_no_work_days_means_no_breaks() -> None:
    assert next_break_at(prefs(work_days=frozenset()), local(WED, 9)) is None


def test_upcoming_breaks() -> None:
    p = prefs(breaks_per_day=2)
    assert walls(upcoming_breaks(p, local(FRI, 12), 3), MADRID) == [
        "Fri 15:00:00",
        "Mon 11:00:00",
        "Mon 15:00:00",
    ]
    assert upcoming_breaks(p, local(FRI, 12), 0) == []


def test_pause_for_days() -> None:
    now = local(WED, 10, 30)
    assert pause_end("1d", now, prefs()) == now + timedelta(days=1)
    assert pause_end("3d", now, prefs()) == now + timedelta(days=3)
    assert pause_end("7d", now, prefs()) == now + timedelta(days=7)
    assert pause_end("until_resumed", now, prefs()) == PAUSED_INDEFINITELY
    assert pause_end("resume", now, prefs()) == PAUSED_INDEFINITELY
    assert set(PAUSE_KINDS) == {"today", "1d", "3d", "7d", "until_resumed", "resume"}
    with pytest.raises(ValueError, match="unknown pause choice"):
        pause_end("forever", now, prefs())


def test_pause_today_ends_at_local_midnight() -> None:
    thursday = date(2026, 6, 18)
    assert pause_end("today", local(WED, 10, 30), prefs()) == local(thursday, 0)
    assert pause_end("today", local(SAT, 10, 30), prefs()) == local(SUN, 0)


def test_pause_today_covers_the_whole_night_shift() -> None:
    p = prefs(start=time(22), end=time(6))
    # Before or during the shift that starts today: until that shift ends tomorrow morning.
    assert pause_end("today", local(FRI, 20), p) == local(SAT, 6)
    assert pause_end("today", local(FRI, 23), p) == local(SAT, 6)
    # After midnight in yesterday's shift: the rest of this shift only.
    assert pause_end("today", local(SAT, 2), p) == local(SAT, 6)
    paused = prefs(start=time(22), end=time(6), paused_until=local(FRI, 23))
    assert next_break_at(paused, local(FRI, 23)) == local(SAT, 1)


def test_pause_today_midnight_in_a_zone_whose_midnight_is_skipped() -> None:
    # Nuuk jumps 23:00 -> 00:00 on 28 March 2026; the day still ends at 00:00 local.
    nuuk = zoneinfo.ZoneInfo("America/Nuuk")
    now = datetime(2026, 3, 28, 12, tzinfo=nuuk)
    end = pause_end("today", now, prefs(time_zone="America/Nuuk"))
    assert end.astimezone(nuuk).replace(tzinfo=None) == datetime(2026, 3, 29)


# --- snooze, late reminders, expiry --------------------------------------------------------


def test_snooze_inside_the_window() -> None:
    p = prefs()
    assert snooze_until(p, local(WED, 16), local(WED, 16, 2)) == local(WED, 16, 12)
    assert snooze_until(p, local(WED, 16), local(WED, 16, 2), minutes=5) == local(WED, 16, 7)


def test_snooze_past_the_window_end_is_refused() -> None:
    p = prefs()
    assert snooze_until(p, local(WED, 16), local(WED, 16, 49)) == local(WED, 16, 59)
    assert snooze_until(p, local(WED, 16), local(WED, 16, 50)) is None  # lands on the end
    assert snooze_until(p, local(WED, 16), local(WED, 16, 55)) is None
    assert snooze_until(p, local(WED, 18), local(WED, 18)) is None  # not in a window at all


def test_still_useful_within_grace_inside_the_window() -> None:
    p = prefs()
    grace = timedelta(minutes=15)
    assert still_useful(p, local(WED, 16), local(WED, 16), grace)
    assert still_useful(p, local(WED, 16), local(WED, 16, 15), grace)
    assert not still_useful(p, local(WED, 16), local(WED, 16, 16), grace)  # too late
    assert not still_useful(p, local(WED, 16), local(WED, 17), timedelta(hours=2))  # window over
    assert not still_useful(p, local(SAT, 16), local(SAT, 16), grace)  # day off


def test_still_useful_respects_a_pause() -> None:
    grace = timedelta(minutes=15)
    assert not still_useful(
        prefs(paused_until=local(WED, 17)), local(WED, 16), local(WED, 16), grace
    )
    # Sent late, and the user paused in between.
    late = prefs(paused_until=local(WED, 16, 10))
    assert not still_useful(late, local(WED, 16), local(WED, 16, 5), grace)
    assert still_useful(prefs(paused_until=local(WED, 15)), local(WED, 16), local(WED, 16), grace)


def test_still_useful_across_midnight() -> None:
    p = prefs(start=time(22), end=time(6))
    assert still_useful(p, local(FRI, 23, 50), local(SAT, 0, 5), timedelta(minutes=30))


def test_expires_at_takes_the_earliest_limit() -> None:
    p = prefs()
    hour = timedelta(hours=1)
    assert expires_at(p, local(WED, 10), local(WED, 10), hour) == local(WED, 11)
    assert expires_at(p, local(WED, 10), local(WED, 10), 3 * hour) == local(WED, 12)  # next break
    assert expires_at(p, local(WED, 16), local(WED, 16), 3 * hour) == local(WED, 17)  # window end


def test_expires_at_of_the_last_break_of_a_night_shift() -> None:
    p = prefs(start=time(22), end=time(6))
    assert expires_at(p, local(SAT, 5), local(SAT, 5), timedelta(hours=4)) == local(SAT, 6)


# --- stagger and validation ----------------------------------------------------------------


def test_stagger_for_is_stable_and_spreads_users() -> None:
    assert stagger_for(123456789) == stagger_for(123456789)
    assert stagger_for(123456789) == 17  # fixed forever: a change would move everyone's breaks
    offsets = [stagger_for(user_id) for user_id in range(10_000)]
    assert min(offsets) == 0 and max(offsets) == 179
    assert len(set(offsets)) == 180
    assert max(offsets.count(k) for k in range(180)) < 3 * 10_000 / 180  # no crowd on one second
    assert {stagger_for(user_id, 60) for user_id in range(1000)} <= set(range(60))
    with pytest.raises(ValueError):
        stagger_for(1, 0)


@pytest.mark.parametrize(
    "changes",
    [
        {"time_zone": "Mars/Olympus"},
        {"time_zone": "America"},
        {"time_zone": "../etc/passwd"},
        {"time_zone": ""},
        {"time_zone": "UTC+15:00"},
        {"time_zone": "UTC+05:60"},
        {"work_days": frozenset({7})},
        {"breaks_per_day": 0},
        {"breaks_per_day": MAX_BREAKS_PER_DAY + 1},
        {"stagger_seconds": -1},
        {"paused_until": datetime(2026, 6, 17, 12)},
    ],
)
def test_nonsense_preferences_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        prefs(**changes)


def test_accepted_zone_spellings() -> None:
    for name in ("UTC", "UTC+00:00", "UTC+14:00", "UTC-12:00", "UTC+05:45", "Etc/GMT+5"):
        assert prefs(time_zone=name).time_zone == name


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        next_break_at(prefs(), datetime(2026, 6, 17, 9))
    with pytest.raises(ValueError):
        window_of(prefs(), datetime(2026, 6, 17, 9))


# --- properties ----------------------------------------------------------------------------

NAMED_ZONES = [
    "America/New_York",
    "Europe/Madrid",
    "Asia/Kolkata",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
]
_OFFSET = re.compile(r"UTC([+-])(\d\d):(\d\d)")


def zone_of(name: str) -> tzinfo:
    """The test's own reading of a stored zone name."""
    match = _OFFSET.fullmatch(name)
    if match is None:
        return zoneinfo.ZoneInfo(name)
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return timezone(timedelta(minutes=-minutes if match.group(1) == "-" else minutes))


def offset_name(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


zones = st.one_of(
    st.sampled_from(NAMED_ZONES),
    st.sampled_from(sorted(zoneinfo.available_timezones())),
    st.integers(-12 * 4, 14 * 4).map(lambda quarters: offset_name(quarters * 15)),
)


@st.composite
def preferences(draw: st.DrawFn) -> Preferences:
    start = draw(st.integers(0, 24 * 60 - 1))
    length = draw(st.integers(60, 24 * 60))  # 24 h gives end == start
    end = (start + length) % (24 * 60)
    return Preferences(
        time_zone=draw(zones),
        work_days=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        start=time(start // 60, start % 60),
        end=time(end // 60, end % 60),
        breaks_per_day=draw(st.integers(1, MAX_BREAKS_PER_DAY)),
        stagger_seconds=draw(st.sampled_from([0, 0, 59, 179, 600])),
    )


FIRST_DAY, LAST_DAY = date(2026, 1, 1), date(2027, 12, 31)


@functools.cache
def change_days(name: str) -> list[date]:
    """Days in 2026-2027 around which the zone's clocks change (the day before, of, after)."""
    tz = zone_of(name)
    found: set[date] = set()
    day = FIRST_DAY - timedelta(days=1)
    offset = datetime.combine(day, time(), tz).utcoffset()
    while day <= LAST_DAY:
        day += timedelta(days=1)
        following = datetime.combine(day + timedelta(days=1), time(), tz).utcoffset()
        if following != offset:
            found.update(day + timedelta(days=k) for k in (-1, 0, 1))
        offset = following
    return sorted(found)


@st.composite
def work_days_of(draw: st.DrawFn, p: Preferences) -> date:
    """Any day, or (half the time) one next to a change of the clocks in the user's zone."""
    near_changes = change_days(p.time_zone)
    near_a_change: bool = bool(near_changes) and draw(st.booleans())
    if near_a_change:
        return draw(st.sampled_from(near_changes))
    return draw(st.dates(FIRST_DAY, LAST_DAY))


cases = preferences().flatmap(lambda p: st.tuples(st.just(p), work_days_of(p)))
moments = preferences().flatmap(
    lambda p: st.tuples(
        st.just(p),
        st.builds(
            lambda day, second: datetime.combine(day, time(), UTC) + timedelta(seconds=second),
            work_days_of(p),
            st.integers(0, 24 * 3600 - 1),
        ),
    )
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def exists(wall: datetime, tz: tzinfo) -> bool:
    return wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def skipped_to(wall: datetime, tz: tzinfo) -> datetime:
    """The first wall-clock minute at or after `wall` that exists."""
    while not exists(wall, tz):
        wall += timedelta(minutes=1)
    return wall


def nominal(p: Preferences, day: date) -> tuple[list[datetime], datetime, datetime, int]:
    """The wall-clock breaks before any summer-time adjustment, the window walls and stagger."""
    start = datetime.combine(day, p.start)
    end = datetime.combine(day, p.end)
    if end <= start:
        end += timedelta(days=1)
    minutes = Fraction(int((end - start).total_seconds()), 60)
    n = p.breaks_per_day
    wall_breaks = [
        start + timedelta(minutes=math.floor((i + Fraction(1, 2)) * minutes / n)) for i in range(n)
    ]
    half_gap_seconds = minutes * 60 / n / 2
    stagger = min(p.stagger_seconds, math.ceil(half_gap_seconds) - 1)
    return wall_breaks, start, end, stagger


@PROPERTY
@given(cases)
def test_every_break_is_inside_its_work_window(case: tuple[Preferences, date]) -> None:
    p, day = case
    times = break_times(p, day)
    if day.weekday() not in p.work_days:
        assert times == []
        return
    window = work_window(p, day)
    assert window is not None
    assert times == sorted(set(times))  # strictly increasing: never two for the same slot
    assert len(times) <= p.breaks_per_day
    for at in times:
        assert at.tzinfo is UTC
        assert window[0] <= at < window[1]
        assert window_of(p, at) == window


@PROPERTY
@given(cases)
def test_breaks_fall_at_their_local_wall_clock_times(case: tuple[Preferences, date]) -> None:
    p, day = case
    p = Preferences(p.time_zone, EVERY_DAY, p.start, p.end, p.breaks_per_day, p.stagger_seconds)
    tz = zone_of(p.time_zone)
    wall_breaks, start, end, stagger = nominal(p, day)
    times = break_times(p, day)
    if all(exists(w, tz) for w in [start, end, *wall_breaks]):
        # No jump touches this window: exactly as asked, at the usual local times.
        assert len(times) == p.breaks_per_day
        got = [(t - timedelta(seconds=stagger)).astimezone(tz).replace(tzinfo=None) for t in times]
        assert got == wall_breaks
    else:
        # A jump forward: a break stays put, or moves to the first minute after the jump.
        for at in times:
            base = (at - timedelta(seconds=stagger)).astimezone(tz).replace(tzinfo=None)
            assert base.second == 0
            assert base in wall_breaks or any(
                w < base and skipped_to(w, tz) == base for w in wall_breaks
            )


@PROPERTY
@given(cases)
def test_a_week_of_breaks_is_strictly_increasing(case: tuple[Preferences, date]) -> None:
    p, first = case
    first -= timedelta(days=3)
    week = [t for k in range(8) for t in break_times(p, first + timedelta(days=k))]
    assert week == sorted(set(week))


@PROPERTY
@given(moments, st.one_of(st.none(), st.integers(0, 10 * 24 * 60)))
def test_next_break_walks_exactly_the_listed_breaks(
    moment: tuple[Preferences, datetime], pause_minutes: int | None
) -> None:
    p, start = moment
    paused_until = None if pause_minutes is None else start + timedelta(minutes=pause_minutes)
    p = Preferences(
        p.time_zone, p.work_days, p.start, p.end, p.breaks_per_day, p.stagger_seconds, paused_until
    )
    horizon = start + timedelta(days=14)
    first_day = start.astimezone(zone_of(p.time_zone)).date() - timedelta(days=1)
    expected = [
        at
        for k in range(17)
        for at in break_times(p, first_day + timedelta(days=k))
        if start < at <= horizon and (paused_until is None or at >= paused_until)
    ]
    walked: list[datetime] = []
    cursor: datetime | None = start
    while cursor is not None and cursor <= horizon:
        cursor = next_break_at(p, cursor)
        if cursor is not None and cursor <= horizon:
            walked.append(cursor)
    assert walked == expected
    first_five = expected[:5]
    assert upcoming_breaks(p, start, 5)[: len(first_five)] == first_five


@PROPERTY
@given(cases, st.integers(0, 120), st.integers(1, 180))
def test_snooze_late_and_expiry_stay_inside_the_window(
    case: tuple[Preferences, date], late_minutes: int, expire_minutes: int
) -> None:
    p, day = case
    for at in break_times(p, day):
        window = window_of(p, at)
        assert window is not None
        now = at + timedelta(minutes=late_minutes)
        snoozed = snooze_until(p, at, now)
        back = now + timedelta(minutes=10)
        assert snoozed == (back if back < window[1] else None)
        assert still_useful(p, at, at, timedelta(0))
        grace = timedelta(minutes=30)
        assert still_useful(p, at, now, grace) == (now < window[1] and late_minutes <= 30)
        expiry = expires_at(p, at, at, timedelta(minutes=expire_minutes))
        assert at < expiry <= min(window[1], at + timedelta(minutes=expire_minutes))


@PROPERTY
@given(moments)
def test_pausing_for_today_skips_the_rest_of_today(moment: tuple[Preferences, datetime]) -> None:
    p, now = moment
    end = pause_end("today", now, p)
    tz = zone_of(p.time_zone)
    assert end > now
    # Nothing else of the current local day (or the shift in progress) is left unpaused.
    window = window_of(p, now)
    if window is not None:
        assert end >= window[1]
    local_day = now.astimezone(tz).date()
    next_midnight = datetime.combine(local_day + timedelta(days=1), time())
    assert end.astimezone(tz).replace(tzinfo=None) >= next_midnight or (
        window is not None and end == window[1]
    )
