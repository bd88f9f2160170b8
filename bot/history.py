"""A user's history from the database: /progress, /export, and /stats for operators.

    ratings, breaks = await load_records(session, user_id)   # the input of bot.progress
    text = await usage_stats(session, now, "en")             # what /stats answers

/progress sends the chart (bot.chart) with the short text from bot.progress as its caption.

/export sends a CSV file (UTF-8, comma-separated, a header row first), one row per record
in time order. Times are ISO 8601 in the user's time zone with its offset
(2026-11-30T10:00:00-05:00). Columns:

    record            break, baseline (the pain and stiffness given at setup) or assessment
    time              break: when it was due (a reminder) or asked for (/stretch, /routine);
                      baseline: when given; assessment: when taken
    break_kind        reminder, stretch or routine
    status            break: done, partial, skipped, missed, or pending/active/rating while
                      open; assessment: completed or unfinished
    place             where the break was taken: desk, band or floor
    positions         the break's stretch positions, in order, separated by spaces
    positions_done    the positions finished
    started, ended    when the break started and ended
    snoozes           how often its reminder was snoozed
    stopped_for_pain  yes when it stopped because it hurt
    rated             when pain and stiffness were given
    pain, stiffness   0 (none) to 10 (worst)
    answers           assessment: question=answer pairs separated by spaces

/stats answers only the users in ADMIN_USER_IDS, with counts over everyone and no user's
own data. Anyone else gets exactly what an unknown command gets.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import account, reminders
from bot.i18n import _
from bot.models import Assessment, Break, Rating, User
from bot.progress import BreakRecord, RatingRecord, build_progress, local_date, progress_text
from bot.replies import Answer
from bot.turn import Turn
from bot.zones import tzinfo_for

COLUMNS = ("record", "time", "break_kind", "status", "place", "positions", "positions_done",
           "started", "ended", "snoozes", "stopped_for_pain", "rated", "pain", "stiffness",
           "answers")
# /stats: a user's change since baseline counts once they have rated for this long.
STATS_HISTORY = timedelta(days=14)
STATS_RECENT = timedelta(days=7)


async def load_records(session: AsyncSession, user_id: int,
                       since: datetime | None = None) -> tuple[list[RatingRecord],
                                                               list[BreakRecord]]:
    """A user's ratings (baselines always) and breaks, from `since` on if given."""
    rating_query = select(Rating.rated_at, Rating.pain, Rating.stiffness, Rating.kind).where(
        Rating.user_id == user_id)
    break_query = select(Break.planned_at, Break.status, Break.started_at, Break.kind).where(
        Break.user_id == user_id)
    if since is not None:
        rating_query = rating_query.where((Rating.rated_at >= since)
                                          | (Rating.kind == "baseline"))
        break_query = break_query.where(Break.planned_at >= since)
    ratings = [RatingRecord(at, pain, stiffness, baseline=kind == "baseline")
               for at, pain, stiffness, kind in await session.execute(rating_query)]
    breaks = [BreakRecord(planned_at, status, started_at, reminded=kind == "reminder")
              for planned_at, status, started_at, kind in await session.execute(break_query)]
    return ratings, breaks


async def progress(turn: Turn) -> Answer:
    ratings, breaks = await load_records(turn.session, turn.user.id)
    figures = build_progress(ratings, breaks, reminders.preferences(turn.user), turn.now)
    # matplotlib loads on the first /progress, not at start-up (it is ~0.4 s of import).
    from bot.chart import render_in_thread

    chart = await render_in_thread(figures.series, turn.user.language)
    return Answer().say(progress_text(figures, turn.user.language), photo=chart,
                        filename="progress.png")


# ------------------------------------------------------------------------------------------
# /export


def _time(at: datetime | None, user: User) -> str:
    if at is None:
        return ""
    return at.astimezone(tzinfo_for(user.time_zone or "UTC")).isoformat(timespec="seconds")


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


async def export_rows(session: AsyncSession, user: User) -> list[dict[str, str]]:
    """Every record of the user as CSV rows (see the module notes), in time order."""
    rated = {rating.break_id: rating for rating in await session.scalars(
        select(Rating).where(Rating.user_id == user.id, Rating.break_id.is_not(None)))}
    rows: list[tuple[datetime, int, dict[str, str]]] = []
    for brk in await session.scalars(select(Break).where(Break.user_id == user.id)):
        rating = rated.get(brk.id)
        rows.append((brk.planned_at, 1, {
            "record": "break", "time": _time(brk.planned_at, user), "break_kind": brk.kind,
            "status": brk.status, "place": brk.place, "positions": " ".join(brk.positions),
            "positions_done": " ".join(brk.positions_done),
            "started": _time(brk.started_at, user), "ended": _time(brk.ended_at, user),
            "snoozes": str(brk.snoozes), "stopped_for_pain": "yes" if brk.stopped_for_pain
            else "no", "rated": _time(rating.rated_at if rating else None, user),
            "pain": _number(rating.pain if rating else None),
            "stiffness": _number(rating.stiffness if rating else None),
        }))
    for rating in await session.scalars(select(Rating).where(
            Rating.user_id == user.id, Rating.kind == "baseline")):
        rows.append((rating.rated_at, 0, {
            "record": "baseline", "time": _time(rating.rated_at, user),
            "rated": _time(rating.rated_at, user), "pain": str(rating.pain),
            "stiffness": str(rating.stiffness),
        }))
    for check in await session.scalars(select(Assessment).where(
            Assessment.user_id == user.id)):
        rows.append((check.taken_at, 2, {
            "record": "assessment", "time": _time(check.taken_at, user),
            "status": "completed" if check.completed else "unfinished",
            "answers": " ".join(f"{question}={answer}"
                                for question, answer in sorted(check.answers.items())),
        }))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [{column: row.get(column, "") for column in COLUMNS} for _at, _order, row in rows]


