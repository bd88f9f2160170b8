"""A pressed button is answered before the turn's database work: its spinner stops at once,
the edited message carries the outcome, a failure still gets a clear message, and a 429 on
one chat's messages holds no other user's answer."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.domain import zones
from bot.domain.clock import ManualClock
from bot.storage import users
from bot.storage.models import Break, Rating, User
from handlers.places import Places
from tests.conftest import Call, Chat, in_process, make_callback, text_of
from tests.test_sessions import MONDAY_9, World, add_user, make_world


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    async with make_world(database_url) as built:
        await add_user(built)
        await add_user(built, user_id=2002)
        yield built


async def waiting_for_rating(world: World, user_id: int = 1001) -> int:
    """A finished break of the user's, waiting for its two rating taps."""
    async with world.database.session() as session:
        brk = Break(user_id=user_id, kind="stretch", status="rating", planned_at=MONDAY_9,
                    started_at=MONDAY_9, place="desk", positions=["fh_9090"],
                    positions_done=["fh_9090"])
        session.add(brk)
        await session.flush()
        user = await session.get(User, user_id)
        assert user is not None
        user.step = f"rate:{brk.id}"
        return brk.id


def seen_by_request(world: World, method: str) -> asyncio.Event:
    """Set when the bot makes a Bot API call of `method`."""
    seen = asyncio.Event()
    request = world.request
    real = request.do_request

    async def do_request(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        answer = await real(url, *args, **kwargs)
        if url.endswith("/" + method):
            seen.set()
        return answer

    request.do_request = do_request  # type: ignore[method-assign]
    return seen


async def test_the_answer_comes_before_the_database_work_ends(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_id = await waiting_for_rating(world)
    chat = world.chat()
    answered = seen_by_request(world, "answerCallbackQuery")
    locked, release = asyncio.Event(), asyncio.Event()
    real_lock = users.lock

    async def slow_lock(session: AsyncSession, user_id: int) -> User | None:
        user = await real_lock(session, user_id)
        locked.set()
        await release.wait()  # the turn's database work is held here
        return user

    monkeypatch.setattr(users, "lock", slow_lock)
    pressed = asyncio.create_task(chat.press(f"r:{break_id}:3:5", message_id=40))
    await locked.wait()
    await answered.wait()  # while the turn still holds the user's row, unfinished
    assert not pressed.done()
    assert [c.method for c in world.request.calls][-1] == "answerCallbackQuery"
    release.set()
    seen = await pressed
    # The outcome is in the edited message (the answer carried no text: conftest checks).
    assert len(seen.replies) == 1 and seen.replies[0].edit
    assert seen.replies[0].message_id == 40
    assert text_of(seen).startswith("Saved: pain 3/10, stiffness 5/10.")
    async with world.database.session() as session:
        rating = await session.scalar(select(Rating).where(Rating.break_id == break_id))
    assert rating is not None and (rating.pain, rating.stiffness) == (3, 5)


async def test_a_repeated_tap_is_told_in_a_quiet_message(world: World) -> None:
    break_id = await waiting_for_rating(world)
    chat = world.chat()
    await chat.press(f"r:{break_id}:3:5", message_id=40)
    again = await chat.press(f"r:{break_id}:3:5", message_id=40)
    assert text_of(again) == "This break is already saved."
    assert not again.replies[0].edit
    sent = [c for c in world.request.calls if c.method == "sendMessage"][-1]
    assert sent.params.get("disable_notification") is True


async def test_a_failed_turn_is_answered_and_apologised_for_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_id = await waiting_for_rating(world)

    async def failing_lock(session: AsyncSession, user_id: int) -> User | None:
        raise OperationalError("SELECT … FOR UPDATE", {}, Exception("server closed"))

    monkeypatch.setattr(users, "lock", failing_lock)
    before = len(world.request.calls)
    await world.application.process_update(
        Update.de_json(make_callback(1001, f"r:{break_id}:3:5", 40), world.application.bot))
    calls: list[Call] = world.request.calls[before:]
    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    assert calls[1].params["text"] == (
        "Sorry, something went wrong on my side. Please try that again.")
    monkeypatch.undo()
    brk = await world.brk(break_id)
    assert brk.status == "rating"
    # Trying again works.
    seen = await world.chat().press(f"r:{break_id}:3:5", message_id=40)
    assert text_of(seen).startswith("Saved: pain 3/10")


async def test_a_429_on_one_chat_holds_no_other_users_answer(world: World) -> None:
    """A 429 for one chat holds that chat's messages only: another user's pressed button is
    answered, and its edit arrives, while the flooded chat's reply waits its retry_after."""
    break_id = await waiting_for_rating(world, 2002)
    request = world.request
    real = request.do_request
    flooded = asyncio.Event()

    async def do_request(url: str, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        data = kwargs.get("request_data") or (args[1] if len(args) > 1 else None)
        chat_id = data.parameters.get("chat_id") if data is not None else None
        if url.endswith("/sendMessage") and chat_id == 1001:
            flooded.set()
            return 429, json.dumps({"ok": False, "error_code": 429,
                                    "description": "Too Many Requests: retry after 3600",
                                    "parameters": {"retry_after": 3600}}).encode()
        return await real(url, *args, **kwargs)

    request.do_request = do_request  # type: ignore[method-assign]
    # User 1001's /help reply meets a 429; the limiter waits an hour before trying again.
    waiting = asyncio.create_task(world.application.process_update(
        Update.de_json({"update_id": 900001, "message": {
            "message_id": 1, "date": 0, "text": "/help",
            "chat": {"id": 1001, "type": "private"},
            "from": {"id": 1001, "is_bot": False, "first_name": "A"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}},
            world.application.bot)))
    await flooded.wait()
    answered = seen_by_request(world, "answerCallbackQuery")
    # User 2002's tap is answered, and the pain score shown in its edit, while 1001's reply
    # still waits out the hour.
    pressed = asyncio.create_task(Chat(world.application, request, world.database, 2002)
                                  .press(f"r:{break_id}:3", message_id=50))
    try:
        await answered.wait()
        seen = await pressed
        assert [(reply.edit, reply.message_id) for reply in seen.replies] == [(True, 50)]
        assert text_of(seen).startswith("Pain 3/10. And how stiff")
        assert not waiting.done()
    finally:
        waiting.cancel()
        pressed.cancel()
        await asyncio.gather(waiting, pressed, return_exceptions=True)


async def test_statements_for_one_rating_tap(world: World) -> None:
    """What a rating tap costs the database, counted (PTB's answer and edit aside)."""
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split()[0].upper())

    engine = world.database.engine.sync_engine
    break_id = await waiting_for_rating(world)
    chat = world.chat()
    event.listen(engine, "before_cursor_execute", count)
    try:
        await chat.press(f"r:{break_id}:3", message_id=40)
        pain_tap = list(statements)
        statements.clear()
        await chat.press(f"r:{break_id}:3:5", message_id=40)
        save_tap = list(statements)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    # The pain tap: the user's row and the break's, locked. (Before: the same 2.)
    assert pain_tap == ["SELECT", "SELECT"]
    # The save: both locks; the step, the rating, the break's outcome; its follow-ups
    # dropped; then one read of the baseline and of the next break. (Before: 9, with the
    # baseline, the waiting reminder and the next planned break read one at a time.)
    assert save_tap == ["SELECT", "SELECT", "UPDATE", "INSERT", "UPDATE", "DELETE", "SELECT"]


async def test_while_the_place_index_loads_other_users_are_answered(database_url: str) -> None:
    """The first city typed after start waits for the index without stopping the bot:
    another user's commands and buttons are answered meanwhile."""
    async with in_process(database_url, ManualClock(MONDAY_9)) as (application, request,
                                                                   services):
        entered, gate = threading.Event(), threading.Event()

        def slow_load() -> None:
            entered.set()
            gate.wait()
            zones.preload()

        services.places = Places(slow_load)
        ana, ben = Chat(application, request, services.database), \
            Chat(application, request, services.database, 1002)
        for chat in (ana, ben):
            await chat.command("start")
            await chat.press("c:yes")
        services.places.start()
        await asyncio.to_thread(entered.wait)
        typed = asyncio.create_task(ana.send("Madrid"))
        try:
            assert "What I store" in text_of(await ben.command("privacy"))
            assert "finish setting you up" in text_of(await ben.press("pz:1d"))
            assert "How it works" in text_of(await ben.command("help"))
            assert not typed.done() and (await ana.user()).time_zone is None
        finally:
            gate.set()
        seen = await typed
        assert any(reply.text.startswith("Found Madrid. Time zone: Europe/Madrid")
                   for reply in seen.replies)
        assert (await ana.user()).time_zone == "Europe/Madrid"
