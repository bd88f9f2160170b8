"""/report: one A4 page a physiotherapist reads in a minute, as PDF bytes.

    report = build_report(ratings, breaks, checks, prefs, now, program, joined=...,
                          name="Ana", studio="Hip Studio · hello@example.com")
    pdf = render_report(report, "en")   # bytes, one page

What is on it, top to bottom: who (a first name only, if the user gave one; the dates),
the pain and stiffness trend against the baseline with the figures written out, breaks per
week (done, done on the user's own, partly, skipped, missed), the last weeks as a table
(with the done breaks the user did on their own apart), the self-check answers side by
side, the breaks stopped for pain with their dates, and what the program is.

Drawn with matplotlib's PDF backend in greys, dashes, markers and hatches only, so it
prints the same in black and white; its text stays text (extractable, searchable). It
takes the chart's lock, and callers render it in a worker thread.
"""

from __future__ import annotations

import asyncio
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from babel.dates import format_skeleton
from matplotlib.backends.backend_pdf import FigureCanvasPdf
from matplotlib.figure import Figure

from bot.domain import chart
from bot.domain.content import Program
from bot.domain.i18n import _
from bot.domain.progress import (
    BreakRecord,
    Change,
    CheckRecord,
    ProgressSeries,
    RatingRecord,
    Stop,
    Week,
    build_progress,
    local_date,
    weeks,
)
from bot.domain.progress_text import day_text, number
from bot.domain.schedule import Preferences

A4 = (8.27, 11.69)  # inches
TABLE_WEEKS = 8  # the latest weeks in the table
TABLE_CHECKS = 4  # the latest self-checks side by side
LISTED_STOPS = 8
WRAP = 110  # characters a line of the page's text, inside its margins
LINE = 0.014  # the height of a line of 8.5 pt text, as a fraction of the page
PER_DAY_UP_TO = 21  # days; beyond, the breaks are drawn per week


@dataclass(frozen=True)
class Report:
    name: str | None
    joined: date
    today: date
    series: ProgressSeries  # every day since sign-up
    weeks: tuple[Week, ...]
    pain: Change | None
    stiffness: Change | None
    recent_from: date | None
    ratings: int
    checks: tuple[tuple[date, dict[str, str]], ...]  # (day, {question id: answer label})
    questions: tuple[tuple[str, str], ...]  # (question id, question text)
    pain_stops: tuple[Stop, ...]  # every stop for pain, oldest first
    program: str  # what the program is, in a sentence or two
    studio: str | None


def build_report(ratings: Sequence[RatingRecord], breaks: Sequence[BreakRecord],
                 checks: Sequence[CheckRecord], prefs: Preferences, now: datetime,
                 program: Program, *, joined: datetime, name: str | None = None,
                 studio: str | None = None, language: str = "en") -> Report:
    zone = prefs.time_zone
    progress = build_progress(ratings, breaks, prefs, now, joined=joined, checks=checks,
                              span=None)
    questions = program.assessment.questions
    labels = {q.id: {a.id: _(a.label, language) for a in q.answers} for q in questions}
    answered = tuple(
        (local_date(c.at, zone), {q: labels.get(q, {}).get(a, a) for q, a in c.answers.items()})
        for c in checks)
    stretches = ", ".join(_(s.name, language) for s in program.stretches)
    statement = _("Move Better is a self-guided program of short stretch breaks for the hips "
                  "during work hours: {stretches}; about 2 minutes per position and side, "
                  "with a breathing cue. After a break the user rates pain and stiffness "
                  "from 0 (none) to 10 (worst); a three-question hip self-check is repeated "
                  "every two weeks. It is not medical advice and not a treatment plan.",
                  language, stretches=stretches)
    if studio:
        statement += " " + _("Offered by {studio}.", language, studio=studio)
    return Report(
        name=name, joined=local_date(joined, zone), today=local_date(now, zone),
        series=progress.series, weeks=tuple(weeks(ratings, breaks, prefs, now, joined)),
        pain=progress.pain, stiffness=progress.stiffness, recent_from=progress.recent_from,
        ratings=sum(1 for r in ratings if not r.baseline),
        checks=answered, questions=tuple((q.id, _(q.text, language)) for q in questions),
        pain_stops=tuple(Stop(local_date(b.at, zone), b.stop_pain)
                         for b in sorted(breaks, key=lambda b: b.at) if b.stopped_for_pain),
        program=statement, studio=studio)


