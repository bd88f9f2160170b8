"""Runs the bot.

    python -m bot              # long polling (migrations first)
    python -m bot migrate      # apply migrations and exit
    python -m bot web          # webhook mode on $PORT (several instances may run)
    python -m bot dispatch     # send due messages only (extra dispatcher process)

Configuration comes from the environment; see README.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from telegram.error import InvalidToken, NetworkError

from bot.config import (
    DEFAULT_DATABASE_URL,
    ConfigError,
    Settings,
    load_settings,
    normalise_database_url,
)
from bot.domain.clock import Clock, FastClock, system_clock
from bot.domain.content import ContentError, load_program
from bot.logs import setup_logging
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from handlers.turn import Services

log = logging.getLogger("bot")

USAGE = "usage: python -m bot [run|migrate|web|dispatch]"


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


def _prepare(url: str) -> None:
    """Reaches the database and brings its schema up to date, or stops with one line."""
    try:
        asyncio.run(_check_database(url))
        upgrade(url)
    except (OperationalError, DBAPIError, OSError, ArgumentError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        _fail(f"cannot use the database at DATABASE_URL ({reason})", code=1)


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "run"
    if mode not in ("run", "migrate", "web", "dispatch"):
        _fail(USAGE)
    if mode == "migrate":
        # The release step needs only the database, not the bot's token.
        try:
            url = normalise_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        except ValueError as exc:
            _fail(f"DATABASE_URL is invalid ({exc})")
        setup_logging(os.environ.get("LOG_LEVEL", "INFO").upper(), token="")
        _prepare(url)
        log.info("database is up to date")
        return
    try:
        settings = load_settings()
    except ConfigError as exc:
        _fail(str(exc))
    if mode == "web" and not (settings.webhook_url and settings.webhook_secret):
        _fail("webhook mode needs WEBHOOK_URL (the public https address of this app) and "
              "WEBHOOK_SECRET (a random string of 16+ letters, digits, _ or -)")
    setup_logging(settings.log_level, settings.telegram_bot_token)
    _prepare(settings.database_url)
    try:
        program = load_program()
    except ContentError as exc:
        _fail(f"the stretch content is broken: {exc}")
    services = Services(settings, Database(settings.database_url,
                                           settings.database_pool_size),
                        _clock(settings), program)
    from bot.adapter.app import run_dispatcher_only, run_polling
    from bot.adapter.web import run_webhook

    try:
        if mode == "dispatch":
            run_dispatcher_only(services)
        elif mode == "web":
            run_webhook(services)
        else:
            log.info("starting long polling")
            run_polling(services)
    except InvalidToken:
        _fail("Telegram refused TELEGRAM_BOT_TOKEN: check it with BotFather")
    except NetworkError as exc:
        # Start-up could not reach Telegram; the platform restarts the process.
        where = settings.telegram_api_base_url or "api.telegram.org"
        _fail(f"cannot reach the Telegram Bot API at {where} ({exc})", code=1)


if __name__ == "__main__":
    main(sys.argv[1:])
