"""Shared fixtures: databases (SQLite file and the real PostgreSQL), the Bot API stand-in,
and the real bot process running against it.

PostgreSQL tests use the server at MOVEBETTER_TEST_PG_URL (default: 127.0.0.1:5432, database
`test`), each in a fresh database of its own. If the server cannot be reached they fail;
deselect them explicitly with `-m "not postgres"`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from sqlalchemy import text

from bot.config import normalise_database_url
from bot.storage.db import Database
from bot.storage.migrate import upgrade

if TYPE_CHECKING:
    from standin import BotAPIStandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:AAEtestTOKENtestTOKENtestTOKEN12345"
PG_URL = os.environ.get(
    "MOVEBETTER_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
    upgrade(url)
    return url


async def _fresh_pg_database() -> str:
    name = f"mb_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL at {PG_URL} is not reachable ({exc}); start it or run "
                    f'pytest -m "not postgres"')
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


async def _drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(_asyncpg_dsn(PG_URL), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await _fresh_pg_database()
    await asyncio.to_thread(upgrade, url)
    yield url
    await _drop_pg_database(url)


@pytest.fixture
async def empty_pg_url() -> AsyncIterator[str]:
    """A PostgreSQL database with no tables, for migration tests."""
    url = await _fresh_pg_database()
    yield url
    await _drop_pg_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of each kind: tests using it run on both."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bot.storage.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url
    else:
        url = await _fresh_pg_database()
        await asyncio.to_thread(upgrade, url)
        yield url
        await _drop_pg_database(url)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.close()


@pytest.fixture
async def standin() -> AsyncIterator[BotAPIStandIn]:
    from standin import BotAPIStandIn

    server = BotAPIStandIn(token=TOKEN)
    await server.start()
    yield server
    await server.stop()


class BotProcess:
    """The real `python -m bot` in a subprocess, talking to the stand-in over HTTP."""

    def __init__(self, env: dict[str, str], log_path: Path, args: tuple[str, ...] = ()) -> None:
        self.env = env
        self.log_path = log_path
        self.args = args
        self.process: asyncio.subprocess.Process | None = None
        self.database_url = normalise_database_url(env["DATABASE_URL"])

    async def start(self, **env: str) -> BotProcess:
        self.env.update(env)
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *self.args, env=self.env, cwd=str(self.log_path.parent),
            stdout=log, stderr=log,
        )
        return self

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            return await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"the bot did not exit within {timeout}s:\n{self.log}") from None

    async def kill(self) -> None:
        await self.stop(signal.SIGKILL)

    async def query(self, sql: str, **params: Any) -> list[Any]:
        """Reads the bot's database directly, as an operator would."""
        db = Database(self.database_url)
        try:
            async with db.session() as session:
                return list((await session.execute(text(sql), params)).all())
        finally:
            await db.close()


RunBot = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def run_bot(
    standin: BotAPIStandIn, tmp_path: Path
) -> AsyncIterator[RunBot]:
    """Starts the bot; `await run_bot(CLOCK_START=..., CLOCK_SPEED="60")` sets extra env."""
    started: list[BotProcess] = []

    async def run(
        *args: str, database_url: str | None = None, wait_ready: bool = True,
        clock_start: datetime | None = None, clock_speed: float | None = None, **extra: str,
    ) -> BotProcess:
        env = {
            key: value for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "CLOCK_START", "CLOCK_SPEED")
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=standin.base_url,
            DATABASE_URL=database_url or f"sqlite:///{tmp_path / 'bot.storage.db'}",
            LOG_LEVEL="INFO",
            PYTHONPATH=str(ROOT),
            DISPATCH_INTERVAL_SECONDS="5",
        )
        if clock_start is not None:
            env["CLOCK_START"] = clock_start.isoformat()
        if clock_speed is not None:
            env["CLOCK_SPEED"] = str(clock_speed)
        env.update(extra)
        bot = BotProcess(env, tmp_path / f"bot-{len(started)}.log", args)
        calls_before = len(standin.calls)
        await bot.start()
        started.append(bot)
        if wait_ready:
            await _wait_ready(standin, bot, calls_before)
        return bot

    yield run
    for bot in started:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()


async def _wait_ready(standin: BotAPIStandIn, bot: BotProcess, calls_before: int) -> None:
    """Waits for the bot's first getUpdates: from then on it answers users."""
    for _ in range(600):
        if any(call.method.lower() == "getupdates" for call in standin.calls[calls_before:]):
            return
        if bot.process is not None and bot.process.returncode is not None:
            raise AssertionError(f"the bot exited with {bot.process.returncode}:\n{bot.log}")
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never polled for updates:\n{bot.log}")
