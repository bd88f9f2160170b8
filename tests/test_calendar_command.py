"""/calendar in the real application (in-process): clear answers to bad addresses, the
status shows only the host and last 4 characters, Remove forgets everything."""

from __future__ import annotations

from datetime import UTC, datetime, time

from sqlalchemy import func, select

from bot.domain.clock import ManualClock
from bot.storage.db import Database
from bot.storage.models import BusyTime, CalendarFeed, User
from handlers.calendar import sync_feeds
from handlers.calendar_fetch import new_client
from tests.conftest import Chat, data_of, in_process, text_of
from tests.test_calendar_sync import SECRET, Server, server  # noqa: F401 - the fixture

NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


async def _ana(database: Database) -> None:
    async with database.session() as session:
        session.add(User(id=1001, chat_id=1001, created_at=NOW, consented_at=NOW,
                         onboarded_at=NOW, active=True, draft={}, time_zone="Europe/Madrid",
                         work_days=0b11111, work_start=time(9), work_end=time(17),
                         breaks_per_day=4, place="desk", screening=[]))


async def test_calendar_command(
        database: Database, database_url: str, server: Server,  # noqa: F811 - the fixture
) -> None:
    await _ana(database)
    clock = ManualClock(NOW)
    async with in_process(database_url, clock, calendar_allow_loopback=True) as (
            application, request, services):
        ana = Chat(application, request, database)
        assert "private address" in text_of(await ana.command("calendar"))
        for typed, answer in [
            ("my calendar", "doesn't look like a web address"),
            ("http://calendar.example.com/basic.ics", "Only https:// addresses work"),
            ("https://192.168.1.20/basic.ics", "private or local network"),
            ("https://169.254.169.254/latest/meta-data", "private or local network"),
        ]:
            assert answer in text_of(await ana.send(typed)), typed
        async with database.session() as session:
            assert await session.scalar(select(func.count()).select_from(CalendarFeed)) == 0

        saved = text_of(await ana.send(server.url))
        assert "127.0.0.1 …" in saved and SECRET not in saved
        async with new_client() as client:
            await sync_feeds(services, client)
        status = await ana.command("calendar")
        assert "Busy times today: 1." in text_of(status) and SECRET not in text_of(status)
        assert data_of(status) == ["cal:rm"]

        removed = await ana.press("cal:rm")
        assert "forgotten the address" in text_of(removed)
        async with database.session() as session:
            assert await session.scalar(select(func.count()).select_from(CalendarFeed)) == 0
            assert await session.scalar(select(func.count()).select_from(BusyTime)) == 0
        assert "no calendar to remove" in text_of(await ana.press("cal:rm"))