def _trend_text(report: Report, language: str) -> str:
    def t(text: str, **params: object) -> str:
        return _(text, language, **params)

    base = report.series.baseline
    if base is None:
        return t("No baseline was given.")
    lines = [t("Baseline ({day}): pain {pain}, stiffness {stiffness} (0 = none, 10 = worst).",
               day=day_text(base.day, language, year=True), pain=base.pain,
               stiffness=base.stiffness)]
    if report.pain is not None and report.stiffness is not None \
            and report.recent_from is not None:
        lines.append(t("Latest week of ratings (from {day}): pain {pain} ({pain_delta}), "
                       "stiffness {stiffness} ({stiffness_delta}).",
                       day=day_text(report.recent_from, language, year=True),
                       pain=number(report.pain.recent), pain_delta=_signed(report.pain.delta),
                       stiffness=number(report.stiffness.recent),
                       stiffness_delta=_signed(report.stiffness.delta)))
        lines.append(t("Break ratings in all: {count}. A change of 2 points or more held "
                       "over a week of ratings is called meaningful here.",
                       count=report.ratings))
    else:
        lines.append(t("No break ratings yet."))
    # Wrapped by hand, as the stops below: a longer translation stays inside the margin.
    return "\n".join(textwrap.fill(line, WRAP) for line in lines)


def _signed(value: float) -> str:
    return ("+" if value > 0 else "") + number(value)


def _weeks_table(figure: Figure, report: Report, language: str) -> None:
    def t(text: str, **params: object) -> str:
        return _(text, language, **params)

    axes = figure.add_axes((0.08, 0.335, 0.84, 0.14))
    axes.set_axis_off()
    recent = report.weeks[-TABLE_WEEKS:]
    # "I moved already" counts as done; a clinician sees apart how many had no guided break.
    header = [t("Week of"), t("Planned"), t("Done"), t("of which\non own"), t("Partly"),
              t("Skipped"), t("Missed"), t("On demand"), t("Pain"), t("Stiffness")]
    rows = [[day_text(w.monday, language), _planned(w, language), str(w.done), str(w.on_own),
             str(w.partial), str(w.skipped), str(w.missed), str(w.on_demand),
             "" if w.pain is None else number(w.pain),
             "" if w.stiffness is None else number(w.stiffness)] for w in recent]
    axes.set_title(t("Week by week, latest {count} (planned breaks; pain and stiffness are "
                     "the week's means)", count=TABLE_WEEKS), loc="left", fontsize=9)
    table = axes.table(cellText=rows or [[""] * len(header)], colLabels=header,
                       loc="upper center", cellLoc="center",
                       colWidths=[0.13] + [0.87 / (len(header) - 1)] * (len(header) - 1))
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 1.1)
    for column in range(len(header)):  # room for a header on two lines
        cell = table[0, column]
        cell.set_height(cell.get_height() * 1.8)


def _planned(week: Week, language: str) -> str:
    """The current week's planned breaks: those whose time has come, and those to come."""
    if not week.to_come:
        return str(week.planned)
    return f"{week.planned - week.to_come} (+{week.to_come})"


def _checks_table(figure: Figure, report: Report, language: str) -> None:
    def t(text: str, **params: object) -> str:
        return _(text, language, **params)

    axes = figure.add_axes((0.08, 0.16, 0.84, 0.12))
    axes.set_axis_off()
    axes.set_title(t("Hip self-check answers over time"), loc="left", fontsize=9)
    checks = report.checks[-TABLE_CHECKS:]
    if not checks:
        axes.text(0, 0.8, t("No self-check taken yet."), fontsize=8, va="top")
        return
    rows = [[textwrap.fill(text, 44)] + [textwrap.fill(answers.get(question, ""), 16)
                              for _day, answers in checks]
            for question, text in report.questions]
    table = axes.table(cellText=rows,
                       colLabels=[t("Question")] + [format_skeleton("yMMMd", d, locale=language)
                                                    for d, _a in checks],
                       loc="upper center", cellLoc="left",
                       colWidths=[0.44] + [0.56 / len(checks)] * len(checks))
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.9)  # room for an answer on two lines


