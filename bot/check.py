"""`python -m bot check`: is this deployment ready? Run it before pointing users at the bot.

    python -m bot check          # settings, database, migrations, content, pictures, token
    python -m bot check web      # the same, and the webhook settings

Prints one line per check and stops at the first failure with what to fix; exits 0 when
everything passed, 1 otherwise. It changes nothing (no migration, no webhook, no profile).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from alembic.util import CommandError
from telegram.error import InvalidToken, TelegramError

from bot.adapter.app import who_am_i
from bot.config import WRONG_TOKEN, ConfigError, Settings, load_settings
from bot.domain.content import CONTENT_DIR, ContentError, load_program
from bot.domain.pictures import PICTURES_FILE, load_pictures
from bot.storage.db import Database
from bot.storage.migrate import current_revision, missing

PROBE_TIMEOUT = 10.0
TELEGRAM_PHOTO_LIMIT = 10 * 1024 * 1024
# What each picture file must start with.
PICTURE_SIGNATURES = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",),
                      ".jpeg": (b"\xff\xd8\xff",), ".gif": (b"GIF87a", b"GIF89a"),
                      ".webp": (b"RIFF",)}


class Failed(Exception):
    """A check failed; the message says what is wrong and what to do."""


def run_checks(args: list[str], say: Callable[[str], None] = print) -> int:
    web = args[:1] == ["web"]
    try:
        settings = load_settings()
    except ConfigError as exc:
        say(f"FAIL settings: {exc}")
        return 1
    web = web or bool(settings.webhook_url)
    operators = (f"operators in ADMIN_USER_IDS: {len(settings.admin_user_ids)}"
                 if settings.admin_user_ids else
                 "no operators: set ADMIN_USER_IDS to use /stats and /invite")
    say(f"ok   settings ({'webhook' if web else 'long polling'} mode, {operators})")
    checks: list[tuple[str, Callable[[Settings], str]]] = [
        ("database", lambda s: asyncio.run(_database(s))),
        ("content", _content),
        ("pictures", lambda _s: _pictures(CONTENT_DIR)),
        ("Telegram", lambda s: asyncio.run(_token(s))),
    ]
    if web:
        checks.append(("webhook", _webhook))
    for name, check in checks:
        try:
            say(f"ok   {name}: {check(settings)}")
        except Failed as exc:
            say(f"FAIL {name}: {exc}")
            return 1
    say(f"All checks passed: start the bot with `python -m bot{' web' if web else ''}`.")
    return 0


async def _database(settings: Settings) -> str:
    database = Database(settings.database_url)
    where = settings.database_url.split("://", 1)[0].split("+")[0]
    try:
        current = await asyncio.wait_for(current_revision(database), PROBE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - any failure is reported in one line
        reason = (str(getattr(exc, "orig", None) or exc).splitlines() or [type(exc).__name__])
        raise Failed(f"cannot use the database at DATABASE_URL ({reason[0]}): check "
                     f"DATABASE_URL and that the database is running") from None
    finally:
        await database.close()
    try:
        behind = missing(settings.database_url, current)
    except CommandError:
        raise Failed(f"the database is at migration {current}, which this version does not "
                     f"know: a newer version of the bot migrated it; deploy that version") \
            from None
    if behind:
        plural = "s" if len(behind) != 1 else ""
        raise Failed(f"{where} reachable, but {len(behind)} migration{plural} behind (at "
                     f"{current or 'no migration yet'}, latest {behind[0]}): run "
                     f"`python -m bot migrate`")
    return f"{where} reachable, at the latest migration ({current})"


def _content(_settings: Settings) -> str:
    try:
        program = load_program(CONTENT_DIR)
    except ContentError as exc:
        raise Failed(f"{exc}: fix that file (see content/README.md)") from None
    positions = sum(len(stretch.positions) for stretch in program.stretches)
    return (f"{len(program.stretches)} stretches, {positions} positions, "
            f"{len(program.assessment.questions)} self-check questions")


def _pictures(folder: Path) -> str:
    # The illustrations are drawn from pose data: a broken pose stops the start like bad text.
    try:
        drawn = load_pictures(load_program(folder), folder)
    except ContentError as exc:
        raise Failed(f"{exc}: fix that file (see content/README.md)") from None
    pictures = sorted(path for path in folder.rglob("*")
                      if path.suffix.lower() in PICTURE_SIGNATURES)
    for path in pictures:
        data = path.read_bytes()
        if not data.startswith(PICTURE_SIGNATURES[path.suffix.lower()]):
            raise Failed(f"{path} is not a {path.suffix.lower()[1:].upper()} picture: "
                         f"export it again")
        if len(data) > TELEGRAM_PHOTO_LIMIT:
            raise Failed(f"{path} is over Telegram's 10 MB limit for photos: make it smaller")
    files = f"{len(pictures)} picture files valid" if pictures else "no picture files"
    return f"{len(drawn.keys())} drawn from {PICTURES_FILE}, {files}"


async def _token(settings: Settings) -> str:
    where = settings.telegram_api_base_url or "api.telegram.org"
    try:
        username = await asyncio.wait_for(who_am_i(settings), PROBE_TIMEOUT)
    except InvalidToken:
        raise Failed(WRONG_TOKEN) from None
    except (TelegramError, TimeoutError) as exc:
        raise Failed(f"cannot reach the Telegram Bot API at {where} ({exc or 'timed out'}): "
                     f"check the network or TELEGRAM_API_BASE_URL") from None
    return f"the token is accepted; this is @{username}"


def _webhook(settings: Settings) -> str:
    if not settings.webhook_url or not settings.webhook_secret:
        raise Failed("webhook mode needs WEBHOOK_URL (the public https address of this app) "
                     "and WEBHOOK_SECRET (e.g. from `openssl rand -hex 32`)")
    url = urlsplit(settings.webhook_url)
    if url.scheme != "https" or not url.hostname:
        raise Failed(f"WEBHOOK_URL must be an https:// address (Telegram posts only to "
                     f"https), not {settings.webhook_url!r}")
    if url.query or url.fragment:
        raise Failed("WEBHOOK_URL must not have a ?query or #fragment: WEBHOOK_PATH is added "
                     "to it")
    if not settings.webhook_path.startswith("/"):
        raise Failed(f"WEBHOOK_PATH must start with / (got {settings.webhook_path!r})")
    if not 1 <= settings.port <= 65535:
        raise Failed(f"PORT must be between 1 and 65535 (got {settings.port})")
    return (f"Telegram will post to {settings.webhook_url.rstrip('/')}"
            f"{settings.webhook_path}, with the secret; listening on port {settings.port}")
