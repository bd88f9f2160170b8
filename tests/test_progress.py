"""Progress as pure functions (daily means in the user's zone, streak, planned breaks,
changes and texts), the weekly summary's timing, and the chart's content and PNG."""

from __future__ import annotations

import io
import math
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from statistics import fmean
from typing import Any, cast
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.dates import date2num
from PIL import Image

from bot.domain.chart import DPI, HEIGHT, WIDTH, build_figure, render_progress_chart
from bot.domain.progress import (
    DEFAULT_SPAN,
    FIRST_WEEK,
    Baseline,
    BreakRecord,
    Change,
    CheckRecord,
    Insight,
    ProgressSeries,
    RatingRecord,
    Week,
    WeekFigures,
    build_progress,
    daily_series,
    insight,
    milestone,
    planned_in_week,
    streak,
    week_figures,
    week_of,
    weeks,
)
from bot.domain.progress_text import insight_lines, progress_text, summary_text
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


def test_no_data_gives_a_first_week_from_today_with_the_days_ahead_open() -> None:
    series = daily_series([], [], NEW_YORK, NOW)
    assert len(series.days) == FIRST_WEEK
    assert series.days[0].day == date(2026, 12, 3) and series.ahead == FIRST_WEEK - 1
    assert all(d.pain is None and d.done == 0 for d in series.days)
    assert series.baseline is None and not series.rated


def test_a_first_day_starts_at_sign_up_and_shows_its_whole_first_week() -> None:
    today = date(2026, 12, 3)
    joined = local(today, 8)
    ratings = [RatingRecord(local(today, 10), 4, 6), RatingRecord(local(today, 11), 5, 3),
               RatingRecord(joined, 6, 5, baseline=True)]
    series = daily_series(ratings, [done(today, 10), done(today, 11)], NEW_YORK, NOW,
                          joined=joined, checks=[CheckRecord(joined)], span=DEFAULT_SPAN)
    assert [d.day for d in series.days] == [today + timedelta(days=n) for n in range(7)]
    first = series.days[0]
    assert (first.pain, first.stiffness, first.ratings, first.done) == (4.5, 4.5, 2, 2)
    assert series.ahead == 6 and series.checks == (today,)
    assert series.baseline == Baseline(today, 6, 5)


def test_days_without_ratings_stay_empty_and_every_status_is_counted_per_day() -> None:
    monday, thursday = date(2026, 11, 30), date(2026, 12, 3)
    ratings = [RatingRecord(local(monday, 10), 4, 6), RatingRecord(local(thursday, 9), 2, 3)]
    breaks = [done(monday, 10), done(date(2026, 12, 1), 10, "missed"),
              done(date(2026, 12, 1), 12, "missed"), done(date(2026, 12, 2), 10, "skipped"),
              done(thursday, 9, "partial")]
    series = daily_series(ratings, breaks, NEW_YORK, NOW, joined=local(monday, 8))
    by_day = {d.day: d for d in series.days}
    assert [by_day[monday + timedelta(days=n)].pain for n in range(4)] == [4, None, None, 2]
    assert (by_day[date(2026, 12, 1)].missed, by_day[date(2026, 12, 2)].skipped,
            by_day[thursday].partial) == (2, 1, 1)
    # The chart's pain line is broken across the two days without ratings.
    pain = plotted(build_figure(series).axes[0].lines[0].get_ydata())
    assert pain[0] == 4 and math.isnan(pain[1]) and math.isnan(pain[2]) and pain[3] == 2


def test_the_default_view_is_the_last_four_weeks_and_all_goes_back_to_sign_up() -> None:
    joined = local(date(2026, 6, 1), 9)
    ratings = [RatingRecord(local(date(2026, 6, 2), 10), 5, 5)]
    recent = daily_series(ratings, [], NEW_YORK, NOW, joined=joined, span=DEFAULT_SPAN)
    assert len(recent.days) == DEFAULT_SPAN and recent.days[-1].day == date(2026, 12, 3)
    everything = daily_series(ratings, [], NEW_YORK, NOW, joined=joined)
    assert everything.days[0].day == date(2026, 6, 1) and everything.ahead == 0


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


