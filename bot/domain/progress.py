"""Progress: what /progress, /report and the weekly summary say, as pure functions of a
user's records.

    series = daily_series(ratings, breaks, zone, now, joined=joined, span=28)  # the chart
    progress = build_progress(ratings, breaks, prefs, now, joined=joined)       # the figures
    text = progress_text(progress, "en")            # bot.domain.progress_text
    week = week_figures(ratings, breaks, prefs, monday, now, joined=joined)   # the summary
    text = summary_text(week, "en")                 # bot.domain.progress_text

Nothing here reads the database or the clock: bot/storage/records.py turns a user's rows into
`RatingRecord`s, `BreakRecord`s and `CheckRecord`s, and callers pass `now` in.

The rules:

- Days are the user's local calendar days: a rating at 23:30 in New York belongs to that
  day. A day's pain and stiffness are the means of that day's break ratings; a day without
  ratings has none (the chart leaves a gap, never a line across it).
- Everything starts at sign-up (`joined`): no day, week or mean reaches before it. A young
  account's chart shows its whole first week, the days still ahead left open.
- Planned breaks are the reminders' (every reminder sent leaves a break row, kind
  "reminder") plus those still to come this week outside any pause; /stretch and /routine
  are "on demand" and counted apart, never as planned.
- A change is the mean of the latest week of ratings (the 7 days ending on the last day
  with a rating, not before sign-up) minus the baseline. It is meaningful at 2 points or
  more, and only once the ratings behind it cover at least a week; less is a trend.
- The streak counts weeks (Monday to Sunday), not days: a week counts when most of its
  planned breaks were done (a break done on demand stands in for a planned one); weeks
  without planned breaks (a pause, a holiday) neither count nor break it, and the current
  week never breaks it before it is over. A milestone (2, 4, 8... weeks) is said once, in
  the summary of the week that first reached it.
- An insight compares complete weeks with ratings: those when most planned breaks were
  done against the others, by mean pain and stiffness. It needs at least 4 such weeks, 2 in
  each group, and a difference of at least 1 point; otherwise nothing is said.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import fmean

from bot.domain.meetings import DROPPED, MERGED, MOVED_ALREADY
from bot.domain.schedule import Preferences, break_times, is_paused, window_of
from bot.domain.zones import tzinfo_for

MEANINGFUL = 2.0  # points on the 0-10 scale
RECENT_DAYS = 7
FIRST_WEEK = 7  # a young account's chart shows this many days from sign-up
DEFAULT_SPAN = 28  # /progress shows the last 4 weeks; /progress all shows everything
MILESTONES = (2, 4, 8, 12, 26, 52)  # weeks; about two months is when a habit sets
INSIGHT_WEEKS, INSIGHT_GROUP_WEEKS, INSIGHT_POINTS = 4, 2, 1.0
DONE, PARTIAL, SKIPPED, MISSED = "done", "partial", "skipped", "missed"
# A break moved for a meeting into the next one, or past the work window, was not a break
# the plan still held: it is left out of the planned ones. "I moved already" counts as done
# (the point of a break is to move) and is also counted apart, "on your own".
GAVE_WAY = (MERGED, DROPPED)


def counted_as(status: str) -> str:
    return DONE if status == MOVED_ALREADY else status


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
    stopped_for_pain: bool = False
    stop_pain: int | None = None  # the pain given at the stop, if any

    @property
    def planned(self) -> bool:
        """A break of the plan: a reminder's, not one that gave way to a meeting."""
        return self.reminded and self.status not in GAVE_WAY

    @property
    def at(self) -> datetime:
        return self.started_at or self.planned_at


@dataclass(frozen=True)
class CheckRecord:
    """A completed self-check: {question id: answer id}."""

    at: datetime
    answers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Day:
    """One local day of the chart: mean ratings (None without ratings) and breaks."""

    day: date
    pain: float | None = None
    stiffness: float | None = None
    ratings: int = 0
    done: int = 0
    partial: int = 0
    skipped: int = 0
    missed: int = 0
    on_own: int = 0  # of the done, "I moved already"


