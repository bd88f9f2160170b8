"""Runs the bot.

    python -m bot              # long polling (migrations first)
    python -m bot migrate      # apply migrations and exit
    python -m bot dispatch     # send due messages only (extra dispatcher process)

Configuration comes from the environment; see README.md.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from bot.clock import Clock, FastClock, system_clock
from bot.config import ConfigError, Settings, load_settings
from bot.content import ContentError, load_program
from bot.db import Database
from bot.logs import setup_logging
from bot.migrate import upgrade
from bot.services import Services

log = logging.getLogger("bot")

USAGE = "usage: python -m bot [run|migrate|dispatch]"


def _fail(message: str, code: int = 2) -> None:
    print(f"move-better: {message}", file=sys.stderr)
    raise SystemExit(code)


def _clock(settings: Settings) -> Clock:
    if settings.clock_start is not None:
        return FastClock(settings.clock_start, settings.clock_speed)
    return system_clock


async def _check_database(url: str) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
    finally:
        await database.close()


def _prepare(settings: Settings) -> None:
    """Reaches the database and brings its schema up to date, or stops with one line."""
    try:
        asyncio.run(_check_database(settings.database_url))
        upgrade(settings.database_url)
    except (OperationalError, DBAPIError, OSError, ArgumentError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        _fail(f"cannot use the database at DATABASE_URL ({reason})", code=1)


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "run"
    if mode not in ("run", "migrate", "dispatch"):
        _fail(USAGE)
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    setup_logging(settings.log_level, settings.telegram_bot_token)
    _prepare(settings)
    if mode == "migrate":
        log.info("database is up to date")
        return
    try:
        program = load_program()
    except ContentError as exc:
        _fail(f"the stretch content is broken: {exc}")
    services = Services(settings, Database(settings.database_url,
                                           settings.database_pool_size),
                        _clock(settings), program)
    from bot.app import build_application, run_dispatcher_only

    if mode == "dispatch":
        run_dispatcher_only(services)
        return
    application = build_application(services)
    log.info("starting long polling")
    application.run_polling(stop_signals=(signal.SIGINT, signal.SIGTERM),
                            allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    main(sys.argv[1:])
