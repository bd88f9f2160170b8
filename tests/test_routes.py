"""The route table and its gates, through the real Application and router, on both databases."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapter.app import MENU
from bot.domain.callbacks import KINDS
from bot.domain.clock import ManualClock
from bot.storage import users
from bot.storage.models import User
from handlers import routes
from tests.conftest import Chat, in_process, text_of

MONDAY_8_UTC = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_every_command_and_button_kind_has_a_route_to_a_named_feature_function() -> None:
    # /cancel is left out of the menu: it only makes sense inside a question.
    assert {name for name, _label in MENU} | {"stats", "invite", "cancel"} == set(routes.COMMANDS)
    assert set(routes.BUTTONS) == set(KINDS)
    answers: list[Callable[..., object]] = [route.answer for route in routes.COMMANDS.values()]
    answers += [route.answer for route in routes.BUTTONS.values()]
    answers += [route.answer for route in routes.STEPS.values()]
    for answer in answers:
        # One jump away: a module-level function of a feature module, not a wrapper.
        assert answer.__module__.startswith("handlers."), answer
        assert "<" not in answer.__qualname__, answer.__qualname__


@pytest.fixture
async def chat(database_url: str) -> AsyncIterator[Chat]:
    async with in_process(database_url, ManualClock(MONDAY_8_UTC),
                          admin_user_ids="1001") as (application, request, services):
        yield Chat(application, request, services.database)


async def set_up(chat: Chat) -> None:
    await chat.command("start")
    await chat.press("c:yes")
    for typed in ("Madrid", "mon-fri", "9-17", "4", "desk", "2 4"):
        await chat.send(typed)
    assert (await chat.user()).onboarded_at is not None


async def test_before_consent_only_the_open_routes_answer(chat: Chat) -> None:
    await chat.command("start")
    for command in ("stretch", "settings", "pause", "nosuchcommand"):
        seen = await chat.command(command)
        assert "please read the note above and agree" in text_of(seen)
    seen = await chat.press("pz:1d")
    assert "warning signs" not in text_of(await chat.command("help"))
    assert "What I store" in text_of(await chat.command("privacy"))
    user = await chat.user()
    assert (user.consented_at, user.paused_until) == (None, None)


async def test_during_setup_the_set_up_routes_lead_back_to_the_step(chat: Chat) -> None:
    await chat.command("start")
    await chat.press("c:yes")
    await chat.send("Madrid")
    for command in ("stretch", "routine", "assess", "progress", "export", "settings", "pause",
                    "resume"):
        seen = await chat.command(command)
        assert "finish setting you up" in text_of(seen), command
        assert "Which days do you work?" in text_of(seen)
    seen = await chat.press("set:edit:hours")
    assert "finish setting you up" in text_of(seen)
    assert "I don't know that command" in text_of(await chat.command("nosuchcommand"))
    assert (await chat.user()).step == "ob:days"


async def test_commands_are_read_in_any_case_and_with_the_bots_name(chat: Chat) -> None:
    await set_up(chat)
    assert "Your settings:" in text_of(await chat.command("SETTINGS"))
    assert "Your settings:" in text_of(await chat.command("settings@move_better_test_bot"))


async def test_stats_is_for_operators_only(chat: Chat) -> None:
    stranger = chat.other(2002)
    await stranger.command("start")
    before_consent = await stranger.command("stats")
    assert text_of(before_consent) == text_of(await stranger.command("nosuchcommand"))
    await stranger.press("c:yes")
    assert text_of(await stranger.command("stats")) == "I don't know that command. /help " \
        "lists what I can do."
    # The operator gets the figures, set up or not.
    await chat.command("start")
    assert text_of(await chat.command("stats")).startswith("Usage, over all users")


async def test_a_forged_button_gets_the_stale_answer_and_changes_nothing(chat: Chat) -> None:
    await set_up(chat)
    before = await chat.user()
    for forged in ("pz:forever", "set:breaks:99", "b:99999:go", "s:1:0:0:x", "zz", "r:1:11"):
        await chat.press(forged)
    after = await chat.user()
    assert (after.paused_until, after.breaks_per_day, after.step) == (
        before.paused_until, before.breaks_per_day, before.step)


async def test_quick_taps_of_one_user_are_taken_one_at_a_time(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two day toggles pressed at once: both stay. The first tap, having read the user,
    waits for the second to read too; only ordering per user stops that from happening
    (without it, on PostgreSQL, both read the same draft and one toggle is lost)."""
    await chat.command("start")
    await chat.press("c:yes")
    await chat.send("Madrid")
    real_get = users.lock
    second_read = asyncio.Event()
    reads = 0

    async def get(session: AsyncSession, user_id: int) -> User | None:
        nonlocal reads
        user = await real_get(session, user_id)
        reads += 1
        if reads == 1:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(second_read.wait(), 1.0)
        else:
            second_read.set()
        return user

    monkeypatch.setattr(users, "lock", get)
    await asyncio.gather(chat.press("ob:day:5"), chat.press("ob:day:6"))
    assert (await chat.user()).draft == {"days": 0b1111111}
