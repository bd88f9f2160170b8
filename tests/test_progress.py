"""Progress as pure functions (daily means in the user's zone, streak, planned breaks,
changes and texts), the weekly summary's timing, and the chart's content and PNG."""

from __future__ import annotations

import io
import random
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from typing import Any, cast
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from bot.domain.chart import DPI, HEIGHT, WIDTH, build_figure, render_progress_chart
from bot.domain.progress import (
    MIN_CHART_DAYS,
    BreakRecord,
    Change,
    ProgressSeries,
    RatingRecord,
    WeekFigures,
    build_progress,
    daily_series,
    planned_in_week,
    progress_text,
    streak,
    summary_text,
    week_figures,
)
from bot.domain.schedule import PAUSED_INDEFINITELY, Preferences, break_times
from handlers.planning import SUMMARY_AFTER_WORK as AFTER_WORK
from handlers.planning import summary_times

NEW_YORK = "America/New_York"
# Thursday 3 December 2026, 15:00 UTC = 10:00 in New York.
NOW = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
WEEKDAYS = frozenset(range(5))


def prefs(zone: str = NEW_YORK, **changes: object) -> Preferences:
    values: dict[str, object] = dict(time_zone=zone, work_days=WEEKDAYS, start=time(9),
                                     end=time(17), breaks_per_day=4)
    values.update(changes)
    return Preferences(**values)  # type: ignore[arg-type]


def local(day: date, hour: int, minute: int = 0, zone: str = NEW_YORK) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute,
                    tzinfo=ZoneInfo(zone)).astimezone(UTC)


def done(day: date, hour: int = 11, status: str = "done", zone: str = NEW_YORK,
         reminded: bool = True) -> BreakRecord:
    at = local(day, hour, zone=zone)
    return BreakRecord(at, status, at, reminded)


def expected_means(ratings: list[RatingRecord], zone: str) -> dict[date, tuple[float, float]]:
    """The daily means worked out independently of bot.domain.progress."""
    by_day: dict[date, list[RatingRecord]] = defaultdict(list)
    for rating in ratings:
        if not rating.baseline:
            by_day[rating.at.astimezone(ZoneInfo(zone)).date()].append(rating)
    return {day: (fmean(r.pain for r in rs), fmean(r.stiffness for r in rs))
            for day, rs in by_day.items()}


# ------------------------------------------------------------------------------------------
# Daily series


def test_no_data_gives_a_week_of_empty_days_ending_today() -> None:
    series = daily_series([], [], NEW_YORK, NOW)
    assert len(series.days) == MIN_CHART_DAYS
    assert series.days[-1].day == date(2026, 12, 3)
    assert all(d.pain is None and d.done == 0 for d in series.days)
    assert series.baseline is None and not series.rated


def test_one_day_of_data() -> None:
    today = date(2026, 12, 3)
    ratings = [RatingRecord(local(today, 8), 4, 6), RatingRecord(local(today, 9), 5, 3),
               RatingRecord(local(date(2026, 11, 30), 8), 6, 5, baseline=True)]
    series = daily_series(ratings, [done(today)], NEW_YORK, NOW)
    assert len(series.days) == MIN_CHART_DAYS
    last = series.days[-1]
    assert (last.pain, last.stiffness, last.ratings, last.done) == (4.5, 4.5, 2, 1)
    assert [d.day for d in series.days if d.ratings] == [today]
    assert series.baseline is not None
    assert (series.baseline.day, series.baseline.pain) == (date(2026, 11, 30), 6)


def test_a_rating_at_23_30_local_counts_for_that_local_day() -> None:
    late = local(date(2026, 12, 1), 23, 30)
    assert late.date() == date(2026, 12, 2)  # the next day in UTC
    series = daily_series([RatingRecord(late, 2, 3)], [done(date(2026, 12, 1), 23)],
                          NEW_YORK, NOW)
    by_day = {d.day: d for d in series.days}
    assert by_day[date(2026, 12, 1)].pain == 2 and by_day[date(2026, 12, 1)].done == 1
    assert by_day[date(2026, 12, 2)].ratings == 0 and by_day[date(2026, 12, 2)].done == 0


def test_a_year_of_data_gives_one_point_per_local_day_equal_to_the_stored_means() -> None:
    rng = random.Random(5)
    zone = "Australia/Lord_Howe"  # half-hour summer time: day edges move twice a year
    start = NOW - timedelta(days=365)
    ratings = [RatingRecord(start + timedelta(minutes=rng.randrange(365 * 24 * 60)),
                            rng.randint(0, 10), rng.randint(0, 10)) for _ in range(1500)]
    ratings.append(RatingRecord(start, 7, 7, baseline=True))
    series = daily_series(ratings, [], zone, NOW)
    days = [d.day for d in series.days]
    assert days == [days[0] + timedelta(days=n) for n in range(len(days))]
    assert 365 <= len(days) <= 367
    plotted = {d.day: (d.pain, d.stiffness) for d in series.days if d.ratings}
    assert plotted == expected_means(ratings, zone)
    assert sum(d.ratings for d in series.days) == 1500


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60 * 24 * 40), st.integers(0, 10),
                          st.integers(0, 10)), max_size=40),
       st.sampled_from(["UTC", NEW_YORK, "Asia/Kolkata", "Pacific/Chatham", "UTC-03:00",
                        "Europe/Madrid"]))