def week(monday: date, planned: int, done_: int, on_demand_done: int = 0,
         pain: float | None = None, stiffness: float | None = None, ratings: int = 0) -> Week:
    return Week(monday, planned, done_, 0, 0, planned - done_, on_demand_done, on_demand_done,
                pain, stiffness, ratings)


MONDAYS = [date(2026, 9, 7) + timedelta(weeks=n) for n in range(13)]


def test_a_week_counts_when_most_planned_breaks_were_done() -> None:
    assert week(MONDAYS[0], 20, 11).kept and not week(MONDAYS[0], 20, 10).kept
    assert week(MONDAYS[0], 20, 8, on_demand_done=3).kept  # /stretch stands in
    assert not week(MONDAYS[0], 0, 0, on_demand_done=3).kept


def test_the_streak_forgives_a_missed_day_pauses_and_the_week_in_progress() -> None:
    today = MONDAYS[4] + timedelta(days=2)
    history = [week(MONDAYS[0], 20, 5), week(MONDAYS[1], 20, 14),
               week(MONDAYS[2], 0, 0),  # paused all week: neither counts nor breaks
               week(MONDAYS[3], 20, 19), week(MONDAYS[4], 20, 3)]  # this week, not over
    assert streak(history, today) == 2
    assert streak([*history[:4], week(MONDAYS[4], 20, 12)], today) == 3
    assert streak([*history[:3], week(MONDAYS[3], 20, 4), history[4]], today) == 0
    # Whole days missed inside a kept week do not matter: the week is what counts.
    days = [date(2026, 11, 30) + timedelta(days=n) for n in (0, 1, 3)]
    breaks = [done(day, hour) for day in days for hour in (10, 12, 14, 16)]
    history = weeks([], breaks, prefs(), local(date(2026, 12, 7), 8),
                    joined=local(date(2026, 11, 30), 8))
    assert (history[0].planned, history[0].done, history[0].kept) == (12, 12, True)
    assert streak(history, date(2026, 12, 7)) == 1


def test_a_milestone_is_reached_once() -> None:
    kept, lapsed = (lambda m: week(m, 20, 15)), (lambda m: week(m, 20, 2))
    history = [kept(MONDAYS[0]), kept(MONDAYS[1]), lapsed(MONDAYS[2]), kept(MONDAYS[3]),
               kept(MONDAYS[4]), kept(MONDAYS[5]), kept(MONDAYS[6])]
    assert [milestone(history, w.monday) for w in history] == [
        None, 2, None, None, None, None, 4]  # the second time at 2 weeks is not news
    figures = WeekFigures(MONDAYS[6], MONDAYS[6], 20, 15, 0, 0, 5, 0, 0, None, None,
                          milestone=4)
    assert "4 weeks in a row with most planned breaks done." in summary_text(figures, "en")


def test_a_change_is_meaningful_only_when_it_holds_over_a_week_of_ratings() -> None:
    joined = local(date(2026, 11, 30), 8)
    baseline = RatingRecord(joined, 6, 7, baseline=True)
    three_days = [RatingRecord(local(date(2026, 11, 30) + timedelta(days=n), 10), 3, 6)
                  for n in range(3)]
    early = build_progress([baseline, *three_days], [], prefs(), NOW, joined=joined)
    assert early.pain == Change(6, 3.0, -3.0, week_of_ratings=False)
    assert early.pain is not None and early.pain.large and not early.pain.meaningful
    assert "Pain 3 (baseline 6, −3): a promising start" in progress_text(early, "en")
    later = [*three_days, RatingRecord(local(date(2026, 12, 7), 10), 3, 6)]
    held = build_progress([baseline, *later], [], prefs(), local(date(2026, 12, 7), 12),
                          joined=joined)
    assert held.pain is not None and held.pain.meaningful
    assert "Pain 3 (baseline 6, −3): a meaningful drop." in progress_text(held, "en")