@dataclass(frozen=True)
class Stop:
    """A stop for pain on a local day, with the pain given then (None: no number)."""

    day: date
    pain: int | None = None


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
    checks: tuple[date, ...] = ()  # self-check days within the chart
    today: date | None = None  # days after it are still ahead (a young account)
    stops: tuple[Stop, ...] = ()  # stops for pain within the chart

    @property
    def rated(self) -> bool:
        return any(day.ratings for day in self.days)

    @property
    def ahead(self) -> int:
        """Days shown that have not come yet."""
        if self.today is None:
            return 0
        return sum(1 for day in self.days if day.day > self.today)


@dataclass(frozen=True)
class Change:
    baseline: int
    recent: float  # the mean, to one decimal
    delta: float  # recent - baseline, one decimal; negative is better
    week_of_ratings: bool = True  # the ratings behind it cover at least a week

    @property
    def large(self) -> bool:
        return abs(self.delta) >= MEANINGFUL

    @property
    def meaningful(self) -> bool:
        return self.large and self.week_of_ratings


@dataclass(frozen=True)
class Week:
    """One Monday-to-Sunday week of a user, from sign-up on."""

    monday: date
    planned: int  # reminders sent (plus, this week, those still to come)
    done: int  # planned breaks done
    partial: int
    skipped: int
    missed: int
    on_demand: int  # /stretch and /routine breaks done or partly done
    on_demand_done: int
    pain: float | None  # mean of the week's break ratings
    stiffness: float | None
    ratings: int
    to_come: int = 0  # of the planned, still ahead (the current week only)
    pain_stops: tuple[int | None, ...] = ()  # the pain given at each stop, in order
    on_own: int = 0  # of the done, "I moved already"

    @property
    def kept(self) -> bool:
        """Most planned breaks done (one done on demand stands in for a planned one)."""
        return self.planned > 0 and min(self.planned, self.done + self.on_demand_done) * 2 \
            > self.planned


@dataclass(frozen=True)
class Insight:
    kept_weeks: int
    other_weeks: int
    # (kept mean, other mean) per measure, only where they differ by a point or more
    pain: tuple[float, float] | None
    stiffness: tuple[float, float] | None


@dataclass(frozen=True)
class Progress:
    series: ProgressSeries
    streak: int  # weeks
    sent_this_week: int  # planned breaks whose reminder has come
    done_this_week: int  # of those, done
    to_come_this_week: int
    on_demand_this_week: int
    pain: Change | None
    stiffness: Change | None
    recent_from: date | None  # the first day of the ratings the changes use
    insight: Insight | None = None
    first_days: bool = False  # the account is less than a week old
    on_own_this_week: int = 0  # of the done, "I moved already"


@dataclass(frozen=True)
class WeekFigures:
    monday: date
    first_day: date  # the Monday, or the sign-up day in the first week
    planned: int
    done: int
    partial: int
    skipped: int
    missed: int
    on_demand: int
    ratings: int
    pain: Change | None
    stiffness: Change | None
    milestone: int | None = None  # weeks in a row, reached for the first time this week
    pain_stops: tuple[int | None, ...] = ()  # the pain given at each stop (None: no number)
    on_own: int = 0  # of the done, "I moved already"

    @property
    def open(self) -> int:
        """Planned breaks neither done, partly done, skipped nor missed (yet to come)."""
        return max(0, self.planned - self.done - self.partial - self.skipped - self.missed)

    @property
    def empty(self) -> bool:
        """Nothing done, nothing planned and nothing rated: no summary is worth sending."""
        return not (self.planned or self.done or self.partial or self.skipped or self.missed
                    or self.on_demand or self.ratings or self.pain_stops)


def local_date(at: datetime, zone: str) -> date:
    return at.astimezone(tzinfo_for(zone)).date()


