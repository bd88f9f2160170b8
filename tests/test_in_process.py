"""The real Application in-process: updates through `process_update`, a recording request
object in place of HTTP (as PTB's own tests do), and a real database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from telegram import Update
from telegram.ext import Application

from bot.storage.db import Database
from bot.storage.models import User
from tests.conftest import RecordingRequest, in_process, make_callback, make_message

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[tuple[Application, RecordingRequest, Database]]:
    async with in_process(sqlite_url, lambda: NOW) as (application, request, services):
        yield application, request, services.database


async def test_start_and_consent_through_the_application(
    app: tuple[Application, RecordingRequest, Database],
) -> None:
    application, request, database = app
    await application.process_update(Update.de_json(make_message(1001, "/start"), application.bot))
    welcome = request.sent()[-1]
    assert "not medical advice" in welcome["text"]
    assert welcome["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "c:yes"

    await application.process_update(
        Update.de_json(make_callback(1001, "c:yes", 1), application.bot))
    assert any(call.method == "answerCallbackQuery" for call in request.calls)
    assert "time zone" in request.sent()[-1]["text"]
    async with database.session() as session:
        user = await session.get(User, 1001)
    assert user is not None and user.consented_at == NOW and user.step == "ob:tz"


async def test_a_forged_button_of_another_user_changes_nothing(
    app: tuple[Application, RecordingRequest, Database],
) -> None:
    application, request, _database = app
    for user_id in (1001, 1002):
        await application.process_update(
            Update.de_json(make_message(user_id, "/start"), application.bot))
    # 1002 presses "erase" on a message id of 1001's chat: only 1002's own rows go.
    await application.process_update(
        Update.de_json(make_callback(1002, "del:yes", 1), application.bot))
    async with _database.session() as session:
        assert await session.get(User, 1001) is not None
        assert await session.get(User, 1002) is None
    assert "erased" in [call.params for call in request.calls
                        if call.method == "editMessageText"][-1]["text"]
