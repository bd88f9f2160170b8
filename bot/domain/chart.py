"""The /progress chart: pain and stiffness per day over breaks per day, as a PNG.

    png = render_progress_chart(series)              # bytes, 900x560 pixels
    png = render_progress_chart(series, language="es")

`series` is a `bot.domain.progress.ProgressSeries`; any number of days works, from a first
day to years. A year of data for a benchmark:

    from datetime import date
    from bot.domain.progress import Baseline, Day, ProgressSeries
    start = date(2026, 1, 1)
    days = tuple(Day(start + timedelta(days=n), pain=5 - n / 100, stiffness=6 - n / 120,
                     ratings=2, done=3, partial=1) for n in range(365))
    png = render_progress_chart(ProgressSeries(days, Baseline(start, 5, 6), "UTC"))

What it shows, and why:
- Days without ratings stay gaps: a line is drawn only between ratings on days next to each
  other, and every rated day has its own marker, so a lone rating is a visible dot.
- Done (guided), done on the user's own ("I moved already"), partly, skipped and missed are
  stacked per day (per week beyond `DAILY_UP_TO` days, where daily bars would be thinner
  than a pixel), each with its own hatch as well as its colour (Okabe-Ito, safe for
  colour-blind readers), so they read apart in any case. A week's bar sits on its Thursday;
  the current week's is drawn whole, the axis running past the last day if need be.
- The baseline is a dotted level with its value written on it, not a marker that hides the
  first day's points; each self-check is a tick at the top.
- Each stop for pain is a cross at the pain given then, or a hollow one on the top edge when
  no number was given; these are not break ratings, so they stay out of the daily means.
- Dates are written by Babel in the user's language.
- A young account's chart shows its whole first week; the days still ahead are shaded.

`draw_ratings` and `draw_breaks` are shared with the one-page report (bot.domain.report),
which draws them with the grey `PRINT` palette. Rendering uses matplotlib's object API with
the Agg canvas (no pyplot, no global figure state). It takes a lock: matplotlib is not
thread-safe, and callers run it in a worker thread (`render_in_thread`) to keep the event
loop free.
"""

from __future__ import annotations

import asyncio
import io
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from babel.dates import format_skeleton
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, DayLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.domain.i18n import _
from bot.domain.progress import Day, ProgressSeries, week_of

WIDTH, HEIGHT, DPI = 9.0, 5.6, 100
DAILY_UP_TO = 62  # days; beyond, the breaks are counted per week
# The stacked segments, bottom up: guided breaks done, breaks done on the user's own ("I
# moved already"; counted among a day's done), partly, skipped, missed.
SEGMENTS = ("done", "on_own", "partial", "skipped", "missed")


@dataclass(frozen=True)
class Palette:
    pain: str
    stiffness: str
    bars: tuple[str, str, str, str, str]  # done, on own, partly, skipped, missed fills
    edge: str
    muted: str


# Okabe-Ito: vermillion and blue for the two lines; green, reddish purple, sky blue and
# orange for the bars.
SCREEN = Palette("#D55E00", "#0072B2",
                 ("#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#FFFFFF"), "#555555", "#666666")
# For paper: black and dark grey lines told apart by dashes and markers, bars by hatches.
PRINT = Palette("#000000", "#555555",
                ("#222222", "#7A7A7A", "#B0B0B0", "#E2E2E2", "#FFFFFF"), "#000000", "#444444")
BAR = 0.8  # a bar's width, as a share of its day or week
HATCHES = ("", "---", "///", "...", "xx")

lock = threading.Lock()
Translate = Callable[..., str]


def _translator(language: str) -> Translate:
    def t(text: str, **params: object) -> str:
        return _(text, language, **params)

    return t


def date_axis(axes: Axes, first: date, last: date, language: str,
              cover: tuple[float, float] | None = None) -> None:
    """Ticks and dates in the user's language, sized to the span shown; the axis reaches
    from half a day before `first` to half a day after `last`, and further if needed to
    `cover` (left, right, in date numbers: the break bars' edges)."""
    span = (last - first).days + 1
    if span <= 10:
        axes.xaxis.set_major_locator(DayLocator())
        skeleton = "EEE\nMMMd"
    else:
        axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=8))
        skeleton = "MMMd" if span <= 200 else "yMMM"

    def label(value: float, _position: object) -> str:
        day = num2date(value).date()
        if "\n" in skeleton:
            weekday, rest = skeleton.split("\n")
            return (format_skeleton(weekday, day, locale=language) + "\n"
                    + format_skeleton(rest, day, locale=language))
        return format_skeleton(skeleton, day, locale=language)

    axes.xaxis.set_major_formatter(FuncFormatter(label))
    left, right = date2num(first) - 0.5, date2num(last) + 0.5
    if cover is not None:
        left, right = min(left, cover[0]), max(right, cover[1])
    axes.set_xlim(left, right)