def test_daily_means_match_for_any_ratings_and_zone(
    raw: list[tuple[int, int, int]], zone: str
) -> None:
    from bot.domain.zones import tzinfo_for

    start = NOW - timedelta(days=40)
    ratings = [RatingRecord(start + timedelta(minutes=m), p, s) for m, p, s in raw]
    series = daily_series(ratings, [], zone, NOW)
    by_day: dict[date, list[RatingRecord]] = defaultdict(list)
    for rating in ratings:
        by_day[rating.at.astimezone(tzinfo_for(zone)).date()].append(rating)
    assert {d.day: d.pain for d in series.days if d.ratings} == {
        day: fmean(r.pain for r in rs) for day, rs in by_day.items()}


# ------------------------------------------------------------------------------------------
# Streak, the week, changes


def test_the_streak_counts_work_days_and_passes_over_weekends_and_today() -> None:
    # Mon 23 Nov .. Fri 27 Nov, Mon 30 Nov .. Wed 2 Dec done; today (Thu 3 Dec) not yet.
    days = [date(2026, 11, 23) + timedelta(days=n) for n in range(10)]
    breaks = [done(day) for day in days if day.weekday() < 5]
    assert streak(breaks, prefs(), NOW) == 8
    assert streak([*breaks, done(date(2026, 12, 3), 9)], prefs(), NOW + timedelta(hours=1)) == 9
    gap = [b for b in breaks if b.at.astimezone(ZoneInfo(NEW_YORK)).date()
           != date(2026, 11, 25)]
    assert streak(gap, prefs(), NOW) == 5  # Thu 26 .. Wed 2 Dec
    skipped = [done(date(2026, 12, 2), status="skipped")]
    assert streak(skipped, prefs(), NOW) == 0


def test_a_night_shift_break_after_midnight_counts_for_the_day_the_shift_began() -> None:
    night = prefs(start=time(22), end=time(6))
    # Both on Tuesday's calendar, but 02:00 belongs to Monday's shift, 23:00 to Tuesday's.
    breaks = [done(date(2026, 12, 1), 2), done(date(2026, 12, 1), 23)]
    assert streak(breaks, night, local(date(2026, 12, 2), 12)) == 2
    assert streak(breaks[1:], night, local(date(2026, 12, 2), 12)) == 1


def test_planned_this_week_counts_sent_reminders_and_breaks_to_come_outside_pauses() -> None:
    p = prefs()
    sent = [done(date(2026, 11, 30), 10, status="missed"), done(date(2026, 12, 1), 10),
            done(date(2026, 12, 1), 12, reminded=False)]  # a /stretch break: not planned
    to_come = [at for n in range(3, 8) for at in break_times(p, date(2026, 11, 27) +
                                                             timedelta(days=n)) if at > NOW]
    assert planned_in_week(sent, p, date(2026, 11, 30), NOW) == 2 + len(to_come)
    paused = prefs(paused_until=PAUSED_INDEFINITELY)
    assert planned_in_week(sent, paused, date(2026, 11, 30), NOW) == 2


def test_two_points_is_meaningful_and_less_is_a_trend() -> None:
    assert Change(5, 3.0, -2.0).meaningful and Change(5, 7.0, 2.0).meaningful
    assert not Change(5, 3.1, -1.9).meaningful
    ratings = [RatingRecord(local(date(2026, 11, 30), 8), 6, 5, baseline=True),
               RatingRecord(local(date(2026, 12, 2), 10), 4, 4),
               RatingRecord(local(date(2026, 12, 3), 9), 3, 5)]
    progress = build_progress(ratings, [], prefs(), NOW)
    assert progress.pain == Change(6, 3.5, -2.5)
    assert progress.stiffness == Change(5, 4.5, -0.5)
    text = progress_text(progress, "en")
    assert "Pain 3.5 (baseline 6, −2.5): a meaningful drop." in text
    assert "Stiffness 4.5 (baseline 5, −0.5): a trend, not a result yet." in text


def test_the_progress_text_reads_sensibly_with_no_data_and_stays_short() -> None:
    empty = progress_text(build_progress([], [], prefs(), NOW), "en")
    assert "Streak: none yet" in empty and "0 of" in empty and "/stretch" in empty
    baseline_only = progress_text(build_progress(
        [RatingRecord(NOW, 3, 4, baseline=True)], [], prefs(), NOW), "en")
    assert "Baseline: pain 3, stiffness 4. Rate a break" in baseline_only
    rng = random.Random(1)
    year = [RatingRecord(NOW - timedelta(hours=h), rng.randint(0, 10), rng.randint(0, 10))
            for h in range(0, 365 * 24, 5)] + [RatingRecord(NOW - timedelta(days=366), 10,
                                                            10, baseline=True)]
    breaks = [done(date(2025, 12, 1) + timedelta(days=n)) for n in range(368)]
    progress = build_progress(year, breaks, prefs(), NOW)
    assert len(progress_text(progress, "en")) < 1024 // 2
    assert progress.streak > 200