def shift_day(prefs: Preferences, at: datetime) -> date:
    """The work day a moment counts for: the start of its shift, else its local date."""
    window = window_of(prefs, at)
    return local_date(window[0] if window else at, prefs.time_zone)


def latest_baseline(ratings: Iterable[RatingRecord]) -> RatingRecord | None:
    baselines = [r for r in ratings if r.baseline]
    return max(baselines, key=lambda r: r.at) if baselines else None


def week_of(day: date) -> date:
    """The Monday of the week a day is in."""
    return day - timedelta(days=day.weekday())


def _since(joined: datetime | None, zone: str) -> date | None:
    return local_date(joined, zone) if joined is not None else None


def daily_series(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord], zone: str,
                 now: datetime, *, joined: datetime | None = None,
                 checks: Sequence[CheckRecord] = (), span: int | None = None) -> ProgressSeries:
    """Daily mean ratings and breaks per local day, from sign-up (or the last `span` days)
    to today; a young account's chart runs to the end of its first week."""
    scores: dict[date, list[RatingRecord]] = defaultdict(list)
    for rating in ratings:
        if not rating.baseline:
            scores[local_date(rating.at, zone)].append(rating)
    statuses: dict[tuple[date, str], int] = defaultdict(int)
    for brk in breaks:
        statuses[local_date(brk.at, zone), counted_as(brk.status)] += 1
        statuses[local_date(brk.at, zone), "on_own"] += brk.status == MOVED_ALREADY
    base = latest_baseline(ratings)
    baseline = Baseline(local_date(base.at, zone), base.pain, base.stiffness) if base else None
    today = local_date(now, zone)
    known = [*scores, *(day for day, _status in statuses),
             *([baseline.day] if baseline else [])]
    start = _since(joined, zone)
    first = min(start if start is not None else min([today, *known]), today)
    if span is not None:
        first = max(first, today - timedelta(days=span - 1))
    last = max([today, first + timedelta(days=FIRST_WEEK - 1), *known])
    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        rated = scores.get(day, [])
        days.append(Day(
            day, pain=fmean(r.pain for r in rated) if rated else None,
            stiffness=fmean(r.stiffness for r in rated) if rated else None,
            ratings=len(rated), done=statuses[day, DONE], partial=statuses[day, PARTIAL],
            skipped=statuses[day, SKIPPED], missed=statuses[day, MISSED],
            on_own=statuses[day, "on_own"],
        ))
    marks = tuple(sorted({d for d in (local_date(c.at, zone) for c in checks)
                          if first <= d <= last}))
    stops = tuple(Stop(day, b.stop_pain) for b in sorted(breaks, key=lambda b: b.at)
                  if b.stopped_for_pain and first <= (day := local_date(b.at, zone)) <= last)
    return ProgressSeries(tuple(days), baseline, zone, marks, today, stops)


def planned_in_week(breaks: Sequence[BreakRecord], prefs: Preferences, monday: date,
                    now: datetime) -> int:
    """Reminders already sent in the week, plus its breaks still to come outside any pause."""
    return _sent_in_week(breaks, prefs, monday, now) + _to_come(prefs, monday, now)


def _in_week(day: date, monday: date) -> bool:
    return monday <= day < monday + timedelta(days=7)


def _sent_in_week(breaks: Sequence[BreakRecord], prefs: Preferences, monday: date,
                  now: datetime) -> int:
    return sum(1 for b in breaks
               if b.planned and b.planned_at <= now and _in_week(shift_day(prefs, b.planned_at),
                                                                  monday))


def _to_come(prefs: Preferences, monday: date, now: datetime) -> int:
    return sum(1 for n in range(7) for at in break_times(prefs, monday + timedelta(days=n))
               if at > now and not is_paused(prefs, at))


