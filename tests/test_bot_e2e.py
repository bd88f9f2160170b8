"""The bot process itself: start-up, the first conversation, restarts, shutdown, mistakes.

Runs the real `python -m bot` over HTTP against the Bot API stand-in.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.storage.models import Base
from standin import BotAPIStandIn
from tests.conftest import ROOT, TOKEN

pytestmark = pytest.mark.e2e


async def _run_and_fail(tmp_path: Path, **env: str) -> tuple[int, str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL")}
    base.update(PYTHONPATH=str(ROOT), **env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=str(tmp_path), env=base,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


async def test_a_missing_token_stops_start_up_with_one_line(tmp_path: Path) -> None:
    code, err = await _run_and_fail(tmp_path)
    assert code == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "TELEGRAM_BOT_TOKEN" in err


async def test_a_malformed_token_and_a_bad_database_url_are_named(tmp_path: Path) -> None:
    code, err = await _run_and_fail(tmp_path, TELEGRAM_BOT_TOKEN="12345")
    assert (code, err.count("\n")) == (2, 1) and "TELEGRAM_BOT_TOKEN is invalid" in err
    code, err = await _run_and_fail(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN,
                                    DATABASE_URL="mysql://localhost/x")
    assert (code, err.count("\n")) == (2, 1) and "DATABASE_URL" in err


async def test_an_unreachable_database_is_one_line(tmp_path: Path,
                                                    standin: BotAPIStandIn) -> None:
    code, err = await _run_and_fail(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=standin.base_url,
        DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing?sslmode=disable",
        STARTUP_TIMEOUT_SECONDS="0",  # try once
    )
    assert code == 1 and err.count("\n") == 2 and "Traceback" not in err, err
    assert "accepts the token" in err.splitlines()[0]
    assert "cannot reach the database" in err.splitlines()[-1]


async def test_start_consent_restart_and_sigterm(standin: BotAPIStandIn, run_bot: Any) -> None:
    bot = await run_bot()
    # The command menu is registered with Telegram.
    menu = [command["command"] for command in standin.get_commands()]
    assert {"start", "stretch", "settings", "pause", "delete", "help"} <= set(menu)
    assert "stats" not in menu

    ana = standin.user(1001, "Ana")
    await ana.command("/start")
    welcome = await ana.next_message()
    assert "not medical advice" in (welcome.text or "")
    assert [label for row in welcome.buttons for label, _ in row] == ["I agree, let's start"]
    assert await bot.query("select consented_at from users") == [(None,)]

    await ana.press_button(welcome, "I agree, let's start")
    await ana.next_message(predicate=lambda m: "time zone" in (m.text or ""))
    (consented_at,) = (await bot.query("select consented_at from users where id = 1001"))[0]
    assert consented_at is not None

    started = time.monotonic()
    assert await bot.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 10

    bot = await run_bot()
    await ana.command("/start")
    again = await ana.next_message()
    assert "finish setting you up" in (again.text or "")
    assert await bot.query("select count(*) from users") == [(1,)]
    assert await bot.stop(signal.SIGINT) == 0


async def test_strangers_stickers_and_old_buttons_get_a_friendly_answer(
    standin: BotAPIStandIn, run_bot: Any
) -> None:
    bot = await run_bot()
    stranger = standin.user(2002)
    await stranger.send_sticker()
    assert "/start" in ((await stranger.next_message()).text or "")
    assert await bot.query("select count(*) from users") == [(0,)]  # nothing stored

    await stranger.command("/start")
    welcome = await stranger.next_message()
    await stranger.press(welcome, "b:99999:go", check=False)  # a forged reminder button
    answered = await stranger.next_message()
    assert "agree" in (answered.text or "")
    await stranger.press(welcome, "c:yes")
    await stranger.next_message(predicate=lambda m: "time zone" in (m.text or ""))
    await stranger.press(welcome, "zz:nonsense", check=False)
    stale = await stranger.next_message()
    assert "older message" in (stale.text or "")
    await stranger.command("/nosuchthing")
    assert "I don't know that command" in ((await stranger.next_message()).text or "")


async def test_delete_erases_every_row_about_the_user(
    standin: BotAPIStandIn, run_bot: Any
) -> None:
    bot = await run_bot()
    ana, ben = standin.user(1001), standin.user(1002)
    for user in (ana, ben):
        await user.command("/start")
        await user.press(await user.next_message(), "c:yes")
        await user.next_message(predicate=lambda m: "time zone" in (m.text or ""))
    await ana.command("/delete")
    confirm = await ana.next_message()
    await ana.press_button(confirm, "Yes, erase everything")
    await ana.wait_until(lambda: "erased" in (confirm.text or ""))
    for table in Base.metadata.tables.values():
        column = "id" if table.name == "users" else "user_id"
        if column not in table.c:
            continue  # holds nothing about any user (e.g. handled update ids)
        assert await bot.query(f"select count(*) from {table.name} where {column} = 1001") \
            == [(0,)], table.name
    assert await bot.query("select count(*) from users where id = 1002") == [(1,)]
    await ana.command("/start")
    assert "not medical advice" in ((await ana.next_message()).text or "")


async def test_an_unreachable_bot_api_ends_with_a_clear_last_line(tmp_path: Path) -> None:
    code, err = await _run_and_fail(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, DATABASE_URL=f"sqlite:///{tmp_path / 'b.db'}",
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot", STARTUP_TIMEOUT_SECONDS="2",
    )
    assert code == 1
    lines = err.strip().splitlines()
    assert "cannot reach the Telegram Bot API at http://127.0.0.1:9/bot" in lines[-1]
    assert "gave up after" in lines[-1] and "STARTUP_TIMEOUT_SECONDS" in lines[-1]
    # One line per attempt before it, nothing else.
    assert len(lines) >= 2 and all("not reachable yet" in line for line in lines[:-1]), err
    assert TOKEN not in err and "Traceback" not in err
