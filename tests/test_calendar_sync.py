"""Fetching feeds in the background: busy times stored and breaks planned again; a failing
feed keeps its last good busy times and the user is told once, after a day; a feed the
server says is unchanged (304) is not downloaded again; fetches are spread over the half
hour."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta

import pytest
from aiohttp import web
from sqlalchemy import select

from bench.common import local_http
from bot.config import load_settings
from bot.domain.clock import ManualClock
from bot.domain.content import load_program
from bot.outbox.dispatcher import Send, Skip
from bot.storage.db import Database
from bot.storage.models import BusyTime, CalendarFeed, DueMessage, User
from handlers.calendar import EXPAND_AGAIN, FETCH_EVERY, NoticeJob, next_fetch, sync_feeds
from handlers.calendar_fetch import new_client
from handlers.planning import next_planned
from handlers.turn import Services
from tests.conftest import TOKEN

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 08:00 in Madrid
SECRET = "private-00112233445566778899aabbccddeeff"
ICS = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\n"
       b"DTSTART;TZID=Europe/Madrid:20261130T100000\r\n"
       b"DTEND;TZID=Europe/Madrid:20261130T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


class Server:
    """The feed server: what it answers, where; the If-None-Match of every request and how
    many bodies it sent."""

    def __init__(self) -> None:
        self.status = 200
        self.body = ICS
        self.etag: str | None = None  # None: it sends no validators
        self.url = ""
        self.asked: list[str | None] = []
        self.bodies = 0


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()

    async def serve(request: web.Request) -> web.Response:
        state.asked.append(request.headers.get("If-None-Match"))
        if state.status != 200:
            return web.Response(status=state.status, text="down")
        if state.etag is not None and request.headers.get("If-None-Match") == state.etag:
            return web.Response(status=304, headers={"ETag": state.etag})
        state.bodies += 1
        headers = {"ETag": state.etag} if state.etag is not None else {}
        return web.Response(body=state.body, content_type="text/calendar", headers=headers)

    app = web.Application()
    app.router.add_get(f"/{SECRET}/basic.ics", serve)
    async with local_http(app) as base:
        state.url = f"{base}/{SECRET}/basic.ics"
        yield state


async def _user_with_feed(database: Database, database_url: str,
                          server: Server) -> tuple[Services, ManualClock]:
    clock = ManualClock(NOW)
    services = Services(load_settings(telegram_bot_token=TOKEN, database_url=database_url,
                                      calendar_allow_loopback=True, _env_file=None),
                        database, clock, load_program())
    async with database.session() as session:
        session.add(User(id=7, chat_id=7, created_at=NOW, consented_at=NOW, onboarded_at=NOW,
                         active=True, draft={}, time_zone="Europe/Madrid", work_days=0b11111,
                         work_start=time(9), work_end=time(17), breaks_per_day=4,
                         place="desk", screening=[]))
        await session.flush()
        session.add(CalendarFeed(user_id=7, url=server.url, added_at=NOW, next_fetch_at=NOW))
    return services, clock


async def _busy(database: Database) -> list[tuple[datetime, datetime]]:
    async with database.session() as session:
        rows = await session.execute(
            select(BusyTime.starts_at, BusyTime.ends_at).order_by(BusyTime.starts_at))
        return [(row.starts_at, row.ends_at) for row in rows]


async def test_a_failing_feed_keeps_its_busy_times_and_the_user_is_told_once(
        database: Database, database_url: str, server: Server) -> None:
    services, clock = await _user_with_feed(database, database_url, server)
    async with new_client() as client:
        await sync_feeds(services, client)
        async with database.session() as session:
            busy = list((await session.execute(
                select(BusyTime.starts_at, BusyTime.ends_at))).all())
            # The 10:00 (Madrid) break is inside the meeting: planned for its end instead.
            assert [tuple(row) for row in busy] == [(NOW + timedelta(hours=2),
                                                     NOW + timedelta(hours=3))]
            planned = await next_planned(session, 7)
            assert planned is not None and NOW + timedelta(hours=3) <= planned \
                < NOW + timedelta(hours=3, minutes=4)

        server.status = 500
        for _step in range(2 * 26):  # 26 hours of fetches every half hour
            clock.now += FETCH_EVERY
            await sync_feeds(services, client)

    # A server without validators is asked plainly every time.
    assert server.asked == [None] * (1 + 2 * 26) and server.bodies == 1
    async with database.session() as session:
        feed = await session.get(CalendarFeed, 7)
        assert feed is not None and feed.error == "http_500"
        assert feed.fetched_at == NOW and feed.failure_told_at is not None
        assert feed.etag is None and feed.last_modified is None
        assert len(list(await session.scalars(select(BusyTime)))) == 1  # the last good ones
        notices = list(await session.scalars(
            select(DueMessage).where(DueMessage.kind == "calendar").order_by(DueMessage.id)))
        assert [row.payload["what"] for row in notices] == ["connected", "failing"]
        user = await session.get(User, 7)
        assert user is not None
        action = await NoticeJob().prepare(session, notices[1], user, clock.now)
        assert isinstance(action, Send)
        text = action.reply.text
        assert "for a day" in text and "error 500" in text and "keep trying" in text
        assert "127.0.0.1 …" in text
        assert SECRET not in text
        # Removed meanwhile: nothing is said.
        await session.delete(feed)
        await session.flush()
        assert isinstance(await NoticeJob().prepare(session, notices[1], user, clock.now), Skip)


async def test_an_unchanged_feed_is_not_downloaded_again_and_a_changed_one_is_read(
        database: Database, database_url: str, server: Server,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    version = '"v1-5f0e1d2c"'
    server.etag = version
    services, clock = await _user_with_feed(database, database_url, server)
    meeting = [(NOW + timedelta(hours=2), NOW + timedelta(hours=3))]
    async with new_client() as client:
        await sync_feeds(services, client)
        assert server.asked == [None] and server.bodies == 1
        assert await _busy(database) == meeting

        server.status = 500  # one failed try, then the server has nothing newer
        clock.now += FETCH_EVERY
        await sync_feeds(services, client)
        server.status = 200
        clock.now += FETCH_EVERY
        await sync_feeds(services, client)
        assert server.asked[-1] == version and server.bodies == 1  # a 304: no body
        async with database.session() as session:
            feed = await session.get(CalendarFeed, 7)
            assert feed is not None and feed.fetched_at == clock.now
            assert feed.error is None and feed.failing_since is None
        assert await _busy(database) == meeting

        # A new version: read and planned again.
        server.body = ICS.replace(b"END:VCALENDAR", b"BEGIN:VEVENT\r\nUID:b\r\n"
                                  b"DTSTART;TZID=Europe/Madrid:20261130T150000\r\n"
                                  b"DTEND;TZID=Europe/Madrid:20261130T153000\r\n"
                                  b"END:VEVENT\r\nEND:VCALENDAR")
        server.etag = '"v2-6a7b8c9d"'
        clock.now += FETCH_EVERY
        await sync_feeds(services, client)
        assert server.asked[-1] == version and server.bodies == 2
        assert await _busy(database) == meeting + [
            (NOW + timedelta(hours=7), NOW + timedelta(hours=7, minutes=30))]

        # When the days ahead are due to be expanded anew, the body is asked for in full.
        clock.now += EXPAND_AGAIN
        await sync_feeds(services, client)
        assert server.asked[-1] is None and server.bodies == 3
    async with database.session() as session:
        feed = await session.get(CalendarFeed, 7)
        assert feed is not None and feed.etag == server.etag and feed.error is None
    assert "v1-5f0e1d2c" not in caplog.text and "v2-6a7b8c9d" not in caplog.text
    assert "http_500" in caplog.text  # the failure was logged, without the validators


def test_fetches_are_spread_evenly_over_the_half_hour() -> None:
    second = timedelta(seconds=1)  # the next fetch is after now, at most a period later
    minutes = Counter((next_fetch(user_id, NOW) - NOW - second) // timedelta(minutes=1)
                      for user_id in range(1, 30_001))
    assert sorted(minutes) == list(range(30))
    assert max(minutes.values()) < 1.15 * min(minutes.values())
    for user_id in (1, 42, 10**9):
        first = next_fetch(user_id, NOW)
        assert NOW < first <= NOW + FETCH_EVERY
        assert next_fetch(user_id, first) == first + FETCH_EVERY
