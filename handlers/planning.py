"""Planning a user's next messages: the next break reminder and the week's summary.

    at = await replan(turn)          # after any change of settings, pause or subscription
    text = await describe_next(turn)  # "Your next break: today at 10:00."

The next break of every active, set-up user is always one pending "reminder" due row, and
the week's summary one pending "summary" row (key "summary:<Monday>", so a week is
summarised at most once, whatever replans it). Sending either plans the following one.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, Select, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.free_time import next_fitted_slot
from bot.domain.progress import local_date, week_of
from bot.domain.schedule import (
    PAUSED_INDEFINITELY,
    Preferences,
    rest_until,
    stagger_for,
    work_window,
)
from bot.domain.timefmt import local_day_and_time
from bot.outbox import due
from bot.storage.calendar import Interval, busy_times, busy_times_of
from bot.storage.models import Break, DueMessage, User
from bot.storage.records import used_slots
from handlers.turn import Turn

REMINDER_KIND = "reminder"
# A reminder snoozed or moved for a meeting comes back as one of these.
SNOOZE_KIND = "snooze"
SUMMARY_KIND = "summary"
# After the last window of the week ends, so its last break has been answered or expired.
SUMMARY_AFTER_WORK = timedelta(minutes=30)
# The busy times that can move the next break: a shift may have begun yesterday, and the
# next break may be up to two weeks away.
BUSY_LOOK_BACK = timedelta(days=2)
BUSY_LOOK_AHEAD = timedelta(days=16)


def preferences(user: User) -> Preferences:
    return _preferences(user.id, user.time_zone or "UTC", user.work_days, user.work_start,
                        user.work_end, user.breaks_per_day, user.paused_until)


# Built several times for each reminder (its next break, its expiry) and the same for a
# user until they change a setting: remembered by the settings themselves.
@functools.lru_cache(maxsize=8192)
def _preferences(user_id: int, time_zone: str, work_days: int, start: time, end: time,
                 breaks_per_day: int, paused_until: datetime | None) -> Preferences:
    return Preferences(
        time_zone=time_zone,
        work_days=frozenset(day for day in range(7) if work_days >> day & 1),
        start=start,
        end=end,
        breaks_per_day=breaks_per_day,
        stagger_seconds=stagger_for(user_id),
        paused_until=paused_until,
    )


def _reminded(user: User) -> bool:
    return user.active and user.onboarded_at is not None and user.time_zone is not None


def next_reminder(user: User, after: datetime, busy: Sequence[Interval] = (),
                  used: Collection[datetime] = ()) -> dict[str, Any] | None:
    """The reminder row of the first break after `after`, fitted around the user's busy
    times when their calendar gave some, its slot not one reminded already (`used`) (for
    `due.schedule_many`)."""
    if not _reminded(user):
        return None
    found = next_fitted_slot(preferences(user), after, busy, used)
    if found is None:
        return None
    slot, at = found
    return dict(user_id=user.id, kind=REMINDER_KIND, key=f"remind:{at.isoformat()}", due_at=at,
                payload={"slot": slot.isoformat()})


async def next_reminders(session: AsyncSession, items: Sequence[tuple[User, datetime]]
                         ) -> list[dict[str, Any]]:
    """`next_reminder` for many users at once, their busy times read in one query (and the
    slots reminded already, of those who have busy times, in another)."""
    if not items:
        return []
    since = min(after for _u, after in items) - BUSY_LOOK_BACK
    busy = await busy_times_of(session, [user.id for user, _after in items], since,
                               max(after for _u, after in items) + BUSY_LOOK_AHEAD)
    used = await used_slots(session, list(busy), since) if busy else {}
    return [row for user, after in items
            if (row := next_reminder(user, after, busy.get(user.id, ()),
                                     used.get(user.id, ()))) is not None]


async def plan_next(session: AsyncSession, user: User, after: datetime) -> datetime | None:
    """Stores the first break after `after` as a reminder row (idempotent)."""
    if not _reminded(user):
        return None
    busy = await busy_times(session, user.id, after - BUSY_LOOK_BACK, after + BUSY_LOOK_AHEAD)
    # Only meetings move a slot past a later time: without busy times none repeats.
    used = (await used_slots(session, [user.id], after - BUSY_LOOK_BACK)).get(user.id, ()) \
        if busy else ()
    row = next_reminder(user, after, busy, used)
    if row is not None:
        await due.schedule(session, user.id, REMINDER_KIND, row["key"], row["due_at"],
                           row["payload"])
    return row["due_at"] if row is not None else None


def resting_until(user: User) -> datetime | None:
    """The end of the rest after the user's latest stop for pain, while it lasts or not."""
    if user.pain_stop_at is None:
        return None
    return rest_until(preferences(user), user.pain_stop_at)


def _after_rest(user: User, now: datetime) -> datetime:
    """Where planning the next break starts: now, or the end of a rest still going on."""
    rest_end = resting_until(user)
    return max(rest_end, now) if rest_end is not None else now