def rating_points(series: ProgressSeries) -> tuple[list[float], list[float], list[float]]:
    """(x, pain, stiffness) as plotted: per day, or per week (the mean of the week's
    ratings, at its Thursday) beyond `DAILY_UP_TO` days; NaN where there are no ratings."""
    if len(series.days) <= DAILY_UP_TO:
        return ([date2num(d.day) for d in series.days],
                [math.nan if d.pain is None else d.pain for d in series.days],
                [math.nan if d.stiffness is None else d.stiffness for d in series.days])
    sums: dict[date, list[float]] = {}
    for d in series.days:
        total = sums.setdefault(week_of(d.day), [0.0, 0.0, 0.0])
        if d.ratings and d.pain is not None and d.stiffness is not None:
            total[0] += d.pain * d.ratings
            total[1] += d.stiffness * d.ratings
            total[2] += d.ratings
    xs = [date2num(monday) + 3 for monday in sums]
    return (xs, [p / n if n else math.nan for p, _s, n in sums.values()],
            [s / n if n else math.nan for _p, s, n in sums.values()])


def draw_ratings(axes: Axes, series: ProgressSeries, t: Translate, palette: Palette) -> None:
    """Daily means as lines broken at every day without ratings; baseline; self-checks.
    The first two lines are pain and stiffness, NaN where a day has no rating."""
    days = [d.day for d in series.days]
    xs, pain, stiffness = rating_points(series)
    weekly = len(days) > DAILY_UP_TO
    for name, colour, style, marker, values in (
        (t("Pain"), palette.pain, "-", "o", pain),
        (t("Stiffness"), palette.stiffness, "--", "s", stiffness),
    ):
        axes.plot(xs, values, color=colour, linestyle=style, marker=marker,
                  markersize=3.5 if weekly else 5, linewidth=1.8,
                  label=t("{measure}, weekly mean", measure=name) if weekly else name)
    if weekly:  # the days themselves, faint, behind the weekly line
        day_xs = [date2num(day) for day in days]
        for colour, means in ((palette.pain, [d.pain for d in series.days]),
                              (palette.stiffness, [d.stiffness for d in series.days])):
            axes.plot(day_xs, [math.nan if v is None else v for v in means], color=colour,
                      linestyle="none", marker=".", markersize=2, alpha=0.35)
    base = series.baseline
    if base is not None and days:
        start = date2num(max(base.day, days[0])) - 0.5
        end = date2num(days[-1]) + 0.5
        above = base.pain >= base.stiffness
        for value, colour, name, up in ((base.pain, palette.pain, t("pain"), above),
                                        (base.stiffness, palette.stiffness, t("stiffness"),
                                         not above)):
            axes.hlines(value, start, end, colors=colour,
                        linestyles=":", linewidth=1.2)
            axes.annotate(t("{measure} at the start: {value}", measure=name, value=value),
                          (end, value), xytext=(-4, 3 if up else -3),
                          textcoords="offset points", ha="right",
                          va="bottom" if up else "top", fontsize="small", color=colour)
    if series.checks:
        xs = [date2num(day) for day in series.checks]
        if len(days) <= DAILY_UP_TO:  # over months, the ticks alone say enough
            axes.vlines(xs, 0, 10, colors=palette.muted, linestyles=(0, (1, 3)),
                        linewidth=0.8)
        axes.plot(xs, [10.2] * len(xs), linestyle="none", marker="v", markersize=7,
                  color=palette.muted, label=t("self-check"), clip_on=False)
    # A stop sits at the pain given then; without a number, hollow on the top edge, where
    # it cannot be read as a pain of 10.
    numbered = [(stop.day, stop.pain) for stop in series.stops if stop.pain is not None]
    unnumbered = [stop for stop in series.stops if stop.pain is None]
    if numbered:
        axes.plot([date2num(day) for day, _pain in numbered],
                  [pain for _day, pain in numbered], linestyle="none", marker="X",
                  markersize=9, color=palette.pain, markeredgecolor=palette.edge,
                  markeredgewidth=0.8, label=t("stopped for pain"), zorder=3)
    if unnumbered:
        axes.plot([date2num(stop.day) for stop in unnumbered], [10.2] * len(unnumbered),
                  linestyle="none", marker="X", markersize=9, markerfacecolor="none",
                  markeredgecolor=palette.pain, markeredgewidth=1.2,
                  label=t("stopped, no number"), clip_on=False, zorder=3)
    if series.ahead and days:
        assert series.today is not None
        ahead = date2num(series.today) + 0.5
        axes.axvspan(ahead, date2num(days[-1]) + 0.5, color="#000000", alpha=0.05,
                     linewidth=0)
        axes.text((ahead + date2num(days[-1]) + 0.5) / 2, 1, t("Days ahead: your breaks and "
                  "ratings will show here."), ha="center", va="bottom", fontsize="small",
                  color=palette.muted, wrap=True)
    axes.set_ylim(-0.3, 10.6)
    axes.set_yticks(range(0, 11, 2))
    axes.set_ylabel(t("0 = none, 10 = worst"))
    axes.grid(axis="y", alpha=0.3)
    if not series.rated:
        axes.text(0.5, 0.5, t("Rate your next break and your line starts here."),
                  transform=axes.transAxes, ha="center", va="center", color=palette.muted)
    axes.legend(loc="upper left", bbox_to_anchor=(0, 1.13), fontsize="small", ncols=5,
                frameon=False)


