"""The operator's first minutes with the real `python -m bot` process: a start-up that waits
for the network, a wrong token, the bot's profile on Telegram, and `python -m bot check`."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from bot import check
from bot.domain.content import CONTENT_DIR
from bot.storage.migrate import missing, upgrade
from standin import BotAPIStandIn
from tests.conftest import ROOT, TOKEN, RunBot

pytestmark = pytest.mark.e2e

OTHER_TOKEN = "987654321:AAEwrongTOKENwrongTOKENwrongTOKEN1"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("TELEGRAM_BOT_TOKEN", "DATABASE_URL", "WEBHOOK_URL", "WEBHOOK_SECRET")}
    env.update({"PYTHONPATH": str(ROOT), "TELEGRAM_BOT_TOKEN": TOKEN, "LOG_LEVEL": "INFO",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", **extra})
    return env


async def _bot(tmp_path: Path, *args: str, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=str(tmp_path), env=_env(tmp_path, **env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)


async def _finish(process: asyncio.subprocess.Process) -> tuple[int, str]:
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_start_up_waits_for_a_bot_api_that_refuses_connections_at_first(
        tmp_path: Path) -> None:
    async with BotAPIStandIn(token=TOKEN) as placeholder:
        port = placeholder.port  # a free port, reserved by the stand-in below
    standin = BotAPIStandIn(token=TOKEN)
    await standin.start(port, refuse_for=10)
    try:
        bot = await _bot(tmp_path, TELEGRAM_API_BASE_URL=standin.base_url)
        await standin.wait_until(lambda: standin.calls_to("getUpdates"), timeout=90)
        ana = standin.user(1001)
        await ana.command("/start")
        assert "not medical advice" in ((await ana.next_message()).text or "")
        assert bot.returncode is None
        bot.kill()  # (a clean stop waits for the current long poll: not this test's point)
        _code, out = await _finish(bot)
    finally:
        await standin.stop()
    retries = [line for line in out.splitlines() if "not reachable yet" in line]
    assert len(retries) >= 2, out
    assert all(f"Bot API at {standin.base_url}" in line for line in retries)
    assert "Traceback" not in out and TOKEN not in out
    assert "this is @move_better_test_bot" in out


async def test_a_wrong_token_exits_at_once_with_one_line(tmp_path: Path,
                                                         standin: BotAPIStandIn) -> None:
    process = await _bot(tmp_path, TELEGRAM_API_BASE_URL=standin.base_url,
                         TELEGRAM_BOT_TOKEN=OTHER_TOKEN)
    code, out = await _finish(process)
    assert code == 2
    assert out.count("\n") == 1, out
    assert "TELEGRAM_BOT_TOKEN" in out and "401" in out and "BotFather" in out
    assert "not reachable" not in out  # not retried: waiting would not fix it


async def test_the_profile_is_set_once_in_the_bots_languages(
        standin: BotAPIStandIn, run_bot: RunBot) -> None:
    start = run_bot
    bot = await start(ADMIN_USER_IDS="1001", STUDIO_NAME="Hip Studio")
    assert "stretch coach" in standin.descriptions[""]
    assert standin.descriptions[""].endswith("Offered by Hip Studio.")
    assert "desk athletes" in standin.short_descriptions[""]
    assert standin.menu_buttons[None] == {"type": "commands"}
    menu = [command["command"] for command in standin.get_commands()]
    assert "start" in menu and "invite" not in menu
    await bot.kill()  # (a clean stop waits for the current long poll: not this test's point)
    writes = [call.method for call in standin.calls if call.method.startswith("set")]

    await start(ADMIN_USER_IDS="1001", STUDIO_NAME="Hip Studio")
    again = [call.method for call in standin.calls if call.method.startswith("set")]
    assert "setMyDescription" in writes and again == writes  # nothing set the second time


# ------------------------------------------------------------------------------------------
# python -m bot check


async def test_check_passes_on_a_good_set_up_and_names_the_bot(
        tmp_path: Path, standin: BotAPIStandIn) -> None:
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    code, out = await _finish(await _bot(tmp_path, "check",
                                         TELEGRAM_API_BASE_URL=standin.base_url))
    assert code == 0, out
    assert [line.split()[0] for line in out.splitlines()[:-1]] == ["ok"] * 5
    assert "at the latest migration" in out and "@move_better_test_bot" in out
    assert out.splitlines()[-1].startswith("All checks passed")
    assert not standin.calls_to("setMyCommands")  # it changes nothing


async def test_check_counts_the_migrations_a_database_is_behind(
        tmp_path: Path, standin: BotAPIStandIn) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    head = missing(url, None)[0]
    # Two migrations below the latest, whatever the latest is.
    await asyncio.to_thread(upgrade, url, missing(url, None)[2])
    code, out = await _finish(await _bot(tmp_path, "check",
                                         TELEGRAM_API_BASE_URL=standin.base_url))
    assert code == 1
    last = out.splitlines()[-1]
    assert last.startswith("FAIL database:") and "2 migrations behind" in last, out
    assert f"latest {head}" in last and "python -m bot migrate" in last


async def test_check_stops_at_a_wrong_token(tmp_path: Path, standin: BotAPIStandIn) -> None:
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    code, out = await _finish(await _bot(tmp_path, "check", TELEGRAM_BOT_TOKEN=OTHER_TOKEN,
                                         TELEGRAM_API_BASE_URL=standin.base_url))
    assert code == 1
    assert out.splitlines()[-1].startswith("FAIL Telegram: Telegram refused TELEGRAM_BOT_TOKEN")


async def test_check_names_a_broken_content_file(
        tmp_path: Path, standin: BotAPIStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    content = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, content)
    stretches = content / "stretches.yaml"
    stretches.write_text(stretches.read_text().replace("seconds: 120", "seconds: two minutes", 1))
    (content / "pigeon.png").write_bytes(b"not a picture")
    monkeypatch.setattr(check, "CONTENT_DIR", content)
    await asyncio.to_thread(upgrade, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    for name, value in _env(tmp_path, TELEGRAM_API_BASE_URL=standin.base_url).items():
        monkeypatch.setenv(name, value)
    lines: list[str] = []
    assert await asyncio.to_thread(check.run_checks, [], lines.append) == 1
    assert lines[-1].startswith(f"FAIL content: {stretches}") and "seconds" in lines[-1], lines

    stretches.write_text((CONTENT_DIR / "stretches.yaml").read_text())
    lines.clear()
    assert await asyncio.to_thread(check.run_checks, [], lines.append) == 1
    assert lines[-1] == (f"FAIL pictures: {content / 'pigeon.png'} is not a PNG picture: "
                         f"export it again")


async def test_the_city_index_is_built_by_another_process_once(
        standin: BotAPIStandIn, run_bot: RunBot, tmp_path: Path) -> None:
    """The bot never builds the city index itself (180 MB it would keep): a child process
    writes it to a file in PLACES_CACHE_DIR, which the next start finds."""
    cache = tmp_path / "cache"
    bot = await run_bot(PLACES_CACHE_DIR=str(cache))
    ana = standin.user(1001)
    await ana.command("/start")
    welcome = await ana.next_message(timeout=15,
                                     predicate=lambda m: "not medical advice" in (m.text or ""))
    await ana.press(welcome, "c:yes")
    await ana.next_message(timeout=15, predicate=lambda m: "Which time zone" in (m.text or ""))
    await ana.send("Ciudad de México")  # answered once the file is there
    await ana.next_message(timeout=60,
                           predicate=lambda m: "America/Mexico_City" in (m.text or ""))
    built = re.search(r"city file (\S+) built in [\d.]+ s by process (\d+)", bot.log)
    assert built is not None, bot.log
    assert bot.process is not None and int(built[2]) != bot.process.pid
    assert Path(built[1]).parent == cache
    assert "built in this process" not in bot.log
    await bot.stop()

    again = await run_bot(PLACES_CACHE_DIR=str(cache))
    bob = standin.user(1002)
    await bob.command("/start")
    await bob.next_message(timeout=15, predicate=lambda m: "not medical advice" in (m.text or ""))
    await standin.wait_until(lambda: "place indexes loaded" in again.log, timeout=60)
    # The next start opens the same file: nothing built.
    assert f"city file {built[1]} (built by process {built[2]})" in again.log, again.log
    assert not re.search(r"city file \S+ built in", again.log)
