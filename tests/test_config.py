"""Configuration: what an operator sets and the one-line answers to mistakes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import ConfigError, load_settings, normalise_database_url
from bot.domain.clock import FastClock

TOKEN = "123456789:" + "A" * 35


def test_heroku_postgres_url_maps_to_asyncpg_with_ssl() -> None:
    url = normalise_database_url("postgres://u:secret@db.example.com:5432/app?sslmode=require")
    assert url == "postgresql+asyncpg://u:secret@db.example.com:5432/app?ssl=require"


def test_sqlite_url_keeps_its_absolute_path() -> None:
    assert normalise_database_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"


def test_missing_token_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        load_settings(_env_file=None)


def test_malformed_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is invalid"):
        load_settings(telegram_bot_token="not-a-token", _env_file=None)


def test_unknown_database_scheme_is_refused() -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings(telegram_bot_token=TOKEN, database_url="mysql://x/y", _env_file=None)


def test_admin_ids_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_USER_IDS", "12, 34 56")
    settings = load_settings(telegram_bot_token=TOKEN, _env_file=None)
    assert settings.admin_user_ids == frozenset({12, 34, 56})
    assert TOKEN not in repr(settings)


def test_fast_clocks_started_apart_agree_when_given_one_start_instant() -> None:
    start = datetime(2026, 11, 30, 8, tzinfo=UTC)
    began = time.monotonic()
    # As if this process started ten real seconds after the instant the others were given.
    late = FastClock(start, 60.0, datetime.now(UTC) - timedelta(seconds=10))
    alone = FastClock(start, 60.0)
    late_reads, alone_reads = late(), alone()
    slack = timedelta(seconds=(time.monotonic() - began) * 60 + 1)
    assert timedelta(minutes=10) <= late_reads - start <= timedelta(minutes=10) + slack
    assert timedelta(0) <= alone_reads - start <= slack