def build_page(report: Report, language: str = "en") -> Figure:
    def t(text: str, **params: object) -> str:
        return _(text, language, **params)

    figure = Figure(figsize=A4)
    FigureCanvasPdf(figure)
    title = t("Move Better: progress report")
    who = t("Name: {name}", name=report.name) if report.name else t("Name: ____________")
    figure.text(0.08, 0.955, title, fontsize=15, weight="bold")
    figure.text(0.08, 0.93, "   ".join((
        who, t("Since: {day}", day=day_text(report.joined, language, year=True)),
        t("Report of: {day}", day=day_text(report.today, language, year=True)),
        t("Days in {zone} time", zone=report.series.zone))), fontsize=8.5)
    figure.text(0.08, 0.915, _trend_text(report, language), fontsize=8.5, va="top",
                linespacing=1.4)

    # Its top leaves room for four lines of text above (a translation may wrap one).
    trend = figure.add_axes((0.08, 0.64, 0.88, 0.18))
    breaks = figure.add_axes((0.08, 0.52, 0.88, 0.08), sharex=trend)
    chart.draw_ratings(trend, report.series, t, chart.PRINT)
    trend.set_title(t("Pain and stiffness"), loc="left", fontsize=9, pad=18)
    # Per week once there are a few weeks: a clinician reads adherence by the week.
    bars = chart.draw_breaks(breaks, report.series, t, chart.PRINT,
                             per_week=len(report.series.days) > PER_DAY_UP_TO)
    breaks.legend(loc="lower right", bbox_to_anchor=(1, 1), fontsize="small", ncols=5,
                  frameon=False)
    trend.tick_params(labelbottom=False)
    days = report.series.days
    if days:
        chart.date_axis(breaks, days[0].day, days[-1].day, language, cover=bars)
    for axes in (trend, breaks):
        axes.tick_params(labelsize=7)
        axes.yaxis.label.set_fontsize(7.5)

    _weeks_table(figure, report, language)
    _checks_table(figure, report, language)
    stops = report.pain_stops
    stop_text = t("Breaks stopped for pain: none.") if not stops else t(
        "Breaks stopped for pain ({count}): {days}.", count=len(stops),
        days="; ".join(_stop_text(stop, t, language) for stop in stops[-LISTED_STOPS:]))
    if len(stops) > LISTED_STOPS:
        stop_text += " " + t("(the latest {count} listed)", count=LISTED_STOPS)
    # Wrapped by hand: matplotlib's wrap=True runs to the paper's edge, past the margin.
    stop_text = textwrap.fill(stop_text, WRAP)
    figure.text(0.08, 0.135, stop_text, fontsize=8.5, va="top")
    below = 0.135 - LINE * (stop_text.count("\n") + 1) - 0.01
    figure.text(0.08, below, t("What the program is"), fontsize=9, weight="bold", va="top")
    figure.text(0.08, below - 0.017, textwrap.fill(report.program, WRAP), fontsize=8,
                va="top", linespacing=1.3)
    return figure


def _stop_text(stop: Stop, t: chart.Translate, language: str) -> str:
    day = format_skeleton("yMMMd", stop.day, locale=language)
    return t("{day} (no number given)", day=day) if stop.pain is None else \
        t("{day} (pain {pain}/10)", day=day, pain=stop.pain)


def render_report(report: Report, language: str = "en") -> bytes:
    """The report as PDF bytes: one A4 page."""
    with chart.lock:
        figure = build_page(report, language)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="pdf", metadata={"Title": "Move Better report"})
        figure.clear()
    return buffer.getvalue()


async def render_in_thread(report: Report, language: str = "en") -> bytes:
    """Renders without blocking the event loop."""
    return await asyncio.to_thread(render_report, report, language)
