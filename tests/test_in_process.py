"""The real Application in-process: updates through `process_update`, a recording request
object in place of HTTP (as PTB's own tests do), and a real database.
"""

from __future__ import annotations

import json
import time as wall
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot.adapter.app import build_application
from bot.config import load_settings
from bot.domain.content import load_program
from bot.storage.db import Database
from bot.storage.models import User
from handlers.turn import Services

TOKEN = "123456789:" + "A" * 35
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Move Better",
            "username": "move_better_test_bot", "can_join_groups": False,
            "can_read_all_group_messages": False, "supports_inline_queries": False}


class RecordingRequest(BaseRequest):
    """Answers every Bot API call like Telegram would and remembers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._message_id = 0

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
        params = request_data.parameters if request_data is not None else {}
        self.calls.append((name, dict(params)))
        result: Any = True
        if name == "getMe":
            result = BOT_USER
        elif name in ("sendMessage", "editMessageText"):
            self._message_id += 1
            markup = params.get("reply_markup")
            result = {"message_id": params.get("message_id", self._message_id),
                      "date": int(wall.time()), "text": params.get("text", ""),
                      "chat": {"id": params["chat_id"], "type": "private"}, "from": BOT_USER}
            if isinstance(markup, dict) and "inline_keyboard" in markup:
                result["reply_markup"] = markup
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def sent(self) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == "sendMessage"]


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[tuple[Application, RecordingRequest, Database]]:
    database = Database(sqlite_url)
    settings = load_settings(telegram_bot_token=TOKEN, database_url=sqlite_url, _env_file=None)
    request = RecordingRequest()
    application = build_application(Services(settings, database, lambda: NOW, load_program()),
                                    dispatch=False, polling=False, request=request)
    await application.initialize()
    yield application, request, database
    await application.shutdown()
    await database.close()


def _update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id, "date": int(wall.time()), "text": text,
        "chat": {"id": user_id, "type": "private"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "en"}}
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def _press(update_id: int, user_id: int, data: str, message_id: int) -> dict[str, Any]:
    return {"update_id": update_id, "callback_query": {
        "id": str(update_id), "chat_instance": "1", "data": data,
        "from": {"id": user_id, "is_bot": False, "first_name": "Ana"},
        "message": {"message_id": message_id, "date": int(wall.time()), "text": "…",
                    "chat": {"id": user_id, "type": "private"}, "from": BOT_USER}}}


async def test_start_and_consent_through_the_application(
    app: tuple[Application, RecordingRequest, Database],
) -> None:
    application, request, database = app
    await application.process_update(Update.de_json(_update(1, 1001, "/start"), application.bot))
    welcome = request.sent()[-1]
    assert "not medical advice" in welcome["text"]
    assert welcome["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "c:yes"

    await application.process_update(
        Update.de_json(_press(2, 1001, "c:yes", 1), application.bot))
    assert any(name == "answerCallbackQuery" for name, _ in request.calls)
    assert "time zone" in request.sent()[-1]["text"]
    async with database.session() as session:
        user = await session.get(User, 1001)
    assert user is not None and user.consented_at == NOW and user.step == "ob:tz"


async def test_a_forged_button_of_another_user_changes_nothing(
    app: tuple[Application, RecordingRequest, Database],
) -> None:
    application, request, _database = app
    for update_id, user_id in ((1, 1001), (2, 1002)):
        await application.process_update(
            Update.de_json(_update(update_id, user_id, "/start"), application.bot))
    # 1002 presses "erase" on a message id of 1001's chat: only 1002's own rows go.
    await application.process_update(
        Update.de_json(_press(3, 1002, "del:yes", 1), application.bot))
    async with _database.session() as session:
        assert await session.get(User, 1001) is not None
        assert await session.get(User, 1002) is None
    assert "erased" in [params for name, params in request.calls
                        if name == "editMessageText"][-1]["text"]
