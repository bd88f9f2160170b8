"""/calendar: a private calendar feed, so breaks fall between meetings, not inside them.

    /calendar               the feed's status and a Remove button, or how to add one
    /calendar https://…     adds (or replaces) the feed; so does pasting it after /calendar

The feed is fetched in the background (`sync_feeds`, every FETCH_EVERY per user, at a
moment of the interval fixed by the user id, so fetches are spread evenly), expanded into
busy times for the coming HORIZON, and the user's next break is planned again whenever
they changed. The server is asked only for something newer than the version last read
(its ETag / Last-Modified), so an unchanged feed costs a 304 and no body. A failing feed
keeps its last good busy times; after TELL_AFTER of failures the user is told once. The
address is a secret: it is shown and logged only as its host and last 4 characters.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.addresses import BadAddress, feed_address, shown
from bot.domain.calendar_feed import NotACalendar, busy_intervals
from bot.domain.callbacks import CalendarChoice
from bot.domain.i18n import N_, _
from bot.domain.replies import Answer, Button, Reply
from bot.domain.schedule import stagger_for
from bot.domain.timefmt import local_day_and_time
from bot.domain.zones import tzinfo_for
from bot.outbox import due
from bot.outbox.dispatcher import Action, Send, Skip
from bot.storage import calendar as feeds
from bot.storage.models import CalendarFeed, DueMessage, User
from handlers.calendar_fetch import FeedError, Fetched, Validators, fetch_feed
from handlers.planning import REMINDER_KIND, plan_next
from handlers.turn import Services, Turn

log = logging.getLogger(__name__)

FETCH_EVERY = timedelta(minutes=30)  # CALENDAR_FETCH_MINUTES
HORIZON = timedelta(days=15)  # the planner looks two weeks ahead
TELL_AFTER = timedelta(days=1)
# An unchanged feed's busy times are expanded again this often (the days ahead move on).
EXPAND_AGAIN = timedelta(hours=6)
STEP = "cal"
NOTICE_KIND = "calendar"
FETCHES_AT_ONCE = 16
WRITES_AT_ONCE = 2

# Why a feed could not be used, in the user's words: what happened and what to do.
REASONS = {
    "not_url": N_("That doesn't look like a web address. Paste the whole private address "
                  "of your calendar, starting with https://."),
    "not_https": N_("Only https:// addresses work: the address holds your calendar's secret "
                    "key, so it must travel encrypted. Google and Outlook give https links "
                    "(a webcal:// link works too)."),
    "refused": N_("I can't fetch from that address: it points into a private or local "
                  "network. Use the public address your calendar service gives you."),
    "unreachable": N_("I couldn't reach that address. Check that it is complete and that "
                      "the calendar is still shared."),
    "timeout": N_("The calendar server took too long to answer; I'll keep trying."),
    "too_big": N_("That calendar is over 5 MB, more than I can read. Share one work "
                  "calendar rather than all of them."),
    "too_many_redirects": N_("That address sends me on through too many redirects."),
    "not_calendar": N_("That address gives something that is not a calendar. Copy the "
                       "address marked iCal or ICS (in Google Calendar: Settings, your "
                       "calendar, \"Secret address in iCal format\")."),
    "http": N_("The calendar server refused it (error {code}): the address may have been "
               "reset. Copy it again from your calendar's sharing settings."),
    "server": N_("The calendar server has a problem (error {code}); I'll keep trying."),
}
HOW_TO = N_(
    "Send me your calendar's private address and I'll plan your breaks between meetings, "
    "not inside them.\n"
    "• Google Calendar: Settings, pick your calendar, \"Secret address in iCal format\".\n"
    "• Outlook: Settings, Calendar, Shared calendars, Publish a calendar, the ICS link.\n"
    "• Other calendars: any https link to an .ics export.\n"
    "I only keep when you are busy (start and end of each event, never what it is) and "
    "the address itself, which /delete or the Remove button under /calendar erases. "
    "Paste the address now, or /cancel.")


def reason_text(reason: str, language: str) -> str:
    if reason.startswith("http_"):
        code = reason[5:]
        return _(REASONS["server" if code.startswith("5") else "http"], language, code=code)
    return _(REASONS.get(reason, REASONS["unreachable"]), language)


def next_fetch(user_id: int, now: datetime, every: timedelta = FETCH_EVERY) -> datetime:
    """The user's next fetch after `now`: at the same offset into every period, so users
    are spread evenly over it whenever they added their feed."""
    period = max(int(every.total_seconds()), 1)
    offset = stagger_for(user_id, period)
    slot = (int(now.timestamp()) - offset) // period + 1
    return datetime.fromtimestamp(slot * period + offset, UTC)


def _allow_loopback(services: Services) -> bool:
    return services.settings.calendar_allow_loopback


# --- the command ---------------------------------------------------------------------------


async def calendar(turn: Turn) -> Answer:
    if turn.text.strip():
        return await _save(turn, turn.text)
    feed = await feeds.feed_of(turn.session, turn.user.id)
    if feed is None:
        turn.user.step = STEP
        return Answer().say(turn.t(HOW_TO))
    return Answer().say(await _status(turn, feed),
                        [Button(turn.t("Remove this calendar"), CalendarChoice())])


async def on_step(turn: Turn) -> Answer:
    turn.user.step = None
    return await _save(turn, turn.text)


async def _save(turn: Turn, text: str) -> Answer:
    try:
        address = feed_address(text, _allow_loopback(turn.services))
    except BadAddress as exc:
        turn.user.step = STEP  # the next paste is heard as another try
        return Answer().say(reason_text(exc.reason, turn.user.language) + "\n"
                            + turn.t("Try again, or /cancel."))
    turn.user.step = None
    feed = await feeds.feed_of(turn.session, turn.user.id)
    if feed is None:
        feed = CalendarFeed(user_id=turn.user.id, url=address.url, added_at=turn.now,
                            next_fetch_at=turn.now)
        turn.session.add(feed)
    else:  # a new address: its busy times are the old calendar's no longer
        await feeds.remove_feed(turn.session, turn.user.id)
        await turn.session.flush()
        turn.session.add(CalendarFeed(user_id=turn.user.id, url=address.url,
                                      added_at=turn.now, next_fetch_at=turn.now))
        turn.wake(await replan_breaks(turn.session, turn.user, turn.now))
    return Answer().say(turn.t(
        "Got it: {calendar}. I'm reading it now and will tell you in a minute what I found. "
        "(You can delete your message with the address from this chat: I have it.)",
        calendar=shown(address.url)))


async def _status(turn: Turn, feed: CalendarFeed) -> str:
    lines = [turn.t("Your calendar: {calendar}", calendar=shown(feed.url))]
    if feed.fetched_at is None and feed.error is None:
        lines.append(turn.t("Not read yet: give me a minute."))
    if feed.fetched_at is not None:
        lines.append(turn.t("Last read: {when}.",
                            when=local_day_and_time(feed.fetched_at, turn.user, turn.now)))
        count = len(await _today(turn.session, turn.user, turn.now))
        lines.append(turn.t("Busy times today: {count}.", count=count))
    if feed.error is not None:
        lines.append(turn.t("Last try failed: {reason}",
                            reason=reason_text(feed.error, turn.user.language)))
        if feed.fetched_at is not None:
            lines.append(turn.t("Until it works again I go by what it said last time."))
    return "\n".join(lines)


async def _today(session: AsyncSession, user: User, now: datetime) -> list[Any]:
    zone = tzinfo_for(user.time_zone or "UTC")
    local = now.astimezone(zone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return await feeds.busy_times(session, user.id, start.astimezone(UTC),
                                  (start + timedelta(days=1)).astimezone(UTC))


async def on_button(turn: Turn, tap: CalendarChoice) -> Answer:
    if not await feeds.remove_feed(turn.session, turn.user.id):
        return Answer(toast=turn.t("There is no calendar to remove."))
    turn.wake(await replan_breaks(turn.session, turn.user, turn.now))
    return Answer(toast=turn.t("Removed")).say(
        turn.t("Removed: I've forgotten the address and your busy times. Your breaks go "
               "back to their usual times."), edit=True)


# --- planning again --------------------------------------------------------------------------


async def replan_breaks(session: AsyncSession, user: User, now: datetime) -> datetime | None:
    """Plans the user's next break again around the busy times now known. Only a break not
    yet sent moves: a reminder already out, a snooze or a wait for a break in progress stay."""
    await session.execute(delete(DueMessage).where(
        DueMessage.user_id == user.id, DueMessage.kind == REMINDER_KIND,
        DueMessage.status == "pending", DueMessage.key.like("remind:%")))
    await session.flush()
    return await plan_next(session, user, now)


# --- fetching in the background --------------------------------------------------------------


async def sync_feeds(services: Services, client: httpx.AsyncClient,
                     limit: int = 2000) -> datetime | None:
    """Fetches every feed that is due (taken by this instance only) and stores what it says;
    the soonest message it planned (so the dispatcher can wake for it)."""
    now = services.clock()
    every = timedelta(minutes=services.settings.calendar_fetch_minutes)
    async with services.database.session() as session:
        taken: list[tuple[int, feeds.Taken]] = []
        for user_id, due_at in await feeds.due_feeds(session, now, limit):
            feed = await feeds.take_fetch(session, user_id, due_at,
                                          next_fetch(user_id, now, every))
            if feed is not None:
                taken.append((user_id, feed))
    fetching = asyncio.Semaphore(FETCHES_AT_ONCE)
    writing = asyncio.Semaphore(WRITES_AT_ONCE)
    allow_loopback = _allow_loopback(services)

    async def one(user_id: int, feed: feeds.Taken) -> datetime | None:
        async with fetching:
            try:
                fetched: Fetched | None = await fetch_feed(
                    client, feed.url, allow_loopback=allow_loopback,
                    validators=_if_changed(feed, now))
                reason = None
            except FeedError as exc:
                fetched, reason = None, exc.reason
        async with writing:
            try:
                return await _store(services, user_id, feed.url, fetched, reason)
            except Exception:  # noqa: BLE001 - one user's feed never stops the others
                log.exception("calendar of user %s could not be stored", user_id)
                return None

    wakes = [at for at in await asyncio.gather(*(one(u, feed) for u, feed in taken))
             if at is not None]
    return min(wakes, default=None)


def _if_changed(feed: feeds.Taken, now: datetime) -> Validators | None:
    """The validators to ask with; none when the days ahead are due to be expanded anew
    (that needs the body, even unchanged) or the server gave none."""
    if feed.expanded_at is None or now - feed.expanded_at >= EXPAND_AGAIN:
        return None
    if feed.etag is None and feed.last_modified is None:
        return None
    return Validators(feed.etag, feed.last_modified)


async def _store(services: Services, user_id: int, url: str, fetched: Fetched | None,
                 reason: str | None) -> datetime | None:
    now = services.clock()
    async with services.database.session() as session:
        user = await session.get(User, user_id, with_for_update=True)
        feed = await feeds.feed_of(session, user_id)
        if user is None or feed is None or feed.url != url:
            return None  # removed or replaced while it was being fetched
        first = feed.fetched_at is None and feed.tried_at is None
        feed.tried_at = now
        if fetched is not None and fetched.body is None:
            _worked(feed, now)  # the server says it has nothing newer: busy times stand
            return None
        data = fetched.body if fetched is not None else None
        digest = hashlib.sha256(data).hexdigest() if data is not None else None
        if digest is not None and digest == feed.digest and feed.expanded_at is not None \
                and now - feed.expanded_at < EXPAND_AGAIN:
            _worked(feed, now)  # the same as last time: nothing to parse or plan again
            _keep_validators(feed, fetched)
            return None
        if data is not None:
            try:
                busy = await asyncio.to_thread(busy_intervals, data, now - timedelta(days=1),
                                               now + HORIZON, user.time_zone or "UTC")
            except NotACalendar:
                reason = "not_calendar"
            else:
                _worked(feed, now)
                feed.digest, feed.expanded_at = digest, now
                _keep_validators(feed, fetched)
                changed = await feeds.store_busy(session, user_id, busy,
                                                 now - timedelta(days=1), now + HORIZON)
                wake = await replan_breaks(session, user, now) if changed else None
                if first:
                    return await _notice(session, user_id, "connected", now)
                return wake
        assert reason is not None
        log.info("calendar of user %s (%s) failed: %s", user_id, shown(url), reason)
        feed.error = reason
        feed.failing_since = feed.failing_since or now
        if first:
            return await _notice(session, user_id, "failed", now)
        if feed.failure_told_at is None and now - feed.failing_since >= TELL_AFTER:
            feed.failure_told_at = now
            return await _notice(session, user_id, "failing", now)
        return None


def _worked(feed: CalendarFeed, now: datetime) -> None:
    feed.fetched_at, feed.error = now, None
    feed.failing_since = feed.failure_told_at = None


def _keep_validators(feed: CalendarFeed, fetched: Fetched | None) -> None:
    """Only a body that was read as a calendar gets its validators kept: a 304 to them
    then means "still that calendar"."""
    if fetched is not None:
        feed.etag = fetched.validators.etag
        feed.last_modified = fetched.validators.last_modified


async def _notice(session: AsyncSession, user_id: int, what: str, now: datetime) -> datetime:
    await due.schedule(session, user_id, NOTICE_KIND,
                       f"calendar:{what}:{int(now.timestamp())}", now, {"what": what})
    return now


class NoticeJob:
    """Tells the user what their feed gave: read the first time, or failing for a day.
    Worded when sent, from the feed as it is then (never from a stored copy of the address)."""

    async def prepare(self, session: AsyncSession, row: DueMessage, user: User,
                      now: datetime) -> Action:
        feed = await feeds.feed_of(session, user.id)
        if feed is None:
            return Skip("the calendar was removed", status="cancelled")
        lang, calendar_name = user.language, shown(feed.url)
        what = row.payload.get("what")
        if what == "connected" and feed.fetched_at is not None:
            count = len(await _today(session, user, now))
            text = _("Your calendar {calendar} is connected. Busy times today: {count}. From "
                     "now on your breaks fall between meetings; /calendar shows it or "
                     "removes it.", lang, calendar=calendar_name, count=count)
        elif what in ("failed", "failing") and feed.error is not None:
            intro = _("I couldn't read your calendar {calendar}.", lang,
                      calendar=calendar_name) if what == "failed" else \
                _("I haven't been able to read your calendar {calendar} for a day, so your "
                  "breaks go by what it said last time.", lang, calendar=calendar_name)
            text = "\n".join((intro, reason_text(feed.error, lang), _(
                "Send /calendar with the address again to fix it, or remove it there.",
                lang)))
        else:
            return Skip("nothing to tell any more", status="cancelled")
        return Send(Reply(text))

    async def delivered(self, *_args: object) -> None:
        return None

    async def undeliverable(self, *_args: object) -> None:
        return None
