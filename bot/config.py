"""Configuration from the environment (and an optional `.env`), in one settings class.

    settings = load_settings()          # raises ConfigError with a one-line message
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_PATTERN = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{30,}$")
DEFAULT_DATABASE_URL = f"sqlite+aiosqlite:///{Path.cwd() / 'move_better.db'}"


WRONG_TOKEN = ("Telegram refused TELEGRAM_BOT_TOKEN (401 Unauthorized): copy it again from "
               "BotFather")


class ConfigError(Exception):
    """A setting is missing or wrong; the message says what to set."""


def normalise_database_url(url: str) -> str:
    """Map the URLs operators are given onto SQLAlchemy's async drivers.

    Heroku-style platforms hand out `postgres://…?sslmode=require`, which SQLAlchemy 2
    rejects and asyncpg does not understand (it wants `ssl=`).
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if "sslmode" in query:
            query["ssl"] = query.pop("sslmode")
        return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        # urlunsplit would drop the empty host of sqlite:///path.
        return "sqlite+aiosqlite" + url[len(parts.scheme) :]
    raise ValueError(f"it must start with postgres://, postgresql:// or sqlite:// "
                     f"(got {scheme or url!r})")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    telegram_bot_token: str = Field(repr=False)
    telegram_api_base_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    log_level: str = "INFO"
    # Shown in safety and summary messages when the operator runs a studio.
    studio_name: str | None = None
    studio_contact: str | None = None
    # How often the dispatcher looks for due messages even when nothing woke it.
    dispatch_interval_seconds: float = 15.0
    # Telegram allows a bot about 30 messages a second in all: with N instances sending due
    # messages, give each 30/N or less (a 429 is survived, but delays everyone).
    dispatch_messages_per_second: float = 25.0
    # How long a claimed due message is ours (real seconds, on the database's clock): an
    # instance killed mid-send leaves its rows to the others this long after its last renewal.
    dispatch_lease_seconds: float = Field(default=90.0, gt=0)
    # How often a running hold's countdown is updated in place (best effort).
    countdown_seconds: float = Field(default=20.0, gt=0)
    database_pool_size: int = 5
    # Webhook mode (`python -m bot web`): Telegram posts updates to WEBHOOK_URL, which must
    # reach this process on PORT at WEBHOOK_PATH; WEBHOOK_SECRET proves a request is Telegram's.
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    webhook_path: str = "/telegram"
    port: int = 8080
    # At start-up, how long to keep trying to reach Telegram and the database before giving
    # up (exit 1): platforms may start the process before its network is ready.
    startup_timeout_seconds: float = Field(default=120.0, ge=0)
    # Reminders: how long an unanswered one stays open, and how late one may still go out.
    reminder_expiry_minutes: int = 30
    late_grace_minutes: int = 20
    # For the playground and end-to-end tests only: start the clock at this instant and
    # run it this many times faster than real time.
    clock_start: datetime | None = None
    # The real instant at which that clock read clock_start (default: when the process
    # started); several processes given the same one keep the same time.
    clock_started_at: datetime | None = None
    # Tests only: lets calendar feeds be fetched from http://127.0.0.1:<port>/. Must stay off
    # in production, where it would let users make the bot fetch from its own machine.
    calendar_allow_loopback: bool = False
    # How often each user's calendar feed is fetched again.
    calendar_fetch_minutes: float = Field(default=30.0, gt=0)
    # Where the city-name index file is kept (built once, rebuilt after an upgrade of the
    # place data). Unset: $XDG_CACHE_HOME/move-better or ~/.cache/move-better.
    places_cache_dir: Path | None = None
    clock_speed: float = 1.0

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        value = value.strip()
        if not TOKEN_PATTERN.match(value):
            raise ValueError("malformed")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in re.split(r"[,\s]+", value) if part)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: str | None) -> str | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value):
            raise ValueError("use 16 to 256 letters, digits, _ or -")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value


_HINTS = {
    "telegram_bot_token": "set TELEGRAM_BOT_TOKEN to the token BotFather gave you "
    "(it looks like 123456789:AA…)",
    "database_url": "set DATABASE_URL to a postgres:// or sqlite:// URL, or leave it unset",
    "admin_user_ids": "set ADMIN_USER_IDS to Telegram user ids separated by commas",
    "startup_timeout_seconds": "set STARTUP_TIMEOUT_SECONDS to a number of seconds (0: try "
    "once)",
    "webhook_secret": "set WEBHOOK_SECRET to a random string, e.g. from `openssl rand -hex 32`",
}


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning validation errors into one line for the operator."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        if error["type"] == "missing":
            hint = _HINTS.get(field, "set it")
            raise ConfigError(f"{field.upper()} is not set: {hint}") from None
        detail = str(error.get("ctx", {}).get("error", error["msg"]))
        hint = _HINTS.get(field, f"check {field.upper()}")
        raise ConfigError(f"{field.upper()} is invalid ({detail}): {hint}") from None
