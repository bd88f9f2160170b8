"""The /progress chart: pain and stiffness per day over breaks done per day, as a PNG.

    png = render_progress_chart(series)              # bytes, about 900x560 pixels
    png = render_progress_chart(series, language="en")

`series` is a `bot.domain.progress.ProgressSeries`; any number of days works, from a week to
years. A year of data for a benchmark:

    from datetime import date, timedelta
    from bot.domain.progress import Baseline, Day, ProgressSeries
    start = date(2026, 1, 1)
    days = tuple(Day(start + timedelta(days=n), pain=5 - n / 100, stiffness=6 - n / 120,
                     ratings=2, done=3, partial=1) for n in range(365))
    png = render_progress_chart(ProgressSeries(days, Baseline(start, 5, 6), "UTC"))

Rendering uses matplotlib's object API with the Agg canvas (no pyplot, no display, no
global figure state), so renders never leak into each other. It takes a lock: matplotlib
is not thread-safe, and callers run it in a worker thread (`render_in_thread`) to keep the
event loop free.
"""

from __future__ import annotations

import asyncio
import io
import threading
from datetime import timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.domain.i18n import _
from bot.domain.progress import ProgressSeries

WIDTH, HEIGHT, DPI = 9.0, 5.6, 100
PAIN_COLOUR, STIFFNESS_COLOUR = "#d1495b", "#00798c"
DONE_COLOUR, PARTIAL_COLOUR = "#3d5a80", "#a8c0dd"
# Beyond this many days a marker per day is only noise.
MARKERS_UP_TO_DAYS = 60
HALF_DAY = timedelta(hours=12)

_lock = threading.Lock()


def build_figure(series: ProgressSeries, language: str = "en") -> Figure:
    """The chart as a Figure: its first axes' first two lines are the daily mean pain and
    stiffness of the rated days, exactly as plotted."""

    def t(text: str, **params: object) -> str:
        return _(text, language, **params)

    # Fixed margins: an automatic layout engine costs more than all the drawing.
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.92, bottom=0.1, hspace=0.08)
    FigureCanvasAgg(figure)
    ratings, breaks = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    days = [day.day for day in series.days]
    # Only rated days are plotted, joined across days without ratings: a line with gaps
    # would hide the lone ratings of someone who rates now and then.
    rated = [day for day in series.days if day.ratings]
    marker = "o" if len(rated) <= MARKERS_UP_TO_DAYS else None
    for name, colour, values in (
        (t("Pain"), PAIN_COLOUR, [d.pain for d in rated]),
        (t("Stiffness"), STIFFNESS_COLOUR, [d.stiffness for d in rated]),
    ):
        ratings.plot([d.day for d in rated], values, color=colour, marker=marker,
                     markersize=4, linewidth=1.8, label=name)
    base = series.baseline
    if base is not None:
        for value, colour in ((base.pain, PAIN_COLOUR), (base.stiffness, STIFFNESS_COLOUR)):
            ratings.axhline(value, color=colour, linestyle="--", linewidth=1, alpha=0.7)
        ratings.plot([base.day, base.day], [base.pain, base.stiffness], linestyle="none",
                     marker="D", color="#444444", markersize=6,
                     label=t("Baseline ({pain} / {stiffness})", pain=base.pain,
                             stiffness=base.stiffness))
    ratings.set_ylim(-0.3, 10.3)
    ratings.set_yticks(range(0, 11, 2))
    ratings.set_ylabel(t("0 = none, 10 = worst"))
    ratings.set_title(t("Pain and stiffness, daily mean of your ratings"), loc="left")
    ratings.grid(axis="y", alpha=0.3)
    if not series.rated:
        ratings.text(0.5, 0.5, t("No ratings yet: rate a break and your line starts here."),
                     transform=ratings.transAxes, ha="center", va="center", color="#666666")
    ratings.legend(loc="upper right", fontsize="small", ncols=3, frameon=False)

    done = [d.done for d in series.days]
    partial = [d.partial for d in series.days]
    both = [a + b for a, b in zip(done, partial, strict=True)]
    if len(days) <= MARKERS_UP_TO_DAYS:
        breaks.bar(days, done, width=0.8, color=DONE_COLOUR, label=t("done"))
        breaks.bar(days, partial, width=0.8, bottom=done, color=PARTIAL_COLOUR,
                   label=t("partly"))
    elif days:
        # One shape per series instead of a bar per day: a year draws many times faster.
        edges = [*(date2num(day) - 0.5 for day in days), date2num(days[-1]) + 0.5]
        breaks.stairs(both, edges, fill=True, color=PARTIAL_COLOUR, label=t("partly"))
        breaks.stairs(done, edges, fill=True, color=DONE_COLOUR, label=t("done"))
    breaks.set_ylabel(t("Breaks"))
    breaks.set_ylim(0, max([*both, 1]) * 1.6)  # headroom for the legend above the bars
    breaks.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3))
    handles, labels = breaks.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] != t("done"))
    breaks.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper left",
                  fontsize="small", ncols=2, frameon=False)
    locator = AutoDateLocator(minticks=3, maxticks=9)
    breaks.xaxis.set_major_locator(locator)
    breaks.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if days:
        breaks.set_xlim(days[0] - HALF_DAY, days[-1] + HALF_DAY)
    figure.text(0.98, 0.935, t("Days in {zone} time", zone=series.zone), ha="right",
                va="bottom", fontsize="small", color="#666666")
    return figure


def render_progress_chart(series: ProgressSeries, language: str = "en") -> bytes:
    """The chart as PNG bytes."""
    with _lock:
        figure = build_figure(series, language)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        figure.clear()
    return buffer.getvalue()


async def render_in_thread(series: ProgressSeries, language: str = "en") -> bytes:
    """Renders without blocking the event loop (a year of data takes a noticeable moment)."""
    return await asyncio.to_thread(render_progress_chart, series, language)