def test_periods_start_at_sign_up() -> None:
    joined = local(date(2026, 11, 30), 8)  # a Monday; the clock is on Thursday
    ratings = [RatingRecord(joined, 6, 7, baseline=True),
               RatingRecord(local(date(2026, 12, 1), 10), 4, 6)]
    progress = build_progress(ratings, [], prefs(), NOW, joined=joined)
    assert progress.recent_from == date(2026, 11, 30)
    assert "since Mon, Nov 30" in progress_text(progress, "en")
    wednesday = local(date(2026, 12, 2), 8)
    figures = week_figures(ratings, [], prefs(), date(2026, 11, 30), NOW, joined=wednesday)
    assert summary_text(figures, "en").startswith("Your first week, from Wed, Dec 2:")


def test_day_one_reads_as_a_start_not_a_failure() -> None:
    joined = local(date(2026, 12, 3), 8)
    ratings = [RatingRecord(joined, 6, 7, baseline=True), RatingRecord(NOW, 5, 7)]
    progress = build_progress(ratings, [done(date(2026, 12, 3), 9)], prefs(), NOW,
                              joined=joined)
    text = progress_text(progress, "en", next_break="today at 11:00")
    assert text.startswith("Your first week")
    assert "This week: 1 of the 1 planned breaks so far done, " in text
    assert "Next planned break: today at 11:00." in text


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
    # Rating since 25 Nov: a week of ratings, of which the latest 7 days are the mean.
    ratings.append(RatingRecord(local(date(2026, 11, 25), 10), 9, 9))
    progress = build_progress(ratings, [], prefs(), NOW)
    assert progress.pain == Change(6, 3.5, -2.5)
    assert progress.stiffness == Change(5, 4.5, -0.5)
    text = progress_text(progress, "en")
    assert "Pain 3.5 (baseline 6, −2.5): a meaningful drop." in text
    assert "Stiffness 4.5 (baseline 5, −0.5): a trend, not a result yet." in text


def test_the_progress_text_reads_sensibly_with_no_data_and_stays_short() -> None:
    empty = progress_text(build_progress([], [], prefs(), NOW), "en")
    assert "Weekly streak: it starts" in empty and "planned breaks to come" in empty
    assert "Rate a break" in empty
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
    assert progress.streak > 50


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
              done(date(2026, 11, 27), 10),  # last week
              done(monday, 16, reminded=False)]  # /stretch: on demand, not planned
    end = local(date(2026, 12, 4), 17, 30)
    week = week_figures(ratings, breaks, prefs(), monday, end)
    assert (week.planned, week.done, week.partial, week.skipped, week.missed, week.on_demand,
            week.open) == (5, 2, 1, 1, 1, 1, 0)
    assert week.pain == Change(5, 2.5, -2.5, week_of_ratings=False) and not week.empty
    text = summary_text(week, "en", studio="Hip Studio · hello@example.com")
    assert "Planned breaks: 5, of which 2 done, 1 partly, 1 skipped, 1 missed." in text
    assert "On demand (/stretch, /routine): 1." in text
    assert "a promising start" in text and text.endswith("Hip Studio · hello@example.com")
    # No reminder went out all week (paused throughout) and nothing was done: empty.
    nothing = week_figures(ratings[:1], [], prefs(), monday, local(date(2026, 12, 7), 9))
    assert nothing.planned == 0 and nothing.empty
    idle = summary_text(WeekFigures(monday, monday, 20, 0, 0, 0, 20, 0, 0, None, None), "en")
    assert "Planned breaks: 20, of which 0 done" in idle and "No breaks this week" in idle


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
    ratings, year = _year_series()
    six_weeks = daily_series(ratings, [], NEW_YORK, NOW, span=42)
    top, _bottom = build_figure(six_weeks).axes
    expected = expected_means(ratings, NEW_YORK)
    days = [d.day for d in six_weeks.days]
    pain, stiffness = plotted(top.lines[0].get_ydata()), plotted(top.lines[1].get_ydata())
    for day, p, s in zip(days, pain, stiffness, strict=True):
        if day in expected:
            assert (p, s) == expected[day]
        else:
            assert math.isnan(p) and math.isnan(s)
    texts = [t.get_text() for t in top.texts]
    assert "pain at the start: 6" in texts and "stiffness at the start: 7" in texts
    assert top.get_ylim()[0] < 0 < 10 < top.get_ylim()[1]
    # A year: one point per week, the mean of that week's ratings.
    weekly = plotted(build_figure(year).axes[0].lines[0].get_ydata())
    by_week: dict[date, list[float]] = defaultdict(list)
    for rating in ratings:
        if not rating.baseline:
            by_week[week_of(rating.at.astimezone(ZoneInfo(NEW_YORK)).date())].append(rating.pain)
    assert [round(v, 6) for v in weekly] == [round(fmean(by_week[m]), 6) for m in sorted(by_week)]


