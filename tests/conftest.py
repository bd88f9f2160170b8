"""Shared fixtures: databases (SQLite file and the real PostgreSQL), the Bot API stand-in,
the real bot process running against it, and `Chat`: one user talking to the real
Application in-process (updates built like python-telegram-bot's own tests build them, a
recording request object in place of HTTP), through the real router and route table.

PostgreSQL tests use the server at MOVEBETTER_TEST_PG_URL (default: 127.0.0.1:5432, database
`test`), each in a fresh database of its own. If the server cannot be reached they fail;
deselect them explicitly with `-m "not postgres"`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
import time as wall
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import text
from telegram import Update
from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest, RequestData

from bot.adapter.app import build_application
from bot.config import load_settings, normalise_database_url
from bot.domain.clock import Clock
from bot.domain.content import Program, load_program
from bot.storage.db import Database
from bot.storage.migrate import upgrade
from bot.storage.models import User
from handlers.turn import Services

# A property test checks what its examples do, not how fast: on a busy 2-core machine the
# default 200 ms per example fails tests that are right.
settings.register_profile("shared-machine", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")

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
            if key not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "CLOCK_START", "CLOCK_SPEED",
                           "CLOCK_STARTED_AT")
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
        # Appended before it starts: bots started together each get their own log.
        bot = BotProcess(env, tmp_path / f"bot-{len(started)}.log", args)
        started.append(bot)
        calls_before = len(standin.calls)
        await bot.start()
        if wait_ready:
            await _wait_ready(standin, bot, calls_before)
        return bot

    yield run
    for bot in started:
        if bot.process is not None and bot.process.returncode is None:
            bot.process.kill()
            await bot.process.wait()


async def _wait_ready(standin: BotAPIStandIn, bot: BotProcess, calls_before: int) -> None:
    """Waits for the bot's first getUpdates (held open, or answered): from then on it
    answers users. A generous deadline: a loaded machine can take half a minute to import
    and start the bot."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while loop.time() < deadline:
        if standin.polling or any(call.method.lower() == "getupdates"
                                  for call in standin.calls[calls_before:]):
            return
        if bot.process is not None and bot.process.returncode is not None:
            raise AssertionError(f"the bot exited with {bot.process.returncode}:\n{bot.log}")
        await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never polled for updates:\n{bot.log}")


# ------------------------------------------------------------------------------------------
# In-process: the real Application, updates built here, Bot API calls recorded

BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Move Better",
            "username": "move_better_test_bot", "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
_update_ids = itertools.count(1)
MESSAGE_METHODS = ("sendMessage", "editMessageText", "sendPhoto", "sendDocument")


@dataclass(frozen=True)
class Call:
    method: str
    params: dict[str, Any]
    files: dict[str, Any]  # name -> (filename, content, mime type)
    message_id: int | None  # of the message sent or edited


class RecordingRequest(BaseRequest):
    """Answers every Bot API call like Telegram would and remembers it (PTB's tests' seam)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._message_ids = itertools.count(1)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        files = dict(request_data.multipart_data or {}) if request_data is not None else {}
        result: Any = True
        message_id = None
        if name == "getMe":
            result = BOT_USER
        elif name in MESSAGE_METHODS:
            given = params.get("message_id")
            message_id = given if isinstance(given, int) else next(self._message_ids)
            result = {"message_id": message_id,
                      "date": int(wall.time()), "chat": {"id": params["chat_id"],
                                                         "type": "private"},
                      "from": BOT_USER, "text": params.get("text", "")}
            markup = params.get("reply_markup")
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                result["reply_markup"] = markup
        self.calls.append(Call(name, params, files, message_id))
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self) -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == "sendMessage"]


def _sender(user_id: int, language: str = "en") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": language}


def make_message(user_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
    """A private message from `user_id` as Telegram sends it (a command when text starts
    with "/"); `extra` adds fields such as location or sticker."""
    message: dict[str, Any] = {"message_id": next(_update_ids), "date": int(wall.time()),
                               "chat": {"id": user_id, "type": "private"},
                               "from": _sender(user_id), **extra}
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
    return {"update_id": next(_update_ids), "message": message}


def make_callback(user_id: int, data: str, message_id: int) -> dict[str, Any]:
    """A press of a button with `data` under the bot's message `message_id`."""
    update_id = next(_update_ids)
    return {"update_id": update_id, "callback_query": {
        "id": str(update_id), "chat_instance": "1", "data": data, "from": _sender(user_id),
        "message": {"message_id": message_id, "date": int(wall.time()), "text": "…",
                    "chat": {"id": user_id, "type": "private"}, "from": BOT_USER}}}


@dataclass(frozen=True)
class Key:
    """An inline button as the user sees it."""

    label: str
    data: str


@dataclass(frozen=True)
class Shown:
    """One message the user saw arrive (or change in place, `edit`)."""

    text: str
    buttons: tuple[tuple[Key, ...], ...] = ()
    edit: bool = False
    location_button: str | None = None
    remove_keyboard: bool = False
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None
    message_id: int | None = None


@dataclass
class Seen:
    """Everything one action of the user made appear: messages; for a pressed button,
    whether its spinner was stopped (answerCallbackQuery, before any message)."""

    replies: list[Shown] = field(default_factory=list)
    answered: bool = False