def to_csv(rows: Sequence[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


async def export(turn: Turn) -> Answer:
    rows = await export_rows(turn.session, turn.user)
    counts = {kind: sum(1 for row in rows if row["record"] == kind)
              for kind in ("break", "baseline", "assessment")}
    day = local_date(turn.now, turn.user.time_zone or "UTC")
    return Answer().say(
        turn.t("Your history: {breaks} breaks, {checks} self-checks and your baseline, one "
               "row each. Times are in your time zone ({zone}). /delete erases it all.",
               breaks=counts["break"], checks=counts["assessment"],
               zone=turn.user.time_zone or "UTC"),
        document=to_csv(rows), filename=f"move-better-history-{day.isoformat()}.csv",
    )


# ------------------------------------------------------------------------------------------
# /stats


async def _break_counts(session: AsyncSession, now: datetime) -> dict[str, tuple[int, int]]:
    """Per status (and "sent" for reminders that went out): (last 7 days, last 30 days)."""
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    in_week = func.sum(case((Break.planned_at >= week, 1), else_=0))
    counts: dict[str, tuple[int, int]] = {}
    for status, last_week, last_month in await session.execute(
            select(Break.status, in_week, func.count()).where(Break.planned_at >= month)
            .group_by(Break.status)):
        counts[status] = (int(last_week or 0), int(last_month))
    sent = select(in_week, func.count()).where(
        Break.planned_at >= month, Break.kind == "reminder", Break.message_id.is_not(None))
    last_week, last_month = (await session.execute(sent)).one()
    counts["sent"] = (int(last_week or 0), int(last_month))
    for label, since in (("active_week", week), ("active_month", month)):
        active = await session.scalar(
            select(func.count(distinct(Break.user_id)))
            .where(Break.planned_at >= since, Break.status.in_(("done", "partial"))))
        counts[label] = (int(active or 0), 0)
    return counts


async def mean_change(session: AsyncSession, now: datetime) -> tuple[int, float | None,
                                                                     float | None]:
    """(users, mean pain change, mean stiffness change) since their latest baseline, over the
    users who began rating breaks two weeks ago or more and rated in the last 7 days."""
    veterans = (select(Rating.user_id).where(Rating.kind == "break")
                .group_by(Rating.user_id)
                .having(func.min(Rating.rated_at) <= now - STATS_HISTORY).subquery())
    recent = (select(Rating.user_id, func.avg(Rating.pain).label("pain"),
                     func.avg(Rating.stiffness).label("stiffness"))
              .where(Rating.kind == "break", Rating.rated_at >= now - STATS_RECENT)
              .group_by(Rating.user_id).subquery())
    ranked = (select(Rating.user_id, Rating.pain, Rating.stiffness,
                     func.row_number().over(partition_by=Rating.user_id,
                                            order_by=(Rating.rated_at.desc(), Rating.id.desc()))
                     .label("newest"))
              .where(Rating.kind == "baseline").subquery())
    users, pain, stiffness = (await session.execute(
        select(func.count(), func.avg(recent.c.pain - ranked.c.pain),
               func.avg(recent.c.stiffness - ranked.c.stiffness))
        .select_from(veterans)
        .join(recent, recent.c.user_id == veterans.c.user_id)
        .join(ranked, (ranked.c.user_id == veterans.c.user_id) & (ranked.c.newest == 1))
    )).one()
    return (int(users), None if pain is None else float(pain),
            None if stiffness is None else float(stiffness))


def _signed(value: float) -> str:
    return f"{value:+.1f}".replace("-", "−")


async def usage_stats(session: AsyncSession, now: datetime, language: str) -> str:
    """The /stats text: counts over all users, nothing about any one of them."""
    registered = await session.scalar(select(func.count()).select_from(User)) or 0
    subscribed = await session.scalar(select(func.count()).where(
        User.active.is_(True), User.onboarded_at.is_not(None))) or 0
    counts = await _break_counts(session, now)
    lines = [
        _("Usage, over all users (last 7 days / last 30 days):", language),
        _("Users: {registered} registered, {subscribed} set up and subscribed.", language,
          registered=registered, subscribed=subscribed),
        _("Active users (a break done or partly done): {week} / {month}", language,
          week=counts["active_week"][0], month=counts["active_month"][0]),
    ]
    for key, label in (("sent", "Reminders sent"), ("done", "Breaks done"),
                       ("partial", "Partly done"), ("skipped", "Skipped"),
                       ("missed", "Missed")):
        week, month = counts.get(key, (0, 0))
        lines.append(_("{label}: {week} / {month}", language, label=_(label, language),
                       week=week, month=month))
    users, pain, stiffness = await mean_change(session, now)
    if users and pain is not None and stiffness is not None:
        lines.append(_("Mean change since baseline, over the {users} users rating for two "
                       "weeks or more (last 7 days): pain {pain}, stiffness {stiffness}.",
                       language, users=users, pain=_signed(pain), stiffness=_signed(stiffness)))
    else:
        lines.append(_("Mean change since baseline: no user has rated for two weeks yet.",
                       language))
    return "\n".join(lines)


async def stats(turn: Turn) -> Answer:
    if turn.user.id not in turn.services.settings.admin_user_ids:
        # Exactly what an unknown command gets (see handlers/router.py's gate): /stats is
        # open to everyone in the routes only so that this answer can be the same.
        if turn.user.consented_at is None:
            return await account.consent_first(turn)
        return await account.unknown_command(turn)
    return Answer().say(await usage_stats(turn.session, turn.now, turn.user.language))


COMMANDS = {"progress": progress, "export": export, "stats": stats}