def weeks(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord], prefs: Preferences,
          now: datetime, joined: datetime | None = None) -> list[Week]:
    """Every week from sign-up (or the first record) to the current one, oldest first."""
    zone = prefs.time_zone
    today = local_date(now, zone)
    scored = [r for r in ratings if not r.baseline]
    known = [*(shift_day(prefs, b.planned_at) for b in breaks),
             *(local_date(r.at, zone) for r in scored)]
    start = _since(joined, zone) or min([today, *known])
    counts: dict[tuple[date, str], int] = defaultdict(int)
    stops: dict[date, list[int | None]] = defaultdict(list)
    for brk in sorted(breaks, key=lambda b: b.at):
        if brk.reminded and not brk.planned:
            continue
        monday = week_of(shift_day(prefs, brk.planned_at if brk.reminded else brk.at))
        if brk.stopped_for_pain:
            stops[monday].append(brk.stop_pain)
        if brk.reminded:
            if brk.planned_at <= now:
                counts[monday, "planned"] += 1
            counts[monday, counted_as(brk.status)] += 1
            counts[monday, "on_own"] += brk.status == MOVED_ALREADY
        elif brk.status in (DONE, PARTIAL):
            counts[monday, "on_demand"] += 1
            counts[monday, "on_demand_" + brk.status] += 1
    rated: dict[date, list[RatingRecord]] = defaultdict(list)
    for rating in scored:
        rated[week_of(local_date(rating.at, zone))].append(rating)
    current = week_of(today)
    result = []
    monday = week_of(min(start, today))
    while monday <= current:
        these = rated.get(monday, [])
        to_come = _to_come(prefs, monday, now) if monday == current else 0
        result.append(Week(
            monday, counts[monday, "planned"] + to_come, counts[monday, DONE],
            counts[monday, PARTIAL], counts[monday, SKIPPED], counts[monday, MISSED],
            counts[monday, "on_demand"], counts[monday, "on_demand_done"],
            round(fmean(r.pain for r in these), 1) if these else None,
            round(fmean(r.stiffness for r in these), 1) if these else None, len(these),
            to_come, pain_stops=tuple(stops.get(monday, ())),
            on_own=counts[monday, "on_own"]))
        monday += timedelta(days=7)
    return result


def streak_runs(history: Sequence[Week], current: date | None = None) -> list[int]:
    """The streak after each week, oldest first. A week kept adds one; a week with planned
    breaks not kept ends it, unless it is the `current` one (not over yet); a week without
    planned breaks leaves it as it was."""
    run, runs = 0, []
    for week in history:
        if week.kept:
            run += 1
        elif week.planned and week.monday != current:
            run = 0
        runs.append(run)
    return runs


def streak(history: Sequence[Week], today: date) -> int:
    """Weeks in a row when most planned breaks were done, as of today."""
    runs = streak_runs(history, week_of(today))
    return runs[-1] if runs else 0


def milestone(history: Sequence[Week], monday: date) -> int | None:
    """The milestone the week of `monday` reached for the first time, if any."""
    runs = streak_runs(history)
    for index, week in enumerate(history):
        if week.monday == monday:
            run = runs[index]
            if run in MILESTONES and max(runs[:index], default=0) < run:
                return run
    return None


def insight(history: Sequence[Week], today: date) -> Insight | None:
    """Weeks when most planned breaks were done against the others, when the data holds."""
    complete = [w for w in history if w.monday + timedelta(days=7) <= today
                and w.planned and w.ratings]
    kept = [w for w in complete if w.kept]
    other = [w for w in complete if not w.kept]
    if len(complete) < INSIGHT_WEEKS or min(len(kept), len(other)) < INSIGHT_GROUP_WEEKS:
        return None

    def compare(measure: str) -> tuple[float, float] | None:
        # Each week weighs by its ratings: the mean of all the ratings in those weeks.
        means = []
        for group in (kept, other):
            total = sum((getattr(w, measure) or 0.0) * w.ratings for w in group)
            means.append(round(total / sum(w.ratings for w in group), 1))
        return (means[0], means[1]) if abs(means[0] - means[1]) >= INSIGHT_POINTS else None

    pain, stiffness = compare("pain"), compare("stiffness")
    if pain is None and stiffness is None:
        return None
    return Insight(len(kept), len(other), pain, stiffness)