def _segments(axes: Any) -> dict[str, list[tuple[float, float, float, float]]]:
    """The break bars as drawn: {legend label: [(left, right, bottom, top) per bar]}."""
    return {bars.get_label(): [(r.get_x(), r.get_x() + r.get_width(), r.get_y(),
                                r.get_y() + r.get_height()) for r in bars]
            for bars in axes.containers}


def _visible(segments: dict[str, list[tuple[float, float, float, float]]]) -> list[
        tuple[float, float, float, float]]:
    """The bars of a segment with at least one break (a zero bar draws nothing)."""
    return [bar for bars in segments.values() for bar in bars if bar[3] > bar[2]]


def test_a_break_done_on_your_own_is_its_own_bar_segment_not_part_of_done() -> None:
    monday, tuesday = date(2026, 11, 30), date(2026, 12, 1)
    breaks = [done(monday, 10), done(monday, 12), done(monday, 14, "moved_already"),
              done(monday, 15, "partial"), done(tuesday, 10, "moved_already")]
    series = daily_series([], breaks, NEW_YORK, NOW, joined=local(monday, 8))
    by_day = {d.day: d for d in series.days}
    # "I moved already" still counts among the day's done, and apart as on the user's own.
    assert (by_day[monday].done, by_day[monday].on_own) == (3, 1)
    assert (by_day[tuesday].done, by_day[tuesday].on_own) == (1, 1)
    for language, done_label, own_label in (("en", "done", "on your own"),
                                            ("es", "hecha", "por tu cuenta")):
        figure = build_figure(series, language)
        bars = _segments(figure.axes[1])
        # Monday: 2 guided done at the bottom, the one on the user's own stacked on them,
        # then the partly one; Tuesday: only the one on the user's own.
        assert [top - bottom for _l, _r, bottom, top in bars[done_label][:2]] == [2, 0]
        assert [(bottom, top) for _l, _r, bottom, top in bars[own_label][:2]] == \
            [(2, 3), (0, 1)]
        labels = [text.get_text() for text in figure.legends[0].get_texts()]
        assert labels[:2] == [done_label, own_label] and len(labels) == 5


def test_the_current_weeks_bar_is_drawn_whole_when_breaks_are_counted_per_week() -> None:
    ratings, _year = _year_series()  # beyond two months: one bar per week
    breaks = [done(date(2026, 6, 1) + timedelta(days=n)) for n in range(186)]  # to today
    year = daily_series(ratings, breaks, NEW_YORK, NOW)
    assert year.days[-1].day == date(2026, 12, 3)  # a Thursday: the week is not over
    figure = build_figure(year)
    top, breaks = figure.axes
    left, right = breaks.get_xlim()
    bars = _visible(_segments(breaks))
    last = max(bar[1] for bar in bars)
    assert last > date2num(date(2026, 12, 3)) + 0.5  # the bar runs past the last day...
    assert all(left <= bar[0] and bar[1] <= right for bar in bars)  # ...and shows whole
    assert top.get_xlim() == (left, right)  # the ratings above share the dates