async def rest_after_stop(turn: Turn) -> None:
    """A stop for pain holds: no reminder for the rest of the work day (a reminder still
    waiting for an answer counts as missed), and the next one opens with a check-in."""
    user = turn.user
    user.pain_stop_at = turn.now
    await due.drop_pending(turn.session, user.id, kinds=[REMINDER_KIND, SNOOZE_KIND, "expire"])
    await turn.session.execute(
        update(Break).where(Break.user_id == user.id, Break.status == "pending")
        .values(status="missed", ended_at=turn.now))
    await turn.session.flush()
    turn.wake(await plan_next(turn.session, user, _after_rest(user, turn.now)))


async def replan(turn: Turn) -> datetime | None:
    """Replaces the planned next break and week's summary; the next break's time."""
    await due.drop_pending(turn.session, turn.user.id, kinds=[REMINDER_KIND, SUMMARY_KIND])
    await turn.session.flush()
    at = await plan_next(turn.session, turn.user, _after_rest(turn.user, turn.now))
    turn.wake(at)
    turn.wake(await plan_summary(turn.session, turn.user, turn.now))
    return at


def _next_planned(user_id: int) -> Select[datetime]:
    return (select(DueMessage.due_at)
            .where(DueMessage.user_id == user_id, DueMessage.kind == REMINDER_KIND,
                   DueMessage.status == "pending")
            .order_by(DueMessage.due_at)
            .limit(1))


async def next_planned(session: AsyncSession, user_id: int) -> datetime | None:
    return await session.scalar(_next_planned(user_id))


def _next_arrival(user_id: int) -> Select[datetime]:
    """When the user's next reminder really comes: the next planned break, or a break
    snoozed or moved for a meeting that comes back before it."""
    return (select(DueMessage.due_at)
            .where(DueMessage.user_id == user_id,
                   DueMessage.kind.in_((REMINDER_KIND, SNOOZE_KIND)),
                   DueMessage.status == "pending")
            .order_by(DueMessage.due_at)
            .limit(1))


async def next_arrival(session: AsyncSession, user_id: int) -> datetime | None:
    return await session.scalar(_next_arrival(user_id))


def next_break_facts(user_id: int) -> tuple[ScalarSelect[int], ScalarSelect[datetime]]:
    """What `say_next` needs, as two columns: a caller reads them with its own in one
    statement (a round-trip each would be most of a quick tap's database time)."""
    coming_back = exists().where(DueMessage.break_id == Break.id,
                                 DueMessage.kind == SNOOZE_KIND,
                                 DueMessage.status == "pending")
    # A reminder on screen with its buttons: not one snoozed (its message says when it
    # comes back) or moved (its message id is cleared).
    live = select(Break.id).where(Break.user_id == user_id, Break.status == "pending",
                                  Break.kind == "reminder", Break.message_id.is_not(None),
                                  ~coming_back)
    return live.limit(1).scalar_subquery(), _next_arrival(user_id).scalar_subquery()


def say_next(turn: Turn, live: int | None, at: datetime | None) -> str:
    """One sentence for the user about their next break, from `next_break_facts`."""
    if not _reminded(turn.user):
        return turn.t("Reminders are off.")
    if live is not None:  # its "Start now" is still there: no other break is next
        return turn.t("A break reminder is waiting above: tap Start now when you're ready.")
    if at is None:
        return turn.t("No break is planned: check your work days and any /pause.")
    return turn.t("Your next break: {when}.", when=local_day_and_time(at, turn.user, turn.now))


async def describe_next(turn: Turn) -> str:
    """One sentence for the user about their next break."""
    if not _reminded(turn.user):
        return say_next(turn, None, None)
    live, at = (await turn.session.execute(select(*next_break_facts(turn.user.id)))).one()
    return say_next(turn, live, at)


# ------------------------------------------------------------------------------------------
# The week's summary


def summary_times(prefs: Preferences, after: datetime) -> Iterator[tuple[datetime, date]]:
    """(due time, Monday of the week) of each summary after `after`, in order.

    The last work day's window may end in the next week (a Sunday night shift), so the
    search starts a week early.
    """
    if not prefs.work_days:
        return
    monday = week_of(local_date(after, prefs.time_zone)) - timedelta(days=7)
    last_day = max(prefs.work_days)
    for week in range(60):
        start = monday + timedelta(days=7 * week)
        window = work_window(prefs, start + timedelta(days=last_day))
        if window is not None and window[1] + SUMMARY_AFTER_WORK > after:
            yield window[1] + SUMMARY_AFTER_WORK, start


def _summarised(user: User) -> bool:
    return _reminded(user) and (user.paused_until is None
                                or user.paused_until < PAUSED_INDEFINITELY)


async def plan_summary(session: AsyncSession, user: User, after: datetime) -> datetime | None:
    """Stores the next summary after `after` unless it is planned already; its due time."""
    if not _summarised(user):
        return None
    existing = dict((await session.execute(
        select(DueMessage.key, DueMessage.status).where(
            DueMessage.user_id == user.id, DueMessage.kind == SUMMARY_KIND))).all())
    for at, monday in summary_times(preferences(user), after):
        key = f"{SUMMARY_KIND}:{monday.isoformat()}"
        status = existing.get(key)
        if status == "pending":
            return at
        if status is None:
            await due.schedule(session, user.id, SUMMARY_KIND, key, at,
                               {"week": monday.isoformat()})
            return at
        # That week's summary was sent or skipped already: the next week's is due.
    return None
