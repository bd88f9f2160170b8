"""Runs the bot.

    python -m bot              # long polling (migrations first)
    python -m bot migrate      # apply migrations and exit
    python -m bot web          # webhook mode on $PORT (several instances may run)
    python -m bot dispatch     # send due messages only (extra dispatcher process)
    python -m bot check        # check a deployment before going live (bot/check.py)

Configuration comes from the environment; see README.md.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import NoReturn, TypeVar

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.config import (
    DEFAULT_DATABASE_URL,
    WRONG_TOKEN,
    ConfigError,
    Settings,
    load_settings,
    normalise_database_url,
)
from bot.domain.clock import Clock, FastClock, system_clock
from bot.domain.content import ContentError, load_program
from bot.domain.pictures import load_pictures
from bot.logs import setup_logging
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from handlers.places import Places
from handlers.turn import Services

log = logging.getLogger("bot")

USAGE = "usage: python -m bot [run|migrate|web|dispatch|check]"
T = TypeVar("T")
# Start-up retries: the first after a second, doubling up to this, until the time is up.
MAX_DELAY = 15.0
PROBE_TIMEOUT = 10.0  # one attempt at reaching Telegram or the database


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"move-better: {message}", file=sys.stderr)
    raise SystemExit(code)


def _clock(settings: Settings) -> Clock:
    if settings.clock_start is not None:
        return FastClock(settings.clock_start, settings.clock_speed,
                         settings.clock_started_at)
    return system_clock


async def _check_database(url: str) -> None:
    database = Database(url)
    try:
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
    finally:
        await database.close()


class Unreachable(Exception):
    """Still unreachable when start-up's time ran out; the message is the final line."""


async def patiently(what: str, probe: Callable[[], Awaitable[T]],
                    unreachable: Callable[[BaseException], str | None], timeout: float) -> T:
    """`probe()`'s result, trying again with backoff while `unreachable(error)` names a
    reason (one log line per attempt), for up to `timeout` seconds; other errors raise."""
    loop = asyncio.get_running_loop()
    deadline, delay, attempt = loop.time() + timeout, 1.0, 1
    while True:
        try:
            return await asyncio.wait_for(probe(), PROBE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - sorted just below
            reason = unreachable(exc)
            if reason is None:
                raise
            left = deadline - loop.time()
            if left <= 0:
                raise Unreachable(f"cannot reach {what} ({reason}); gave up after {attempt} "
                                  f"attempts in {timeout:g} s (STARTUP_TIMEOUT_SECONDS)") from None
            wait = min(delay, left)
            if isinstance(exc, RetryAfter):  # flood control says how long to wait
                after = exc.retry_after
                seconds = after.total_seconds() if isinstance(after, timedelta) else after
                wait = min(max(wait, float(seconds)), left)
            log.warning("%s is not reachable yet (%s); attempt %d, trying again in %.0f s",
                        what, reason, attempt, wait)
            await asyncio.sleep(wait)
            delay, attempt = min(delay * 2, MAX_DELAY), attempt + 1


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def database_down(exc: BaseException) -> str | None:
    """Why the database cannot be reached for now, or None if it is something else (a wrong
    password, a missing database, a bad path: settings to fix, not worth waiting for)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError | asyncpg.CannotConnectNowError |
                      asyncpg.TooManyConnectionsError):
            return _first_line(seen)
        seen = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
    return None


def telegram_down(exc: BaseException) -> str | None:
    """Why the Bot API cannot be reached for now (network, timeouts, 5xx, flood control)."""
    if isinstance(exc, InvalidToken):
        return None
    if isinstance(exc, NetworkError | RetryAfter | TimeoutError):
        return _first_line(exc)
    return None


def _prepare(url: str, timeout: float) -> None:
    """Reaches the database (waiting for it up to `timeout`) and brings its schema up to
    date, or stops with one line: exit 1 if it stayed unreachable, 2 if a setting is wrong."""
    try:
        asyncio.run(patiently("the database", lambda: _check_database(url), database_down,
                              timeout))
        upgrade(url)
    except Unreachable as exc:
        _fail(f"{exc}: check that the database at DATABASE_URL is running", code=1)
    except (OperationalError, DBAPIError, OSError, ArgumentError) as exc:
        reason = _first_line(getattr(exc, "orig", None) or exc)
        _fail(f"cannot use the database at DATABASE_URL ({reason}): check DATABASE_URL",
              code=1 if database_down(exc) else 2)


def _wait_for_telegram(settings: Settings) -> str:
    """The bot's @name once Telegram answers, or stops with one line (2: wrong token)."""
    from bot.adapter.app import who_am_i

    where = settings.telegram_api_base_url or "api.telegram.org"
    try:
        return asyncio.run(patiently(f"the Telegram Bot API at {where}",
                                     lambda: who_am_i(settings), telegram_down,
                                     settings.startup_timeout_seconds))
    except InvalidToken:
        _fail(WRONG_TOKEN)
    except Unreachable as exc:
        _fail(str(exc), code=1)
    except TelegramError as exc:
        _fail(f"Telegram refused to start the bot ({_first_line(exc)})", code=1)


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "run"
    if mode not in ("run", "migrate", "web", "dispatch", "check"):
        _fail(USAGE)
    if mode == "check":
        from bot.check import run_checks

        raise SystemExit(run_checks(argv[1:]))
    if mode == "migrate":
        # The release step needs only the database, not the bot's token.
        try:
            url = normalise_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
        except ValueError as exc:
            _fail(f"DATABASE_URL is invalid ({exc})")
        setup_logging(os.environ.get("LOG_LEVEL", "INFO").upper(), token="")
        try:
            timeout = float(os.environ.get("STARTUP_TIMEOUT_SECONDS") or 120)
        except ValueError:
            _fail("STARTUP_TIMEOUT_SECONDS is invalid: set it to a number of seconds")
        _prepare(url, timeout)
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
    try:
        program = load_program()
        # Checked now like the rest of the content; drawn only when first uploaded.
        pictures = load_pictures(program)
    except ContentError as exc:
        _fail(f"the stretch content is broken: {exc}")
    # The token first: a wrong one is the likeliest mistake, and it is not worth waiting for.
    log.info("Telegram accepts the token: this is @%s", _wait_for_telegram(settings))
    _prepare(settings.database_url, settings.startup_timeout_seconds)
    services = Services(settings, Database(settings.database_url,
                                           settings.database_pool_size),
                        _clock(settings), program, pictures,
                        places=Places(cache_dir=settings.places_cache_dir))
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
        _fail(WRONG_TOKEN)
    except NetworkError as exc:
        # Start-up could not reach Telegram; the platform restarts the process.
        where = settings.telegram_api_base_url or "api.telegram.org"
        _fail(f"cannot reach the Telegram Bot API at {where} ({exc})", code=1)


if __name__ == "__main__":
    main(sys.argv[1:])