def _shown(call: Call) -> Shown:
    name, params, files = call.method, call.params, call.files
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    rows = tuple(tuple(Key(key["text"], key["callback_data"]) for key in row)
                 for row in markup.get("inline_keyboard", ()))
    location = next((key["text"] for row in markup.get("keyboard", ()) for key in row
                     if isinstance(key, dict) and key.get("request_location")), None)
    upload = next(iter(files.values()), None)
    content = upload[1] if upload is not None else None
    return Shown(
        text=params.get("text") or params.get("caption") or "", buttons=rows,
        edit=name == "editMessageText", location_button=location,
        remove_keyboard=bool(markup.get("remove_keyboard")),
        photo=content if name == "sendPhoto" else None,
        document=content if name == "sendDocument" else None,
        filename=upload[0] if upload is not None else None, message_id=call.message_id)


class Chat:
    """One user's private chat with the real bot in-process: every action is an update
    through `Application.process_update`, the real router and route table, and one database
    transaction; what comes back is what the user would see."""

    def __init__(self, application: Application, request: RecordingRequest,
                 database: Database, user_id: int = 1001) -> None:
        self.application = application
        self.request = request
        self.database = database
        self.user_id = user_id
        self.seen: list[Shown] = []  # every message so far, newest last

    def other(self, user_id: int) -> Chat:
        """Another user of the same bot."""
        return Chat(self.application, self.request, self.database, user_id)

    async def _send(self, payload: dict[str, Any]) -> Seen:
        errors: list[BaseException] = self.application.bot_data.setdefault("test_errors", [])
        errors.clear()
        before = len(self.request.calls)
        await self.application.process_update(Update.de_json(payload, self.application.bot))
        if errors:
            raise errors[0]
        seen = Seen()
        query_id = payload.get("callback_query", {}).get("id")
        for call in self.request.calls[before:]:
            if call.method == "answerCallbackQuery":
                if str(call.params.get("callback_query_id")) != str(query_id):
                    continue  # another update's, handled at the same time
                # Answered once, first, and without a note: the messages carry the outcome.
                assert not seen.answered and not seen.replies and not call.params.get("text")
                seen.answered = True
            elif call.method in MESSAGE_METHODS:
                shown = _shown(call)
                seen.replies.append(shown)
                self.seen.append(shown)
        return seen

    async def command(self, name: str, args: str = "") -> Seen:
        return await self._send(make_message(self.user_id, f"/{name} {args}".strip()))

    async def send(self, typed: str) -> Seen:
        return await self._send(make_message(self.user_id, typed))

    async def share_location(self, latitude: float, longitude: float) -> Seen:
        return await self._send(make_message(
            self.user_id, location={"latitude": latitude, "longitude": longitude}))

    async def send_sticker(self) -> Seen:
        return await self._send(make_message(self.user_id, sticker={
            "file_id": "s1", "file_unique_id": "s1", "width": 512, "height": 512,
            "is_animated": False, "is_video": False, "type": "regular"}))

    async def press(self, data: str, message_id: int | None = None) -> Seen:
        """Presses the button carrying `data` on the newest message that shows it (or on
        `message_id`, or on the newest message for data no message shows: a forgery)."""
        if message_id is None:
            message_id = next((shown.message_id for shown in reversed(self.seen)
                               if any(key.data == data for row in shown.buttons for key in row)),
                              None) or (self.seen[-1].message_id if self.seen else None) or 1
        seen = await self._send(make_callback(self.user_id, data, message_id))
        assert seen.answered, "a pressed button's spinner must stop"
        return seen

    async def user(self) -> User:
        async with self.database.session() as session:
            found = await session.get(User, self.user_id)
            assert found is not None
            return found


def text_of(seen: Seen) -> str:
    return "\n".join(reply.text for reply in seen.replies)


def data_of(seen: Seen) -> list[str]:
    return [key.data for reply in seen.replies for row in reply.buttons for key in row]


async def _record_error(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    context.application.bot_data.setdefault("test_errors", []).append(context.error)


@asynccontextmanager
async def in_process(database_url: str, clock: Clock, program: Program | None = None,
                     **settings: Any) -> AsyncIterator[tuple[Application, RecordingRequest,
                                                             Services]]:
    """The real Application over `database_url`, its requests recorded, no dispatcher (tests
    run their own), errors raised in the test instead of apologised for."""
    database = Database(database_url)
    services = Services(load_settings(telegram_bot_token=TOKEN, database_url=database_url,
                                      _env_file=None, **settings),
                        database, clock, program or load_program())
    request = RecordingRequest()
    application = build_application(services, dispatch=False, polling=False, request=request)
    application.add_error_handler(_record_error)
    await application.initialize()
    services.bot_username = application.bot.username  # what start-up's getMe fills in
    try:
        yield application, request, services
    finally:
        await application.shutdown()
        await database.close()


@pytest.fixture(scope="session")
def city_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A city file built once for the test run (the in-memory index's rows, written)."""
    from bot.storage import cities

    key = cities.content_key()
    path = tmp_path_factory.mktemp("cities") / cities.file_name(key)
    cities.write(path, key)
    return path


@pytest.fixture(params=["memory", "file"])
def city_lookup(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Runs a test of parse_time_zone twice: with the in-memory city index and with the
    file-backed one the bot uses, which must answer alike."""
    if request.param == "file":
        from bot.domain import zones
        from bot.storage import cities

        path: Path = request.getfixturevalue("city_file")
        found = cities.FileCities(path, cities.content_key())
        request.addfinalizer(found.close)
        monkeypatch.setattr(zones, "memory_cities", lambda: found)
    return str(request.param)
