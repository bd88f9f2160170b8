"""What users did, read back: one user's records, and figures over everyone for operators.

    ratings, breaks = await load_records(session, user_id)   # the input of bot.domain.progress
    checks = await load_checks(session, user_id)              # completed self-checks
    check = await latest_check(session, user_id)              # the latest, or None
    used = await used_slots(session, [user_id], since)        # slots reminded already
    history = await load_history(session, user_id)           # every row, for /export
    usage = await load_usage(session, now)                   # the /stats figures
    usage = await load_usage(session, now, group_id)         # the same, one group's users
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.progress import BreakRecord, CheckRecord, RatingRecord
from bot.storage.db import among
from bot.storage.models import Assessment, Break, Rating, User

Query = TypeVar("Query", bound=Select[*tuple[Any, ...]])

# /stats: a user's change since baseline counts once they have rated for this long.
STATS_HISTORY = timedelta(days=14)
STATS_RECENT = timedelta(days=7)


async def load_records(session: AsyncSession, user_id: int,
                       since: datetime | None = None) -> tuple[list[RatingRecord],
                                                               list[BreakRecord]]:
    """A user's ratings (baselines always) and breaks, from `since` on if given."""
    rating_query = select(Rating.rated_at, Rating.pain, Rating.stiffness, Rating.kind).where(
        Rating.user_id == user_id)
    break_query = select(Break.planned_at, Break.status, Break.started_at, Break.kind,
                         Break.stopped_for_pain, Break.stop_pain).where(Break.user_id == user_id)
    if since is not None:
        rating_query = rating_query.where((Rating.rated_at >= since)
                                          | (Rating.kind == "baseline"))
        break_query = break_query.where(Break.planned_at >= since)
    ratings = [RatingRecord(at, pain, stiffness, baseline=kind == "baseline")
               for at, pain, stiffness, kind in await session.execute(rating_query)]
    breaks = [BreakRecord(planned_at, status, started_at, reminded=kind == "reminder",
                          stopped_for_pain=bool(stopped), stop_pain=stop_pain)
              for planned_at, status, started_at, kind, stopped, stop_pain
              in await session.execute(break_query)]
    return ratings, breaks


async def used_slots(session: AsyncSession, user_ids: list[int],
                     since: datetime) -> dict[int, set[datetime]]:
    """The usual break times (slots) reminded from `since` on, per user: never planned
    again (bot.domain.free_time.next_fitted_slot)."""
    used: dict[int, set[datetime]] = {}
    for user_id, slot in await session.execute(
            select(Break.user_id, Break.slot).where(among(session, Break.user_id, user_ids),
                                                    Break.slot >= since)):
        if slot is not None:  # never (`>=` leaves no NULL): for the type checker
            used.setdefault(user_id, set()).add(slot)
    return used


async def latest_check(session: AsyncSession, user_id: int,
                       before_id: int | None = None) -> Assessment | None:
    """The user's latest completed self-check (before the one with `before_id`, if given)."""
    query = select(Assessment).where(Assessment.user_id == user_id,
                                     Assessment.completed.is_(True))
    if before_id is not None:
        query = query.where(Assessment.id < before_id)
    return await session.scalar(query.order_by(Assessment.id.desc()).limit(1))


async def latest_checks(session: AsyncSession, user_ids: list[int]) -> dict[int, Assessment]:
    """Each user's latest completed self-check, in one query (for a batch of reminders)."""
    latest = (select(func.max(Assessment.id))
              .where(among(session, Assessment.user_id, user_ids),
                     Assessment.completed.is_(True))
              .group_by(Assessment.user_id))
    found = await session.scalars(select(Assessment).where(Assessment.id.in_(latest)))
    return {check.user_id: check for check in found}


async def load_checks(session: AsyncSession, user_id: int) -> list[CheckRecord]:
    """A user's completed self-checks, oldest first."""
    rows = await session.execute(
        select(Assessment.taken_at, Assessment.answers)
        .where(Assessment.user_id == user_id, Assessment.completed.is_(True))
        .order_by(Assessment.taken_at))
    return [CheckRecord(at, {str(k): str(v) for k, v in answers.items()})
            for at, answers in rows]


