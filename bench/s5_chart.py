"""Scenario 5, the /progress chart with a year of data: median and worst render time.

A year of a keen user's records (four breaks on each work day, most done, two ratings a
day drifting down, a baseline at the start) goes through `bot.domain.progress.daily_series` and
`bot.domain.chart.render_progress_chart`, as /progress does after reading the rows. The baseline,
rendered alternately in the same run, is the least matplotlib can do with the same daily
points: one figure of the same size with the two lines and the breaks as bars, saved as
PNG, with no styling. If bot/domain/chart.py is missing, the scenario reports "not available".
"""

from __future__ import annotations

import io
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Figure

NAME = "5 chart rendering"
ZONE = "Europe/Madrid"


def year_of_records(now: datetime) -> tuple[list[Any], list[Any]]:
    from bot.domain.progress import BreakRecord, RatingRecord

    rng = random.Random(5)
    start = now - timedelta(days=365)
    ratings = [RatingRecord(start, 6, 7, baseline=True)]
    breaks = []
    for n in range(365):
        day = start + timedelta(days=n)
        if day.weekday() >= 5:
            continue
        for hour in (9, 11, 14, 16):
            at = day.replace(hour=hour, minute=rng.randint(0, 59))
            status = rng.choices(["done", "partial", "missed", "skipped"], [6, 1, 2, 1])[0]
            breaks.append(BreakRecord(at, status, started_at=at))
            if status == "done" and hour in (11, 16):
                pain = max(0, min(10, round(6 - 3 * n / 365 + rng.gauss(0, 1))))
                stiff = max(0, min(10, round(7 - 3 * n / 365 + rng.gauss(0, 1))))
                ratings.append(RatingRecord(at + timedelta(minutes=5), pain, stiff))
    return ratings, breaks


def _bare_render(series: Any) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(9.0, 5.6), dpi=100)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    rated = [d for d in series.days if d.ratings]
    top.plot([d.day for d in rated], [d.pain for d in rated])
    top.plot([d.day for d in rated], [d.stiffness for d in rated])
    bottom.bar([d.day for d in series.days], [d.done for d in series.days])
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def run(*, repeats: int) -> list[Figure]:
    try:
        from bot.domain.chart import render_progress_chart
        from bot.domain.progress import daily_series
    except ImportError as exc:
        return [Figure(NAME, "/progress chart, a year of data: median render",
                       None, "ms", None, "bare matplotlib, same points",
                       note=f"not available ({exc})")]
    now = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    ratings, breaks = year_of_records(now)
    ours: list[float] = []
    bare: list[float] = []
    sizes: list[int] = []
    render_progress_chart(daily_series(ratings, breaks, ZONE, now))  # warm: fonts, caches
    _bare_render(daily_series(ratings, breaks, ZONE, now))
    for _ in range(repeats):
        started = time.perf_counter()
        png = render_progress_chart(daily_series(ratings, breaks, ZONE, now))
        ours.append(1000 * (time.perf_counter() - started))
        sizes.append(len(png))
        started = time.perf_counter()
        _bare_render(daily_series(ratings, breaks, ZONE, now))
        bare.append(1000 * (time.perf_counter() - started))
    detail = {"ratings": len(ratings), "breaks": len(breaks), "png_bytes": sizes[-1],
              "repeats": repeats}
    label = "bare matplotlib, same daily points"
    return [
        Figure(NAME, "/progress chart, a year of data: median render", statistics.median(ours),
               "ms", statistics.median(bare), label, samples=ours, baseline_samples=bare,
               extra=detail, note=f"{len(ratings)} ratings, {len(breaks)} breaks; "
                                  f"PNG {sizes[-1] // 1024} KB"),
        Figure(NAME, "/progress chart, a year of data: worst render", max(ours), "ms",
               max(bare), label),
    ]
