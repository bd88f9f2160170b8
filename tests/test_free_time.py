"""Breaks placed between meetings: never inside one, never outside the window, never too
close to another break; the earliest free minute after a meeting is preferred."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.free_time import (
    BREAK_LENGTH,
    fitted_breaks,
    next_fitted_break,
    next_fitted_slot,
    next_free_start,
    place_break,
)
from bot.domain.schedule import Preferences, break_times, work_window

T0 = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def at(minutes: int) -> datetime:
    return T0 + minutes * MIN


def test_a_break_inside_a_meeting_moves_to_the_meeting_end() -> None:
    busy = [(at(60), at(120))]
    assert place_break(at(0), at(480), busy, [], 10 * MIN, at(90), 30 * MIN) == at(120)


def test_back_to_back_meetings_push_past_both_and_a_short_gap_is_skipped() -> None:
    busy = [(at(60), at(120)), (at(120), at(180)), (at(185), at(240))]
    # 180..185 is too short for a 10-minute break.
    assert place_break(at(0), at(480), busy, [], 10 * MIN, at(90), 0 * MIN) == at(240)


def test_a_break_that_would_run_into_a_meeting_waits_for_its_end() -> None:
    busy = [(at(65), at(120))]
    assert place_break(at(0), at(480), busy, [], 10 * MIN, at(60), 0 * MIN) == at(120)


def test_no_room_left_in_the_window_is_none() -> None:
    busy = [(at(60), at(475))]
    assert place_break(at(0), at(480), busy, [], 10 * MIN, at(90), 0 * MIN) is None


def test_spacing_from_a_break_already_placed() -> None:
    busy = [(at(60), at(120))]
    assert place_break(at(0), at(480), busy, [at(125)], 10 * MIN, at(90), 30 * MIN) == at(155)


def test_next_free_start() -> None:
    busy = [(at(0), at(30)), (at(35), at(60))]
    assert next_free_start(busy, at(10), 10 * MIN, at(480)) == at(60)
    assert next_free_start(busy, at(10), 10 * MIN, at(65)) is None


intervals = st.lists(st.tuples(st.integers(-60, 600), st.integers(1, 180)), max_size=8)


@settings(max_examples=3000, deadline=None)
@given(busy=intervals, taken=st.lists(st.integers(0, 540), max_size=5),
       length=st.integers(1, 30), not_before=st.integers(-30, 560),
       spacing=st.integers(0, 60), window=st.tuples(st.integers(-30, 60), st.integers(60, 600)))
def test_placement_properties(busy: list[tuple[int, int]], taken: list[int], length: int,
                              not_before: int, spacing: int, window: tuple[int, int]) -> None:
    spans = [(at(s), at(s + d)) for s, d in busy]
    start = place_break(at(window[0]), at(window[1]), spans, [at(t) for t in taken],
                        length * MIN, at(not_before), spacing * MIN)

    def fits(m: int) -> bool:
        return (m >= max(window[0], not_before) and m + length <= window[1]
                and all(m + length <= s or m >= s + d for s, d in busy)
                and all(abs(m - t) >= spacing for t in taken))

    if start is None:  # then no whole minute in the window fits either
        assert not any(fits(m) for m in range(window[0], window[1] + 1))
        return
    minute = (start - T0) // MIN
    assert start == at(minute) and fits(minute)
    # The earliest one: no whole minute before it fits.
    assert not any(fits(m) for m in range(max(window[0], not_before), minute))


DAYS = [date(2026, 3, 8), date(2026, 3, 9), date(2026, 3, 29), date(2026, 10, 25),
        date(2026, 11, 1), date(2026, 12, 7)]  # US and EU clock changes, ordinary days


@settings(max_examples=1500, deadline=None)
@given(day=st.sampled_from(DAYS),
       zone=st.sampled_from(["America/New_York", "Europe/Madrid", "Asia/Kolkata", "UTC"]),
       hours=st.sampled_from([(time(9), time(17)), (time(1), time(9)), (time(22), time(6))]),
       n=st.integers(1, 8), busy=intervals, stagger=st.integers(0, 179))
def test_a_days_breaks_avoid_meetings_stay_in_the_window_and_apart(
        day: date, zone: str, hours: tuple[time, time], n: int,
        busy: list[tuple[int, int]], stagger: int) -> None:
    prefs = Preferences(zone, frozenset(range(7)), hours[0], hours[1], n, stagger)
    window = work_window(prefs, day)
    assert window is not None
    spans = [(window[0] + s * MIN, window[0] + (s + d) * MIN) for s, d in busy]
    placed = fitted_breaks(prefs, day, spans)
    usual = break_times(prefs, day)
    if not any(e > window[0] and s < window[1] for s, e in spans):
        assert placed == usual  # no meeting that day: the usual times
        return
    assert len(placed) <= len(usual)
    spacing = min(timedelta(minutes=30), (window[1] - window[0]) / (2 * len(usual)))
    for i, start in enumerate(placed):
        assert window[0] <= start and start + BREAK_LENGTH <= window[1]
        assert all(start + BREAK_LENGTH <= s or start >= e for s, e in spans)
        assert start >= usual[min(i, len(usual) - 1)] or start >= usual[0]  # never earlier
        if i:
            assert start - placed[i - 1] >= spacing


def test_a_meeting_from_ten_to_eleven_moves_the_break_to_just_after_it() -> None:
    prefs = Preferences("Europe/Madrid", frozenset(range(5)), time(9), time(17), 4, 42)
    day = date(2026, 12, 7)
    usual = break_times(prefs, day)  # 10:00, 12:00, 14:00, 16:00 local (+42 s)
    meeting = (usual[0] - timedelta(minutes=30), usual[0] + timedelta(minutes=30))
    placed = fitted_breaks(prefs, day, [meeting])
    assert placed[0] == meeting[1] + timedelta(seconds=42)
    assert placed[1:] == usual[1:]
    assert next_fitted_break(prefs, usual[0] - timedelta(hours=1), [meeting]) == placed[0]


def test_a_slot_reminded_already_is_not_planned_again_when_a_meeting_moves_it() -> None:
    prefs = Preferences("Europe/Madrid", frozenset(range(5)), time(9), time(17), 4, 42)
    usual = break_times(prefs, date(2026, 12, 7))  # 10:00, 12:00, 14:00, 16:00 local
    # The 10:00 reminder went out; then a meeting over it appears in the calendar.
    now = usual[0] + 5 * MIN
    meeting = (usual[0] - 10 * MIN, usual[0] + 40 * MIN)
    assert next_fitted_slot(prefs, now, [meeting]) == (
        usual[0], meeting[1] + timedelta(seconds=42))  # the 10:00 slot a second time
    assert next_fitted_slot(prefs, now, [meeting], used={usual[0]}) == (usual[1], usual[1])
    # Without meetings a used slot is passed over too.
    assert next_fitted_slot(prefs, usual[0] - MIN, [], used={usual[0]}) == (usual[1], usual[1])


@settings(deadline=None)
@given(day=st.sampled_from(DAYS),
       zone=st.sampled_from(["America/New_York", "Europe/Madrid", "Asia/Kolkata", "UTC"]),
       hours=st.sampled_from([(time(9), time(17)), (time(22), time(6))]), n=st.integers(1, 8),
       appearing=st.lists(st.tuples(st.integers(0, 600), st.integers(-120, 120),
                                    st.integers(1, 180)), max_size=8))
def test_meetings_appearing_during_the_day_never_bring_a_slot_twice(
        day: date, zone: str, hours: tuple[time, time], n: int,
        appearing: list[tuple[int, int, int]]) -> None:
    """Breaks are reminded one after the other while meetings appear in the calendar (each
    known from minute `known` on, starting `offset` minutes from then): every slot of the
    day is reminded at most once, and reminders go forward in time."""
    prefs = Preferences(zone, frozenset(range(7)), hours[0], hours[1], n, 17)
    window = work_window(prefs, day)
    assert window is not None
    known: list[tuple[datetime, datetime]] = []
    used: set[datetime] = set()
    now = window[0] - MIN
    for _step in range(n + len(appearing) + 1):
        known += [(window[0] + (k + o) * MIN, window[0] + (k + o + d) * MIN)
                  for k, o, d in appearing if window[0] + k * MIN <= now
                  and (window[0] + (k + o) * MIN, window[0] + (k + o + d) * MIN) not in known]
        found = next_fitted_slot(prefs, now, known, used)
        if found is None or found[1] >= window[1]:
            break
        slot, at = found
        assert slot not in used and at > now
        used.add(slot)
        now = at