def change(baseline: RatingRecord | None, recent: Sequence[RatingRecord],
           week_of_ratings: bool = True) -> tuple[Change | None, Change | None]:
    """(pain, stiffness) change of the mean of `recent` from the baseline."""
    if baseline is None or not recent:
        return None, None
    # Rounded as shown, so the figures in a sentence always add up.
    pain = round(fmean(r.pain for r in recent), 1)
    stiffness = round(fmean(r.stiffness for r in recent), 1)
    return (Change(baseline.pain, pain, round(pain - baseline.pain, 1), week_of_ratings),
            Change(baseline.stiffness, stiffness, round(stiffness - baseline.stiffness, 1),
                   week_of_ratings))


def _rated_since(ratings: Sequence[RatingRecord], zone: str,
                 joined: datetime | None) -> list[RatingRecord]:
    start = _since(joined, zone)
    return [r for r in ratings if not r.baseline
            and (start is None or local_date(r.at, zone) >= start)]


def _covers_week(scored: Sequence[RatingRecord], zone: str, until: date) -> bool:
    """Whether the user's ratings up to `until` span at least a week."""
    days = [local_date(r.at, zone) for r in scored if local_date(r.at, zone) <= until]
    return bool(days) and (max(days) - min(days)).days >= RECENT_DAYS - 1


def build_progress(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord],
                   prefs: Preferences, now: datetime, *, joined: datetime | None = None,
                   checks: Sequence[CheckRecord] = (),
                   span: int | None = DEFAULT_SPAN) -> Progress:
    zone = prefs.time_zone
    today = local_date(now, zone)
    series = daily_series(ratings, breaks, zone, now, joined=joined, checks=checks, span=span)
    history = weeks(ratings, breaks, prefs, now, joined)
    this_week = history[-1]
    scored = _rated_since(ratings, zone, joined)
    recent_from = None
    recent: list[RatingRecord] = []
    if scored:
        last = max(local_date(r.at, zone) for r in scored)
        recent_from = last - timedelta(days=RECENT_DAYS - 1)
        start = _since(joined, zone)
        if start is not None:
            recent_from = max(recent_from, start)
        recent = [r for r in scored if recent_from <= local_date(r.at, zone) <= last]
    pain, stiffness = change(latest_baseline(ratings), recent,
                             _covers_week(scored, zone, today))
    start = _since(joined, zone)
    return Progress(
        series, streak(history, today), _sent_in_week(breaks, prefs, this_week.monday, now),
        this_week.done, _to_come(prefs, this_week.monday, now), this_week.on_demand,
        pain, stiffness, recent_from, insight(history, today),
        first_days=start is not None and (today - start).days < FIRST_WEEK,
        on_own_this_week=this_week.on_own)


def week_figures(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord],
                 prefs: Preferences, monday: date, now: datetime, *,
                 joined: datetime | None = None) -> WeekFigures:
    """The week that starts on `monday`, for its summary; planned breaks only in the counts,
    breaks on demand apart, so the counts add up to the planned figure."""
    zone = prefs.time_zone
    history = weeks(ratings, breaks, prefs, now, joined)
    week = next((w for w in history if w.monday == monday), None)
    if week is None:
        week = Week(monday, planned_in_week(breaks, prefs, monday, now), 0, 0, 0, 0, 0, 0,
                    None, None, 0)
    scored = _rated_since(ratings, zone, joined)
    rated = [r for r in scored if _in_week(local_date(r.at, zone), monday)]
    end = monday + timedelta(days=6)
    pain, stiffness = change(latest_baseline(ratings), rated, _covers_week(scored, zone, end))
    start = _since(joined, zone)
    first_day = start if start is not None and _in_week(start, monday) else monday
    return WeekFigures(monday, first_day, week.planned, week.done, week.partial, week.skipped,
                       week.missed, week.on_demand, len(rated), pain, stiffness,
                       milestone(history, monday), pain_stops=week.pain_stops,
                       on_own=week.on_own)
