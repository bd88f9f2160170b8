"""Calendar feeds end to end: the real process on a fast clock, the Bot API stand-in, and a
local HTTP server serving the user's ICS feed (CALENDAR_ALLOW_LOOPBACK=1, tests only).

Ana works 09:00-13:00 in Madrid with four breaks (09:30, 10:30, 11:30, 12:30 plus her own
offset of a few seconds) and has a meeting 10:00-11:00.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from aiohttp import web

from bench.common import local_http
from bot.config import normalise_database_url
from bot.domain.schedule import stagger_for
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from handlers.calendar import FETCH_EVERY
from handlers.planning import plan_next
from standin import BotAPIStandIn
from tests.test_reminders_e2e import FastTime, _reminders, _user

pytestmark = pytest.mark.e2e

# An hour in 15 seconds; the clock starts an hour and a half before the first break, so the
# bot starts up and the calendar is connected before it, on a busy machine too.
SPEED = 240.0
START = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Madrid
SECRET = "private-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
VERSION = "ver-0a1b2c3d"  # in the feed's ETag: kept to ask "anything newer?", erased with it


def madrid(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 30, hour - 1, minute, tzinfo=UTC)


def event(uid: str, start: str, end: str) -> str:
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;TZID=Europe/Madrid:20261130T{start}00\r\n"
            f"DTEND;TZID=Europe/Madrid:20261130T{end}00\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\n")


def feed(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n" + "".join(events)
            + "END:VCALENDAR\r\n").encode()


class FeedServer:
    def __init__(self) -> None:
        self.body = feed(event("standup", "1000", "1100"))
        self.fetches = 0
        self.unchanged = 0  # answered 304
        self.url = ""

    def etag(self) -> str:
        return f'"{VERSION}-{hashlib.sha256(self.body).hexdigest()[:8]}"'


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    state = FeedServer()

    async def serve(request: web.Request) -> web.Response:
        state.fetches += 1
        if request.headers.get("If-None-Match") == state.etag():
            state.unchanged += 1
            return web.Response(status=304, headers={"ETag": state.etag()})
        return web.Response(body=state.body, content_type="text/calendar",
                            headers={"ETag": state.etag()})

    app = web.Application()
    app.router.add_get(f"/calendar/ical/ana/{SECRET}/basic.ics", serve)
    async with local_http(app) as base:
        state.url = f"{base}/calendar/ical/ana/{SECRET}/basic.ics"
        yield state


async def _seed_ana(url: str) -> None:
    await asyncio.to_thread(upgrade, url)
    database = Database(normalise_database_url(url))
    ana = _user(1001)
    ana.work_end = time(13)
    async with database.session() as session:
        session.add(ana)
        await session.flush()
        await plan_next(session, ana, START)
    await database.close()


async def _planned(bot: Any) -> list[datetime]:
    rows = await bot.query("select planned_at from breaks where kind = 'reminder' "
                           "order by planned_at")
    return [datetime.fromisoformat(str(at)).replace(tzinfo=UTC) for (at,) in rows]


async def _all_text(bot: Any) -> str:
    """Every value in every table of the bot's database, as text."""
    tables = [name for (name,) in await bot.query(
        "select name from sqlite_master where type = 'table'"
        if bot.database_url.startswith("sqlite") else
        "select table_name from information_schema.tables where table_schema = 'public'")]
    dump = []
    for table in tables:
        dump.extend(repr(row) for row in await bot.query(f"select * from {table}"))
    return "\n".join(dump)


async def test_breaks_fall_between_meetings_and_follow_the_feed(
    standin: BotAPIStandIn, run_bot: Any, database_url: str, feed_server: FeedServer,
) -> None:
    await _seed_ana(database_url)
    ana = standin.user(1001)
    clock = FastTime(START, SPEED)
    bot = await run_bot(database_url=database_url, clock_start=START, clock_speed=SPEED,
                        CALENDAR_ALLOW_LOOPBACK="1")
    offset = timedelta(seconds=stagger_for(1001))

    await ana.command("/calendar")
    asked = await ana.next_message(timeout=15)
    assert "private address" in (asked.text or "")
    await ana.send("not a link")
    assert "doesn't look like a web address" in ((await ana.next_message(timeout=15)).text or "")
    await ana.send(feed_server.url)
    saved = await ana.next_message(timeout=15)
    assert SECRET not in (saved.text or "") and "127.0.0.1" in (saved.text or "")
    connected = await ana.next_message(
        timeout=30, predicate=lambda m: "connected" in (m.text or ""))
    assert "Busy times today: 1." in (connected.text or "")

    # The 10:30 break falls inside the meeting: it comes right after it instead.
    await clock.until(madrid(11, 10))
    await ana.wait_until(lambda: len(_reminders(ana)) == 2, timeout=30)
    assert await _planned(bot) == [madrid(9, 30) + offset, madrid(11) + offset]

    # A new meeting over the 12:30 break: the next fetch moves that break to its end.
    feed_server.body = feed(event("standup", "1000", "1100"), event("review", "1215", "1245"))
    fetches = feed_server.fetches
    await clock.until(madrid(12, 50))
    assert feed_server.fetches > fetches
    await ana.wait_until(lambda: len(_reminders(ana)) == 4, timeout=30)
    assert await _planned(bot) == [madrid(9, 30) + offset, madrid(11) + offset,
                                   madrid(11, 30) + offset, madrid(12, 45) + offset]
    # About every 30 minutes: 08:00 to 12:50 is 9 or 10 fetches (and the first right away).
    assert 6 <= feed_server.fetches <= (madrid(12, 50) - START) // FETCH_EVERY + 2

    await ana.command("/calendar")
    status = await ana.next_message(timeout=15,
                                    predicate=lambda m: "Your calendar" in (m.text or ""))
    assert "Last read" in (status.text or "") and SECRET not in (status.text or "")
    assert feed_server.unchanged >= 1  # most fetches found nothing new: no body sent
    assert VERSION in await _all_text(bot)

    await ana.command("/delete")
    confirm = await ana.next_message(timeout=15, predicate=lambda m: "erases" in (m.text or ""))
    assert "calendar address" in (confirm.text or "")
    await ana.press_button(confirm, "Yes, erase everything")
    await ana.wait_until(lambda: "everything about you is erased" in (confirm.text or ""),
                         timeout=15)
    dump = await _all_text(bot)
    assert SECRET not in dump and VERSION not in dump and "busy" not in dump.lower()
    assert await bot.query("select count(*) from calendar_feeds") == [(0,)]
    assert await bot.query("select count(*) from busy_times") == [(0,)]
    assert await bot.stop() == 0
    assert SECRET not in bot.log, "the address was logged"
    assert VERSION not in bot.log, "the feed's validators were logged"