def _segments(day: Day) -> tuple[int, int, int, int, int]:
    """A day's counts per segment: its done split into guided and on the user's own."""
    return day.done - day.on_own, day.on_own, day.partial, day.skipped, day.missed


def break_buckets(series: ProgressSeries, per_week: bool = False) -> tuple[
        list[date], list[list[int]], float]:
    """(bucket starts, counts per segment of `SEGMENTS`, bucket width in days): per day, or
    per week."""
    if len(series.days) <= DAILY_UP_TO and not per_week:
        return ([d.day for d in series.days],
                [list(column) for column in zip(*map(_segments, series.days), strict=True)]
                if series.days else [[] for _s in SEGMENTS], 1.0)
    starts: list[date] = []
    counts: list[list[int]] = [[] for _s in SEGMENTS]
    for day in series.days:
        monday = week_of(day.day)
        if not starts or starts[-1] != monday:
            starts.append(monday)
            for column in counts:
                column.append(0)
        for column, value in zip(counts, _segments(day), strict=True):
            column[-1] += value
    return starts, counts, 7.0


def draw_breaks(axes: Axes, series: ProgressSeries, t: Translate, palette: Palette,
                per_week: bool = False) -> tuple[float, float] | None:
    """Done (guided), done on the user's own, partly, skipped and missed, stacked per day or
    per week. Returns where the first bar with a break begins its day or week and where
    the last one ends its own, in date numbers (None when no bar has a break): the current
    week's bar reaches past the days shown, the first week's before sign-up, and the x axis
    (`date_axis`) covers them with the gap a bar has on either side."""
    starts, counts, width = break_buckets(series, per_week)
    # A week's bar is centred on its middle (Thursday); a day's on the day.
    xs = [date2num(s) + (3 if width > 1 else 0) for s in starts]
    bottom = [0] * len(xs)
    labels = (t("done"), t("on your own"), t("partly"), t("skipped"), t("missed"))
    for values, label, fill, hatch in zip(counts, labels, palette.bars, HATCHES, strict=True):
        axes.bar(xs, values, width=width * BAR, bottom=bottom, color=fill, hatch=hatch,
                 edgecolor=palette.edge, linewidth=0.5, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_ylabel(t("Breaks per day") if width == 1 else t("Breaks per week"))
    axes.set_ylim(0, max([*bottom, 1]) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
    drawn = [x for x, total in zip(xs, bottom, strict=True) if total]
    if not drawn:
        return None
    return drawn[0] - width / 2, drawn[-1] + width / 2


def build_figure(series: ProgressSeries, language: str = "en") -> Figure:
    """The chart as a Figure: its first axes' first two lines are the daily mean pain and
    stiffness per day shown (NaN on days without ratings), exactly as plotted."""
    t = _translator(language)
    # Fixed margins: an automatic layout engine costs more than all the drawing.
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.86, bottom=0.17, hspace=0.1)
    FigureCanvasAgg(figure)
    ratings, breaks = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    draw_ratings(ratings, series, t, SCREEN)
    bars = draw_breaks(breaks, series, t, SCREEN)
    figure.legend(*breaks.get_legend_handles_labels(), loc="lower left",
                  bbox_to_anchor=(0.07, 0.0), fontsize="small", ncols=5, frameon=False)
    if series.days:
        date_axis(breaks, series.days[0].day, series.days[-1].day, language, cover=bars)
    title = t("Your first week") if series.ahead else \
        t("Pain and stiffness from your ratings")
    figure.text(0.08, 0.955, title, ha="left", va="bottom", fontsize="large")
    figure.text(0.98, 0.955, t("Days in {zone} time", zone=series.zone), ha="right",
                va="bottom", fontsize="small", color=SCREEN.muted)
    return figure


def render_progress_chart(series: ProgressSeries, language: str = "en") -> bytes:
    """The chart as PNG bytes."""
    with lock:
        figure = build_figure(series, language)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        figure.clear()
    return buffer.getvalue()


async def render_in_thread(series: ProgressSeries, language: str = "en") -> bytes:
    """Renders without blocking the event loop (a year of data takes a noticeable moment)."""
    return await asyncio.to_thread(render_progress_chart, series, language)