def _png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()  # decodes every pixel: a truncated file fails here
    return image


def test_the_png_decodes_at_a_sensible_size_with_no_data_one_day_and_a_year() -> None:
    _ratings, year = _year_series()
    one_day = daily_series([RatingRecord(NOW, 3, 4)], [done(date(2026, 12, 3))], NEW_YORK, NOW)
    for series in (daily_series([], [], "UTC", NOW), one_day, year):  # and the first day
        data = render_progress_chart(series)
        assert data.startswith(b"\x89PNG")
        image = _png(data)
        assert image.format == "PNG"
        assert image.size == (round(WIDTH * DPI), round(HEIGHT * DPI))
        assert 5_000 < len(data) < 1_000_000
        # Not blank: the chart drew in several colours.
        assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 10


# ------------------------------------------------------------------------------------------
# The weekly summary adds up; the insight speaks only when the data holds

STATUS = st.sampled_from(["done", "partial", "skipped", "missed", "pending"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(9, 16), STATUS, st.booleans()),
                max_size=30))
def test_the_summary_counts_add_up_to_the_planned_breaks(
    raw: list[tuple[int, int, str, bool]]
) -> None:
    monday = date(2026, 11, 30)
    breaks = [done(monday + timedelta(days=d), hour, status, reminded=reminded)
              for d, hour, status, reminded in raw]
    end = local(date(2026, 12, 6), 20)
    figures = week_figures([], breaks, prefs(), monday, end)
    planned = sum(1 for _d, _h, _s, reminded in raw if reminded)
    assert figures.planned == planned
    assert figures.done + figures.partial + figures.skipped + figures.missed + figures.open \
        == planned
    assert figures.on_demand == sum(1 for _d, _h, status, reminded in raw
                                    if not reminded and status in ("done", "partial"))


WEEK_DATA = st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20),
                      st.integers(0, 10), st.integers(0, 10), st.integers(0, 5))


@settings(max_examples=150, deadline=None)
@given(st.lists(WEEK_DATA, max_size=10))
def test_an_insight_needs_four_rated_weeks_and_a_difference_of_a_point(
    raw: list[tuple[int, int, int, int, int, int]]
) -> None:
    history = [Week(MONDAYS[n], planned, min(done_, planned), 0, 0, 0, 0, 0,
                    pain if ratings else None, stiffness if ratings else None, ratings)
               for n, (planned, done_, _x, pain, stiffness, ratings) in enumerate(raw)]
    today = MONDAYS[len(history)] if len(history) < len(MONDAYS) else MONDAYS[-1]
    found = insight(history, today)
    complete = [w for w in history if w.planned and w.ratings]
    if len(complete) < 4 or min(sum(w.kept for w in complete),
                                sum(not w.kept for w in complete)) < 2:
        assert found is None
    if found is not None:
        assert found.kept_weeks + found.other_weeks >= 4
        for pair in (found.pain, found.stiffness):
            assert pair is None or abs(pair[0] - pair[1]) >= 1


def test_an_insight_says_the_numbers_in_careful_words() -> None:
    history = [week(MONDAYS[0], 20, 15, pain=3, stiffness=3.1, ratings=10),
               week(MONDAYS[1], 20, 4, pain=3.4, stiffness=4.6, ratings=10),
               week(MONDAYS[2], 20, 16, pain=3, stiffness=3.1, ratings=10),
               week(MONDAYS[3], 20, 2, pain=3.4, stiffness=4.6, ratings=10)]
    found = insight(history, MONDAYS[4])
    assert found == Insight(2, 2, None, (3.1, 4.6))  # pain differs by 0.4: not said
    text = " ".join(insight_lines(found, "en"))
    assert "In the 2 weeks when you did most planned breaks, your stiffness averaged 3.1; " \
           "in the 2 other weeks, 4.6." in text and "not proof" in text
    assert insight(history[:3], MONDAYS[4]) is None  # three weeks are too few
    close = [replace(w, stiffness=3.5) if not w.kept else w for w in history]
    assert insight(close, MONDAYS[4]) is None  # 0.4 apart