@dataclass(frozen=True)
class History:
    """Every stored row about one user's breaks, baselines and self-checks."""

    breaks: list[Break]
    rating_of: dict[int, Rating]  # break id -> its rating
    baselines: list[Rating]
    assessments: list[Assessment]


async def load_history(session: AsyncSession, user_id: int) -> History:
    return History(
        breaks=list(await session.scalars(select(Break).where(Break.user_id == user_id))),
        rating_of={rating.break_id: rating for rating in await session.scalars(
            select(Rating).where(Rating.user_id == user_id, Rating.break_id.is_not(None)))
            if rating.break_id is not None},
        baselines=list(await session.scalars(select(Rating).where(
            Rating.user_id == user_id, Rating.kind == "baseline"))),
        assessments=list(await session.scalars(select(Assessment).where(
            Assessment.user_id == user_id))),
    )


@dataclass(frozen=True)
class Usage:
    """Counts over all users (or one group's); (last 7 days, last 30 days) where a pair."""

    registered: int
    subscribed: int
    breaks: dict[str, tuple[int, int]]  # per status, and "sent" for reminders that went out
    active: tuple[int, int]  # users with a break done or partly done
    rating_users: int  # users rating for two weeks or more, and in the last 7 days
    pain_change: float | None  # their mean change since their latest baseline
    stiffness_change: float | None


class _Among:
    """Narrows queries to one group's users, or leaves them over everyone."""

    def __init__(self, group_id: int | None) -> None:
        self.members = None if group_id is None else \
            select(User.id).where(User.group_id == group_id).scalar_subquery()

    def __call__(self, query: Query, user_id: Any) -> Query:
        return query if self.members is None else query.where(user_id.in_(self.members))


async def load_usage(session: AsyncSession, now: datetime,
                     group_id: int | None = None) -> Usage:
    among = _Among(group_id)
    registered = await session.scalar(among(select(func.count()).select_from(User),
                                            User.id)) or 0
    subscribed = await session.scalar(among(select(func.count()).where(
        User.active.is_(True), User.onboarded_at.is_not(None)), User.id)) or 0
    users, pain, stiffness = await mean_change(session, now, among)
    return Usage(int(registered), int(subscribed), await _break_counts(session, now, among),
                 await _active(session, now, among), users, pain, stiffness)


async def _break_counts(session: AsyncSession, now: datetime,
                        among: _Among) -> dict[str, tuple[int, int]]:
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    in_week = func.sum(case((Break.planned_at >= week, 1), else_=0))
    counts: dict[str, tuple[int, int]] = {}
    for status, last_week, last_month in await session.execute(among(
            select(Break.status, in_week, func.count()).where(Break.planned_at >= month)
            .group_by(Break.status), Break.user_id)):
        counts[status] = (int(last_week or 0), int(last_month))
    sent = select(in_week, func.count()).where(
        Break.planned_at >= month, Break.kind == "reminder", Break.message_id.is_not(None))
    last_week, last_month = (await session.execute(among(sent, Break.user_id))).one()
    counts["sent"] = (int(last_week or 0), int(last_month))
    return counts


async def _active(session: AsyncSession, now: datetime, among: _Among) -> tuple[int, int]:
    counts = []
    for since in (now - timedelta(days=7), now - timedelta(days=30)):
        active = await session.scalar(among(
            select(func.count(distinct(Break.user_id)))
            .where(Break.planned_at >= since, Break.status.in_(("done", "partial"))),
            Break.user_id))
        counts.append(int(active or 0))
    return counts[0], counts[1]


async def mean_change(session: AsyncSession, now: datetime,
                      among: _Among | None = None) -> tuple[int, float | None, float | None]:
    """(users, mean pain change, mean stiffness change) since their latest baseline, over the
    users who began rating breaks two weeks ago or more and rated in the last 7 days."""
    among = among or _Among(None)
    veterans = among(select(Rating.user_id).where(Rating.kind == "break"), Rating.user_id) \
        .group_by(Rating.user_id) \
        .having(func.min(Rating.rated_at) <= now - STATS_HISTORY).subquery()
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
