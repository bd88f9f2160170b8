"""The playground: `python -m playground` in a subprocess, typed into through its stdin."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from playground.render import Action, InputError, parse_line
from tests.conftest import ROOT


class Terminal:
    """The playground's stdin and stdout, as a person at the terminal sees them."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen = ""  # everything printed so far
        self._unread = ""

    async def expect(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """Reads output until `pattern` appears after what earlier calls consumed."""
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (match := re.search(pattern, self._unread)) is None:
            try:
                line = await asyncio.wait_for(self.process.stdout.readline(),
                                              deadline - loop.time())
            except TimeoutError:
                raise AssertionError(f"no {pattern!r} within {timeout}s:\n{self.seen}") from None
            if not line:
                raise AssertionError(f"output ended before {pattern!r}:\n{self.seen}")
            self.seen += line.decode()
            self._unread += line.decode()
        self._unread = self._unread[match.end():]
        return match

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.e2e
async def test_start_consent_and_quit(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TELEGRAM_", "CLOCK_", "DATABASE_URL"))}
    env.update(PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "playground", "--speed", "1", cwd=str(tmp_path), env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    terminal = Terminal(process)
    bot_pid = None
    try:
        bot_pid = int((await terminal.expect(r"Starting the bot \(pid (\d+)\)"))[1])
        await terminal.expect(r"Type /start", timeout=90)
        await terminal.type("/start")
        await terminal.expect(r"not medical advice")
        await terminal.expect(r"\[1\] I agree")
        await terminal.type("!nonsense")  # a mistake gets a hint, and the session goes on
        await terminal.expect(r"playground: unknown playground command '!nonsense'")
        await terminal.type("1")
        await terminal.expect(r"Which time zone")
        await terminal.expect(r"keyboard: .*Share my location")
        await terminal.type("!quit")
        out, err = await asyncio.wait_for(process.communicate(), 15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if bot_pid is not None and _running(bot_pid):
            os.kill(bot_pid, 9)
    assert process.returncode == 0, f"{terminal.seen}{out.decode()}\nstderr:\n{err.decode()}"
    assert "Bye" in out.decode() and "Traceback" not in terminal.seen + err.decode()
    assert not _running(bot_pid), "the bot process outlived the playground"
    # The bot's logs went to the file, not the terminal.
    assert "starting long polling" in (tmp_path / "playground.log").read_text()
    assert "starting long polling" not in terminal.seen + out.decode()


@pytest.mark.parametrize(("line", "action"), [
    ("hello there", Action("text", text="hello there")),
    ("/pause 3", Action("command", text="/pause 3")),
    ("2", Action("press", number=2)),
    ("2026", Action("text", text="2026")),
    ("!say 7", Action("text", text="7")),
    ("!loc 40.4 -3.7", Action("location", latitude=40.4, longitude=-3.7)),
    ("!sticker", Action("sticker")),
    ("  ", None),
])
def test_typed_lines(line: str, action: Action | None) -> None:
    assert parse_line(line) == action


@pytest.mark.parametrize("line", ["!loc", "!loc north 3", "!loc 95 0", "!say", "!dance"])
def test_bad_playground_lines_get_a_hint(line: str) -> None:
    with pytest.raises(InputError):
        parse_line(line)