# ------------------------------------------------------------------------------------------
# The report


def _report_pdf(days: int, stops: int = 0, language: str = "en") -> tuple[bytes, Any]:
    from bot.domain.content import load_program
    from bot.domain.report import build_report, render_report

    joined = local(date(2026, 12, 3) - timedelta(days=days), 8)
    ratings = [RatingRecord(joined, 6, 7, baseline=True)]
    breaks = []
    for n in range(days + 1):
        day = date(2026, 12, 3) - timedelta(days=n)
        if day.weekday() < 5:
            breaks.append(done(day, 10))
            ratings.append(RatingRecord(local(day, 10, 5), 4 if n < 7 else 5, 5))
    # Two breaks this week done on the user's own ("I moved already").
    breaks += [done(date(2026, 12, day), 14, status="moved_already") for day in (1, 2)]
    for n in range(stops):
        at = local(date(2026, 11, 2) + timedelta(days=n), 12)
        breaks.append(BreakRecord(at, "partial", at, stopped_for_pain=True))
    checks = [CheckRecord(joined + timedelta(minutes=5),
                          {"sit_90_90": "hard", "knee_chest": "easy", "int_rot": "painful"}),
              CheckRecord(local(date(2026, 12, 1), 9),
                          {"sit_90_90": "easy", "knee_chest": "easy", "int_rot": "hard"})]
    report = build_report(ratings, breaks, checks, prefs(), NOW, load_program(),
                          joined=joined, name="Ana", studio="Hip Studio", language=language)
    return render_report(report, language), report


def test_the_report_is_one_page_whose_text_holds_the_trend_and_the_answers() -> None:
    from pypdf import PdfReader

    for days, stops in ((0, 0), (60, 2), (400, 12)):
        pdf, report = _report_pdf(days, stops)
        reader = PdfReader(io.BytesIO(pdf))
        assert len(reader.pages) == 1
        text = " ".join(reader.pages[0].extract_text().split())
        assert "Name: Ana" in text and "Since: " in text
        assert "pain 6, stiffness 7" in text  # the baseline
        assert "pain 4 (−2), stiffness 5 (−2)" in text  # the latest week of ratings
        assert "Comfortable" in text and "Hard to hold" in text  # answers side by side
        assert "Offered by Hip Studio." in text
        # This week's two breaks on the user's own: among the done, and apart.
        assert "Done of which on own" in text
        last = report.weeks[-1]
        assert last.on_own == 2 and f"Mon, Nov 30 {last.planned - last.to_come} " \
            f"(+{last.to_come}) {last.done} 2 0 0 0 0" in text
        if stops:
            assert f"Breaks stopped for pain ({stops}):" in text
            assert f"Nov {stops + 1}, 2026 (no number given)." in text  # the latest, dated
        else:
            assert "Breaks stopped for pain: none." in text


def test_the_reports_break_bars_show_the_current_week_whole_and_on_own_apart() -> None:
    from bot.domain.report import build_page

    for language, own_label in (("en", "on your own"), ("es", "por tu cuenta")):
        _pdf, report = _report_pdf(40, language=language)  # per week; today a Thursday
        trend, breaks = build_page(report, language).axes[:2]
        left, right = breaks.get_xlim()
        bars = _segments(breaks)
        this_week = bars[own_label][-1]  # the two breaks of this week on the user's own
        assert this_week[3] - this_week[2] == 2
        assert this_week[2] == report.weeks[-1].done - 2  # on top of the guided ones
        assert all(left <= bar[0] and bar[1] <= right for bar in _visible(bars))
        assert this_week[1] > date2num(report.today) + 0.5
        # The ratings above stay on their days: the first one at its date, on the same axis.
        first = next(d for d in report.series.days if d.ratings)
        xs, pains = plotted(trend.lines[0].get_xdata()), plotted(trend.lines[0].get_ydata())
        assert trend.get_xlim() == (left, right)
        assert pains[xs.index(date2num(first.day))] == first.pain