# ------------------------------------------------------------------------------------------
# The weekly summary


def test_the_summary_falls_after_the_last_work_window_of_the_week() -> None:
    (at, monday), = list(summary_times(prefs(), NOW))[:1]
    assert monday == date(2026, 11, 30)
    assert at == local(date(2026, 12, 4), 17) + AFTER_WORK
    after = list(summary_times(prefs(), at))[0]
    assert after == (local(date(2026, 12, 11), 17) + AFTER_WORK, date(2026, 12, 7))
    # A Sunday night shift ends on Monday: that week's summary comes then.
    sunday_nights = prefs(work_days=frozenset({2, 6}), start=time(22), end=time(6))
    assert next(summary_times(sunday_nights, NOW))[0] == \
        local(date(2026, 12, 7), 6) + AFTER_WORK
    assert list(summary_times(prefs(work_days=frozenset()), NOW)) == []


def test_the_week_figures_and_the_summary_text() -> None:
    monday = date(2026, 11, 30)
    ratings = [RatingRecord(local(date(2026, 11, 1), 8), 5, 6, baseline=True),
               RatingRecord(local(monday, 10), 3, 4), RatingRecord(local(monday, 14), 2, 6)]
    breaks = [done(monday, 10), done(monday, 14), done(date(2026, 12, 1), 10, "skipped"),
              done(date(2026, 12, 2), 10, "missed"), done(date(2026, 12, 4), 10, "partial"),
              done(date(2026, 11, 27), 10)]  # last week
    end = local(date(2026, 12, 4), 17, 30)
    week = week_figures(ratings, breaks, prefs(), monday, end)
    assert (week.planned, week.done, week.partial, week.skipped, week.missed) == (5, 2, 1, 1, 1)
    assert week.pain == Change(5, 2.5, -2.5) and not week.empty
    text = summary_text(week, "en", studio="Hip Studio · hello@example.com")
    assert "Breaks: 2 of 5 planned done, 1 partly, 1 skipped, 1 missed." in text
    assert "a meaningful drop" in text and text.endswith("Hip Studio · hello@example.com")
    # No reminder went out all week (paused throughout) and nothing was done: empty.
    nothing = week_figures(ratings[:1], [], prefs(), monday, local(date(2026, 12, 7), 9))
    assert nothing.planned == 0 and nothing.empty
    idle = summary_text(WeekFigures(monday, 20, 0, 0, 0, 20, 0, None, None), "en")
    assert "0 of 20 planned done" in idle and "No breaks this week" in idle


# ------------------------------------------------------------------------------------------
# The chart


def _year_series() -> tuple[list[RatingRecord], ProgressSeries]:
    rng = random.Random(3)
    ratings = [RatingRecord(NOW - timedelta(hours=h), rng.randint(0, 10), rng.randint(0, 10))
               for h in range(0, 365 * 24, 7)]
    ratings.append(RatingRecord(NOW - timedelta(days=365), 6, 7, baseline=True))
    return ratings, daily_series(ratings, [done(date(2026, 1, 1) + timedelta(days=n))
                                           for n in range(300)], NEW_YORK, NOW)


def plotted(data: object) -> list[Any]:
    """A line's data as a plain list (matplotlib types it loosely)."""
    return list(cast(Iterable[Any], data))


def test_the_chart_plots_exactly_the_daily_means_and_the_baseline() -> None:
    ratings, series = _year_series()
    figure = build_figure(series)
    top, bottom = figure.axes
    pain, stiffness = top.lines[0], top.lines[1]
    expected = expected_means(ratings, NEW_YORK)
    assert plotted(pain.get_xdata()) == sorted(expected)
    assert plotted(pain.get_ydata()) == [expected[d][0] for d in sorted(expected)]
    assert plotted(stiffness.get_ydata()) == [expected[d][1] for d in sorted(expected)]
    baselines = sorted(plotted(line.get_ydata())[0] for line in top.lines[2:4])
    assert baselines == [6, 7]  # the two dashed baseline lines
    assert top.get_ylim()[0] < 0 < 10 < top.get_ylim()[1]
    assert bottom.get_ylim()[1] >= 1


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every pixel: a truncated file fails here
    return image


def test_the_png_decodes_at_a_sensible_size_with_no_data_one_day_and_a_year() -> None:
    _ratings, year = _year_series()
    one_day = daily_series([RatingRecord(NOW, 3, 4)], [done(date(2026, 12, 3))], NEW_YORK, NOW)
    for series in (daily_series([], [], "UTC", NOW), one_day, year):
        data = render_progress_chart(series)
        assert data.startswith(b"\x89PNG")
        image = _png(data)
        assert image.format == "PNG"
        assert image.size == (round(WIDTH * DPI), round(HEIGHT * DPI))
        assert 5_000 < len(data) < 1_000_000
        # Not blank: the chart drew in several colours.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 10
