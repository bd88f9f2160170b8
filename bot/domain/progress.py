"""Progress: what /progress and the weekly summary say, as pure functions of a user's records.

    series = daily_series(ratings, breaks, "America/New_York", now)  # what the chart plots
    progress = build_progress(ratings, breaks, prefs, now)            # figures for the text
    text = progress_text(progress, "en")
    week = week_figures(ratings, breaks, prefs, monday, now)          # the weekly summary
    text = summary_text(week, "en")

Nothing here reads the database or the clock: bot/history.py turns a user's rows into
`RatingRecord`s and `BreakRecord`s, and callers pass `now` in.

The rules:

- Days are the user's local calendar days: a rating at 23:30 in New York belongs to that
  day, although it is the next day in UTC. The chart plots each day's mean pain and mean
  stiffness over the break ratings of that day, the baseline as a line of its own, and the
  breaks done (and partly done) per day, from the first record (or the baseline) to today.
- A break is "done" when its status is "done"; "partial" ones are shown apart.
- The streak counts work days back from today with at least one break done; days off are
  passed over, and today only counts once a break is done (it does not end the streak
  before it is over). A break belongs to the work day whose shift contains it, so a night
  shift's 02:00 break counts for the day the shift began.
- The week runs Monday to Sunday, local. Planned breaks = the reminders already sent this
  week (every one leaves a break row) plus the breaks still to come this week outside any
  pause (bot.domain.schedule.break_times).
- A change is the mean of recent ratings minus the baseline, rounded to one decimal: 2
  points or more either way is meaningful, less is a trend, not a result. /progress takes
  the ratings of the latest 7 days that end on the last day with a rating; the weekly
  summary takes the week's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import fmean

from bot.domain.i18n import _
from bot.domain.schedule import Preferences, break_times, is_paused, window_of
from bot.domain.timefmt import WEEKDAYS
from bot.domain.zones import tzinfo_for

MEANINGFUL = 2.0  # points on the 0-10 scale
RECENT_DAYS = 7
MIN_CHART_DAYS = 7  # the chart never shows fewer days, so one day of data is not a dot alone
DONE, PARTIAL = "done", "partial"


@dataclass(frozen=True)
class RatingRecord:
    at: datetime
    pain: int
    stiffness: int
    baseline: bool = False


@dataclass(frozen=True)
class BreakRecord:
    planned_at: datetime
    status: str
    started_at: datetime | None = None
    reminded: bool = True  # a reminder's break (kind "reminder"), not /stretch or /routine

    @property
    def at(self) -> datetime:
        return self.started_at or self.planned_at


@dataclass(frozen=True)
class Day:
    """One local day of the chart: mean ratings (None without ratings) and breaks."""

    day: date
    pain: float | None = None
    stiffness: float | None = None
    ratings: int = 0
    done: int = 0
    partial: int = 0


@dataclass(frozen=True)
class Baseline:
    day: date
    pain: int
    stiffness: int


@dataclass(frozen=True)
class ProgressSeries:
    """Everything the chart draws (see bot.domain.chart.render_progress_chart)."""

    days: tuple[Day, ...]
    baseline: Baseline | None
    zone: str

    @property
    def rated(self) -> bool:
        return any(day.ratings for day in self.days)


@dataclass(frozen=True)
class Change:
    baseline: int
    recent: float  # the mean, to one decimal
    delta: float  # recent - baseline, one decimal; negative is better

    @property
    def meaningful(self) -> bool:
        return abs(self.delta) >= MEANINGFUL


@dataclass(frozen=True)
class Progress:
    series: ProgressSeries
    streak: int
    done_this_week: int
    planned_this_week: int
    pain: Change | None
    stiffness: Change | None
    recent_from: date | None  # the first day of the ratings the changes use


@dataclass(frozen=True)
class WeekFigures:
    monday: date
    planned: int
    done: int
    partial: int
    skipped: int
    missed: int
    ratings: int
    pain: Change | None
    stiffness: Change | None

    @property
    def empty(self) -> bool:
        """Nothing done, nothing planned and nothing rated: no summary is worth sending."""
        return not (self.planned or self.done or self.partial or self.skipped or self.missed
                    or self.ratings)


def local_date(at: datetime, zone: str) -> date:
    return at.astimezone(tzinfo_for(zone)).date()


def shift_day(prefs: Preferences, at: datetime) -> date:
    """The work day a moment counts for: the start of its shift, else its local date."""
    window = window_of(prefs, at)
    return local_date(window[0] if window else at, prefs.time_zone)


def latest_baseline(ratings: Iterable[RatingRecord]) -> RatingRecord | None:
    baselines = [r for r in ratings if r.baseline]
    return max(baselines, key=lambda r: r.at) if baselines else None


def daily_series(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord], zone: str,
                 now: datetime) -> ProgressSeries:
    """Daily mean ratings and breaks per local day, every day from the first to today."""
    scores: dict[date, list[RatingRecord]] = defaultdict(list)
    for rating in ratings:
        if not rating.baseline:
            scores[local_date(rating.at, zone)].append(rating)
    done: dict[date, int] = defaultdict(int)
    partial: dict[date, int] = defaultdict(int)
    for brk in breaks:
        if brk.status == DONE:
            done[local_date(brk.at, zone)] += 1
        elif brk.status == PARTIAL:
            partial[local_date(brk.at, zone)] += 1
    base = latest_baseline(ratings)
    baseline = Baseline(local_date(base.at, zone), base.pain, base.stiffness) if base else None
    today = local_date(now, zone)
    known = [*scores, *done, *partial, *([baseline.day] if baseline else [])]
    last = max([today, *known])
    first = min([last - timedelta(days=MIN_CHART_DAYS - 1), *known])
    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        rated = scores.get(day, [])
        days.append(Day(
            day,
            pain=fmean(r.pain for r in rated) if rated else None,
            stiffness=fmean(r.stiffness for r in rated) if rated else None,
            ratings=len(rated), done=done.get(day, 0), partial=partial.get(day, 0),
        ))
    return ProgressSeries(tuple(days), baseline, zone)


def streak(breaks: Sequence[BreakRecord], prefs: Preferences, now: datetime) -> int:
    """Work days in a row, back from today, with at least one break done."""
    done_days = {shift_day(prefs, b.at) for b in breaks if b.status == DONE}
    if not done_days:
        return 0
    work_days = prefs.work_days or frozenset(range(7))
    day, count, earliest = local_date(now, prefs.time_zone), 0, min(done_days)
    if day not in done_days:
        day -= timedelta(days=1)  # today is not over: it cannot end the streak yet
    while day >= earliest:
        if day.weekday() in work_days:
            if day not in done_days:
                break
            count += 1
        day -= timedelta(days=1)
    return count


def week_of(day: date) -> date:
    """The Monday of the week a day is in."""
    return day - timedelta(days=day.weekday())


def planned_in_week(breaks: Sequence[BreakRecord], prefs: Preferences, monday: date,
                    now: datetime) -> int:
    """Reminders already sent in the week, plus its breaks still to come outside any pause."""
    week = {monday + timedelta(days=n) for n in range(7)}
    past = sum(1 for b in breaks
               if b.reminded and b.planned_at <= now and shift_day(prefs, b.planned_at) in week)
    to_come = sum(1 for day in sorted(week) for at in break_times(prefs, day)
                  if at > now and not is_paused(prefs, at))
    return past + to_come


def change(baseline: RatingRecord | None, recent: Sequence[RatingRecord]) -> tuple[
        Change | None, Change | None]:
    """(pain, stiffness) change of the mean of `recent` from the baseline."""
    if baseline is None or not recent:
        return None, None
    # Rounded as shown, so the figures in a sentence always add up.
    pain = round(fmean(r.pain for r in recent), 1)
    stiffness = round(fmean(r.stiffness for r in recent), 1)
    return (Change(baseline.pain, pain, round(pain - baseline.pain, 1)),
            Change(baseline.stiffness, stiffness, round(stiffness - baseline.stiffness, 1)))


def build_progress(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord],
                   prefs: Preferences, now: datetime) -> Progress:
    zone = prefs.time_zone
    series = daily_series(ratings, breaks, zone, now)
    monday = week_of(local_date(now, zone))
    week = {monday + timedelta(days=n) for n in range(7)}
    done = sum(1 for b in breaks if b.status == DONE and shift_day(prefs, b.at) in week)
    scored = [r for r in ratings if not r.baseline]
    recent_from = None
    recent: list[RatingRecord] = []
    if scored:
        last = max(local_date(r.at, zone) for r in scored)
        recent_from = last - timedelta(days=RECENT_DAYS - 1)
        recent = [r for r in scored if recent_from <= local_date(r.at, zone) <= last]
    pain, stiffness = change(latest_baseline(ratings), recent)
    return Progress(series, streak(breaks, prefs, now), done,
                    planned_in_week(breaks, prefs, monday, now), pain, stiffness, recent_from)


def week_figures(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord],
                 prefs: Preferences, monday: date, now: datetime) -> WeekFigures:
    """The week that starts on `monday`, for its summary."""
    week = {monday + timedelta(days=n) for n in range(7)}
    statuses: dict[str, int] = defaultdict(int)
    for brk in breaks:
        if shift_day(prefs, brk.at) in week:
            statuses[brk.status] += 1
    rated = [r for r in ratings if not r.baseline and local_date(r.at, prefs.time_zone) in week]
    pain, stiffness = change(latest_baseline(ratings), rated)
    return WeekFigures(monday, planned_in_week(breaks, prefs, monday, now), statuses[DONE],
                       statuses[PARTIAL], statuses["skipped"], statuses["missed"], len(rated),
                       pain, stiffness)


# ------------------------------------------------------------------------------------------
# Texts


def _number(value: float) -> str:
    text = f"{value:.1f}".removesuffix(".0")
    return text.replace("-", "−")


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + _number(value)


def _verdict(item: Change, language: str) -> str:
    if not item.meaningful:
        return _("a trend, not a result yet", language)
    if item.delta < 0:
        return _("a meaningful drop", language)
    return _("a meaningful rise", language)


def change_line(name: str, item: Change, language: str) -> str:
    """'Pain 2.7 (baseline 5, −2.3): a meaningful drop.'"""
    return _("{name} {recent} (baseline {baseline}, {delta}): {verdict}.", language,
             name=_(name, language), recent=_number(item.recent), baseline=item.baseline,
             delta=_signed(item.delta), verdict=_verdict(item, language))


def _streak_line(days: int, language: str) -> str:
    if days == 0:
        return _("Streak: none yet. A break done today starts one.", language)
    if days == 1:
        return _("Streak: 1 work day with a break done.", language)
    return _("Streak: {days} work days in a row with a break done.", language, days=days)


def progress_text(progress: Progress, language: str) -> str:
    """The short text under the /progress chart (well inside a 1024-character caption)."""
    lines = [
        _streak_line(progress.streak, language),
        _("This week: {done} of {planned} planned breaks done.", language,
          done=progress.done_this_week, planned=progress.planned_this_week),
    ]
    base = progress.series.baseline
    if progress.pain is not None and progress.stiffness is not None:
        lines.append(change_line("Pain", progress.pain, language))
        lines.append(change_line("Stiffness", progress.stiffness, language))
        lines.append(_("(Means of your ratings since {day}; a change of 2 points or more "
                       "counts as meaningful.)", language,
                       day=_day(progress.recent_from, language)))
    elif base is not None:
        lines.append(_("Baseline: pain {pain}, stiffness {stiffness}. Rate a break to see "
                       "the change.", language, pain=base.pain, stiffness=base.stiffness))
    else:
        lines.append(_("Rate a break to start your pain and stiffness line.", language))
    if not progress.series.rated and progress.done_this_week == 0 and progress.streak == 0:
        lines.append(_("/stretch starts a break now.", language))
    return "\n".join(lines)


def _day(day: date | None, language: str) -> str:
    if day is None:
        return ""
    return f"{_(WEEKDAYS[day.weekday()], language)} {day.day} {_(day.strftime('%b'), language)}"


def _encouragement(week: WeekFigures, language: str) -> str:
    """One line, true to the figures."""
    if week.pain is not None and week.pain.meaningful and week.pain.delta > 0:
        return _("Pain is up on your baseline: go gently, stop anything sharp, and see a "
                 "professional if it keeps rising (/help).", language)
    if week.done == 0 and week.partial == 0:
        return _("No breaks this week. A new one starts Monday: even one short break a day "
                 "counts.", language)
    if week.planned and week.done >= week.planned:
        return _("Every planned break done: that habit is what makes the difference.", language)
    if week.pain is not None and week.pain.meaningful:
        return _("Your pain is meaningfully lower than at the start: keep going.", language)
    return _("Each break is a few minutes your hips get back: keep stacking them.", language)


def summary_text(week: WeekFigures, language: str, studio: str | None = None) -> str:
    lines = [
        _("Your week from {day}:", language, day=_day(week.monday, language)),
        _("Breaks: {done} of {planned} planned done, {partial} partly, {skipped} skipped, "
          "{missed} missed.", language, done=week.done, planned=week.planned,
          partial=week.partial, skipped=week.skipped, missed=week.missed),
    ]
    if week.pain is not None and week.stiffness is not None:
        lines.append(change_line("Pain", week.pain, language))
        lines.append(change_line("Stiffness", week.stiffness, language))
    else:
        lines.append(_("No ratings this week, so no change to show.", language))
    lines.append(_encouragement(week, language))
    lines.append(_("/progress shows the chart.", language))
    if studio:
        lines.append(studio)
    return "\n".join(lines)
