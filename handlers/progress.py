"""What a user has done, shown back: /progress, /report, /export, and /stats for operators.

/progress sends the chart (bot.domain.chart) with the short text from bot.domain.progress
as its caption: the last 4 weeks, or everything since sign-up with `/progress all`.

/report sends a one-page PDF for a clinician (bot.domain.report). Names are not stored: the
first name on it is the one Telegram gives with the command, or the one typed after it
(`/report Ana`).

/export sends a CSV file (UTF-8, comma-separated, a header row first), one row per record
in time order. Times are ISO 8601 in the user's time zone with its offset
(2026-11-30T10:00:00-05:00). Columns:

    record            break, baseline (the pain and stiffness given at setup) or assessment
    time              break: when it was due (a reminder) or asked for (/stretch, /routine);
                      baseline: when given; assessment: when taken
    break_kind        reminder, stretch or routine
                      (these columns' codes are written in the user's language: in Spanish
                      "pausa", "hecha", "escritorio"...)
    status            break: done, partial, skipped, missed, moved_already ("I moved
                      already": done on the user's own, no guided break), merged (moved
                      for a meeting into the next break), dropped (moved for a meeting
                      past the work day), or pending/active/rating while open;
                      assessment: completed or unfinished
    place             where the break was taken (the place in use when it ended, after
                      any switch): desk, band or floor
    positions         the break's stretch positions, in order, separated by spaces
    position_names    their names, in the user's language, separated by " / "
    positions_done    the positions finished
    started, ended    when the break started and ended
    snoozes           how often its reminder was snoozed or moved for a meeting
    stopped_for_pain  yes when it stopped because it hurt
    stop_pain         the pain (0-10) given at that stop: the rating that stopped it, or the
                      number tapped after "it hurts"; empty when none was given
    rated             when pain and stiffness were given
    pain, stiffness   0 (none) to 10 (worst)
    answers           assessment: each question and its answer in words ("Is sitting in
                      90-90 comfortable for you? Hard to hold"), separated by " / "

/stats answers only the users in ADMIN_USER_IDS (its route's gate), with counts over
everyone, then per group (handlers/groups.py), and no user's own data: a group's mean change
shows only from MIN_RATERS users up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.content import Program
from bot.domain.i18n import DEFAULT_LANGUAGE, N_, _
from bot.domain.progress import DEFAULT_SPAN, build_progress, local_date
from bot.domain.progress_text import progress_text
from bot.domain.replies import Answer
from bot.domain.schedule import Preferences
from bot.domain.timefmt import local_day_and_time
from bot.domain.zones import tzinfo_for
from bot.storage import groups
from bot.storage.models import User
from bot.storage.records import Usage, load_checks, load_history, load_records, load_usage
from handlers.planning import next_arrival, preferences, resting_until
from handlers.summary import studio_line
from handlers.turn import Turn

# The column names are the English header; a Spanish user gets them translated.
COLUMNS = (N_("record"), N_("time"), N_("break_kind"), N_("status"), N_("place"),
           N_("positions"), N_("position_names"), N_("positions_done"), N_("started"),
           N_("ended"), N_("snoozes"), N_("stopped_for_pain"), N_("stop_pain"), N_("rated"),
           N_("pain"), N_("stiffness"), N_("answers"))
# The coded values, written in the user's language (in English they read as the codes).
VALUES = frozenset((
    N_("break"), N_("baseline"), N_("assessment"), N_("reminder"), N_("stretch"),
    N_("routine"), N_("done"), N_("partial"), N_("skipped"), N_("missed"),
    N_("moved_already"), N_("merged"), N_("dropped"), N_("pending"), N_("active"),
    N_("rating"), N_("desk"), N_("band"), N_("floor"), N_("yes"), N_("no"), N_("completed"),
    N_("unfinished")))


def _joined(user: User) -> datetime:
    return user.onboarded_at or user.created_at


def _as_planned(user: User, now: datetime) -> Preferences:
    """The user's preferences with the rest after a stop for pain counted like a pause, so
    the breaks "to come" are only those that will come."""
    prefs = preferences(user)
    rest_end = resting_until(user)
    if rest_end is not None and rest_end > now and (prefs.paused_until is None
                                                    or prefs.paused_until < rest_end):
        return replace(prefs, paused_until=rest_end)
    return prefs


async def progress(turn: Turn) -> Answer:
    choice = turn.text.strip().lower()
    if choice not in ("", "all"):
        return Answer().say(turn.t("/progress shows the last 4 weeks; /progress all shows "
                                   "everything since you joined."))
    ratings, breaks = await load_records(turn.session, turn.user.id)
    checks = await load_checks(turn.session, turn.user.id)
    figures = build_progress(ratings, breaks, _as_planned(turn.user, turn.now), turn.now,
                             joined=_joined(turn.user), checks=checks,
                             span=None if choice == "all" else DEFAULT_SPAN)
    at = await next_arrival(turn.session, turn.user.id)
    when = local_day_and_time(at, turn.user, turn.now) if at is not None else None
    # matplotlib loads on the first /progress, not at start-up (it is ~0.4 s of import).
    from bot.domain.chart import render_in_thread

    chart = await render_in_thread(figures.series, turn.user.language)
    text = progress_text(figures, turn.user.language, when)
    if choice == "" and figures.series.days[0].day > local_date(_joined(turn.user),
                                                              figures.series.zone):
        text += "\n" + turn.t("/progress all shows everything since you joined.")
    return Answer().say(text, photo=chart, filename="progress.png")


# ------------------------------------------------------------------------------------------
# /report

NAME_LENGTH = 40


def first_name(text: str) -> str | None:
    """The first word of `text` as a name: letters, apostrophes and hyphens."""
    word = text.strip().split(maxsplit=1)[0] if text.strip() else ""
    name = "".join(c for c in word if c.isalpha() or c in "'-")[:NAME_LENGTH]
    return name or None


async def report(turn: Turn) -> Answer:
    user = turn.user
    ratings, breaks = await load_records(turn.session, user.id)
    checks = await load_checks(turn.session, user.id)
    name = first_name(turn.text) or first_name(turn.first_name)
    # matplotlib loads on the first /report, not at start-up.
    from bot.domain.report import build_report, render_in_thread

    page = build_report(ratings, breaks, checks, _as_planned(user, turn.now), turn.now,
                        turn.services.program, joined=_joined(user), name=name,
                        studio=studio_line(turn.services.settings), language=user.language)
    pdf = await render_in_thread(page, user.language)
    text = turn.t("Your one-page report for your physiotherapist or doctor: your pain and "
                  "stiffness since you joined, your breaks week by week and your self-check "
                  "answers. It prints well in black and white.")
    day = local_date(turn.now, user.time_zone or "UTC")
    return Answer().say(text, document=pdf, filename=f"move-better-report-{day.isoformat()}.pdf")


# ------------------------------------------------------------------------------------------
# /export


def _time(at: datetime | None, user: User) -> str:
    if at is None:
        return ""
    return at.astimezone(tzinfo_for(user.time_zone or "UTC")).isoformat(timespec="seconds")


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _position_name(program: Program, position_id: str, language: str) -> str:
    try:
        return _(program.position(position_id).name, language)
    except KeyError:  # a position the content no longer has: its code says what it was
        return position_id


def _answers_in_words(program: Program, answers: dict[str, Any], language: str) -> str:
    """'Is sitting in 90-90 comfortable for you? Hard to hold / ...', in content order;
    answers to questions the content no longer has keep their codes."""
    parts = []
    known = {q.id: q for q in program.assessment.questions}
    for question_id in [*(q for q in known if q in answers),
                        *sorted(q for q in answers if q not in known)]:
        answer = str(answers[question_id])
        question = known.get(question_id)
        if question is None:
            parts.append(f"{question_id}: {answer}")
            continue
        label = next((a.label for a in question.answers if a.id == answer), answer)
        parts.append(f"{_(question.text, language)} {_(label, language)}")
    return " / ".join(parts)


async def export_rows(session: AsyncSession, user: User,
                      program: Program) -> list[dict[str, str]]:
    """Every record of the user as CSV rows (see the module notes), in time order."""
    history = await load_history(session, user.id)
    language = user.language
    rows: list[tuple[datetime, int, dict[str, str]]] = []
    for brk in history.breaks:
        rating = history.rating_of.get(brk.id)
        rows.append((brk.planned_at, 1, {
            "record": "break", "time": _time(brk.planned_at, user), "break_kind": brk.kind,
            "status": brk.status, "place": brk.place, "positions": " ".join(brk.positions),
            "position_names": " / ".join(_position_name(program, p, language)
                                         for p in brk.positions),
            "positions_done": " ".join(brk.positions_done),
            "started": _time(brk.started_at, user), "ended": _time(brk.ended_at, user),
            "snoozes": str(brk.snoozes), "stopped_for_pain": "yes" if brk.stopped_for_pain
            else "no", "stop_pain": _number(brk.stop_pain),
            "rated": _time(rating.rated_at if rating else None, user),
            "pain": _number(rating.pain if rating else None),
            "stiffness": _number(rating.stiffness if rating else None),
        }))
    for rating in history.baselines:
        rows.append((rating.rated_at, 0, {
            "record": "baseline", "time": _time(rating.rated_at, user),
            "rated": _time(rating.rated_at, user), "pain": str(rating.pain),
            "stiffness": str(rating.stiffness),
        }))
    for check in history.assessments:
        rows.append((check.taken_at, 2, {
            "record": "assessment", "time": _time(check.taken_at, user),
            "status": "completed" if check.completed else "unfinished",
            "answers": _answers_in_words(program, check.answers, language),
        }))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [{column: _value(row.get(column, ""), language) for column in COLUMNS}
            for _at, _order, row in rows]


def _value(text: str, language: str) -> str:
    return _(text, language) if text in VALUES else text


def to_csv(rows: Sequence[dict[str, str]], language: str = DEFAULT_LANGUAGE) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_(column, language) for column in COLUMNS])
    csv.DictWriter(buffer, fieldnames=COLUMNS).writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def export(turn: Turn) -> Answer:
    rows = await export_rows(turn.session, turn.user, turn.services.program)
    counts = {kind: sum(1 for row in rows if row["record"] == kind)
              for kind in ("break", "baseline", "assessment")}
    day = local_date(turn.now, turn.user.time_zone or "UTC")
    return Answer().say(
        # Counts as labels, not "{n} breaks": no plural forms to get wrong at 1.
        turn.t("Your history, one row each. Breaks: {breaks}. Self-checks: {checks}. Plus "
               "your baseline. Times are in your time zone ({zone}). /delete erases it all.",
               breaks=counts["break"], checks=counts["assessment"],
               zone=turn.user.time_zone or "UTC"),
        document=to_csv(rows, turn.user.language),
        filename=f"move-better-history-{day.isoformat()}.csv",
    )


# ------------------------------------------------------------------------------------------
# /stats


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


def usage_text(usage: Usage, language: str, group: str | None = None) -> str:
    """The /stats text: counts over all users (or one group's), nothing about any one."""
    lines = [
        _("Usage in the group “{group}” (last 7 days / last 30 days):", language, group=group)
        if group is not None else
        _("Usage, over all users (last 7 days / last 30 days):", language),
        _("Users: {registered} registered, {subscribed} set up and subscribed.", language,
          registered=usage.registered, subscribed=usage.subscribed),
        _("Active users (a break done or partly done): {week} / {month}", language,
          week=usage.active[0], month=usage.active[1]),
    ]
    for key, label in (("sent", "Reminders sent"), ("done", "Breaks done"),
                       ("moved_already", "Moved on their own"),
                       ("partial", "Partly done"), ("skipped", "Skipped"),
                       ("missed", "Missed")):
        week, month = usage.breaks.get(key, (0, 0))
        lines.append(_("{label}: {week} / {month}", language, label=_(label, language),
                       week=week, month=month))
    lines.append(_mean_change(usage, language, minimum=1 if group is None else MIN_RATERS))
    return "\n".join(lines)


# A group's mean change is shown from this many users up, so it is never one person's.
MIN_RATERS = 3
# /stats lists this many groups at most (a message holds 4096 characters).
MAX_GROUPS_LISTED = 25


def _mean_change(usage: Usage, language: str, minimum: int) -> str:
    pain, stiffness = usage.pain_change, usage.stiffness_change
    if usage.rating_users >= minimum and pain is not None and stiffness is not None:
        return _("Mean change since baseline, over the {users} users rating for two weeks or "
                 "more (last 7 days): pain {pain}, stiffness {stiffness}.", language,
                 users=usage.rating_users, pain=_signed(pain), stiffness=_signed(stiffness))
    if usage.rating_users and minimum > 1:
        return _("Mean change since baseline: shown once {minimum} users have rated for two "
                 "weeks.", language, minimum=minimum)
    return _("Mean change since baseline: no user has rated for two weeks yet.", language)


def group_line(name: str, usage: Usage, language: str) -> str:
    """One group's figures on one line, beside the total in /stats."""
    done, missed = usage.breaks.get("done", (0, 0))[0], usage.breaks.get("missed", (0, 0))[0]
    line = _("{name}: users {users}, set up {set_up}, active {active}; breaks done {done}, "
             "missed {missed}", language, name=name, users=usage.registered,
             set_up=usage.subscribed, active=usage.active[0], done=done, missed=missed)
    pain, stiffness = usage.pain_change, usage.stiffness_change
    if usage.rating_users >= MIN_RATERS and pain is not None and stiffness is not None:
        line += _("; pain {pain}, stiffness {stiffness}", language, pain=_signed(pain),
                  stiffness=_signed(stiffness))
    return line


async def stats(turn: Turn) -> Answer:
    """/stats: the total, then each group; /stats <group>: that group in full."""
    language, name = turn.user.language, " ".join(turn.text.split())
    if name:
        group = await groups.named(turn.session, name)
        if group is None:
            return Answer().say(turn.t("There is no group called “{name}”. /invite lists the "
                                       "groups.", name=name))
        usage = await load_usage(turn.session, turn.now, group.id)
        return Answer().say(usage_text(usage, language, group=group.name))
    lines = [usage_text(await load_usage(turn.session, turn.now), language)]
    every_group = await groups.all_groups(turn.session)
    if every_group:
        lines += ["", turn.t("By group (last 7 days; /stats followed by a group's name shows "
                             "it in full):")]
        for group in every_group[:MAX_GROUPS_LISTED]:
            usage = await load_usage(turn.session, turn.now, group.id)
            lines.append(group_line(group.name, usage, language))
        if len(every_group) > MAX_GROUPS_LISTED:
            lines.append(turn.t("…and {more} more groups.",
                                more=len(every_group) - MAX_GROUPS_LISTED))
    return Answer().say("\n".join(lines))
