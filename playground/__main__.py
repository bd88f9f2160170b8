"""Chat with the real bot in the terminal: python -m playground [options].

    python -m playground                      # real time, a throwaway database
    python -m playground --speed 60           # a minute a second: a work day in 8 minutes
    python -m playground --start 2026-11-30T08:50 --db playground.db --user-id 1001

The Bot API stand-in runs in this process; the bot (`python -m bot`) runs as a subprocess
against it, logging to playground.log. Type !help once it is running.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import io
import mimetypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from playground.render import HELP, Action, InputError, inline_buttons, parse_line, render
from standin import BotAPIStandIn, ChatMessage, SimulatedUser

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456789:PLAYGROUND-local-token-not-for-Telegram"
LOG = Path("playground.log")


def say(text: str) -> None:
    try:
        print(text, flush=True)  # flushed at once: stdout may be a pipe
    except BrokenPipeError:  # the reader has gone: carry on silently, never a traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class Playground:
    """One simulated user's chat with the bot, shown and driven from the terminal."""

    def __init__(self, user: SimulatedUser, files: Path, start: datetime, speed: float,
                 origin: float) -> None:
        self.user = user
        self.files = files
        self.start, self.speed, self.origin = start, speed, origin
        self.shown = 0  # bot messages printed so far
        self.edits: dict[int, int] = {}  # message id -> edits printed
        self.answers = 0

    def now(self) -> str:
        """The bot's clock, approximately: it starts a second or so before the bot's first
        request (the origin here), so at high speeds the time shown trails by a few minutes."""
        elapsed = timedelta(seconds=(time.time() - self.origin) * self.speed)
        return (self.start + elapsed).strftime("%a %d %b %H:%M %Z")

    def save(self, msg: ChatMessage) -> Path | None:
        if msg.file is None or not msg.file.data:
            return None
        name = Path(msg.filename or "").name or "photo" + (
            mimetypes.guess_extension(msg.file.mime_type or "") or ".png")
        path = self.files / f"{msg.message_id}-{name}"
        path.write_bytes(msg.file.data)
        return path

    def show_new(self) -> None:
        """Prints what changed in the chat since the last call: messages, edits, pop-ups."""
        messages = self.user.messages
        for msg in messages[: self.shown]:
            if len(msg.edits) > self.edits[msg.message_id]:
                say(render(msg, self.now(), edited=True))  # its latest state, once
                self.edits[msg.message_id] = len(msg.edits)
        for msg in messages[self.shown:]:
            say(render(msg, self.now(), saved=self.save(msg)))
            self.edits[msg.message_id] = len(msg.edits)
        self.shown = len(messages)
        for answer in self.user.callback_answers[self.answers:]:
            if answer.text:
                say(f"({'alert' if answer.show_alert else 'pop-up'}: {answer.text})")
        self.answers = len(self.user.callback_answers)

    async def watch(self) -> None:
        while True:
            self.show_new()
            await self.user.changed.wait(1.0)

    async def act(self, action: Action) -> None:
        user = self.user
        if action.kind == "text":
            await user.send(action.text)
        elif action.kind == "command":
            command, _, args = action.text.partition(" ")
            await user.command(command, args.strip() or None)
        elif action.kind == "location":
            await user.send_location(action.latitude, action.longitude)
        elif action.kind == "sticker":
            await user.send_sticker()
        elif action.kind == "press":
            await self.press(action.number)

    async def press(self, number: int) -> None:
        msg = next((m for m in reversed(self.user.messages) if inline_buttons(m)), None)
        if msg is None:
            raise InputError("no message has buttons to press; type text or a /command")
        buttons = inline_buttons(msg)
        if not 1 <= number <= len(buttons):
            raise InputError(f"message #{msg.message_id} has buttons 1 to {len(buttons)}")
        button = buttons[number - 1]
        if "callback_data" not in button:
            raise InputError(f"that button opens {button.get('url', 'a link')} in Telegram")
        say(f"(pressed [{number}] {button['text']})")
        await self.user.press(msg, button["callback_data"])


def _read_stdin(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """Queues typed lines, then None at end of input. A daemon thread, so a pending read never
    holds up exit; os.read, as one blocked in sys.stdin's lock can abort the shutdown."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    with contextlib.suppress(RuntimeError, OSError):  # RuntimeError: the loop has closed
        while chunk := os.read(0, 4096):
            *complete, pending = (pending + decoder.decode(chunk)).split("\n")
            for line in complete:
                loop.call_soon_threadsafe(lines.put_nowait, line)
        if pending:  # a last line without a newline
            loop.call_soon_threadsafe(lines.put_nowait, pending)
        loop.call_soon_threadsafe(lines.put_nowait, None)


async def _ready(standin: BotAPIStandIn, bot: asyncio.subprocess.Process,
                 stopping: asyncio.Event) -> bool:
    """Waits until the bot polls for updates: from then on it answers messages."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    # A held getUpdates is only logged in standin.calls when it returns, so ask the hub too.
    while not (standin.hub.polling or any(c.method == "getUpdates" for c in standin.calls)):
        if bot.returncode is not None or stopping.is_set() or loop.time() > deadline:
            return False
        await standin.changed.wait(0.1)
    return True


def _last_line(path: str) -> str:
    lines = Path(path).read_text(errors="replace").strip().splitlines()
    return f"{lines[-1] if lines else 'no output'} (more in {path})"


async def _stop_bot(bot: asyncio.subprocess.Process) -> None:
    if bot.returncode is None:
        bot.send_signal(signal.SIGTERM)  # the bot finishes in-flight work and exits
    try:
        await asyncio.wait_for(bot.wait(), 20)
    except TimeoutError:
        bot.kill()
        await bot.wait()


async def _chat(playground: Playground, lines: asyncio.Queue[str | None]) -> None:
    """Acts on typed lines until !quit, end of input, a signal, or the bot's exit."""
    while (line := await lines.get()) is not None:
        try:
            action = parse_line(line)
            if action is not None and action.kind == "quit":
                return
            if action is not None and action.kind == "help":
                say(HELP)
            elif action is not None:
                await playground.act(action)
        except InputError as exc:
            say(f"playground: {exc}")
        except Exception as exc:  # one bad line must never end the session
            say(f"playground: could not do that ({type(exc).__name__}: {exc})")


async def run(args: argparse.Namespace, db: Path, log: BinaryIO) -> int:
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    stopping = asyncio.Event()

    def stop() -> None:
        stopping.set()
        lines.put_nowait(None)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop)
    standin = BotAPIStandIn(token=TOKEN)
    await standin.start()
    user = standin.user(args.user_id, "Playground", language_code=args.lang)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CLOCK_"))}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=standin.base_url,
               DATABASE_URL=f"sqlite:///{db}", CLOCK_START=args.start.isoformat(),
               CLOCK_SPEED=str(args.speed),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])))
    env.setdefault("ADMIN_USER_IDS", str(args.user_id))  # so /stats can be tried too
    # Its own session: Ctrl-C reaches only the playground, which then stops the bot in order.
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", env=env, cwd=db.parent, stdin=asyncio.subprocess.DEVNULL,
        stdout=log, stderr=log, start_new_session=True)
    try:
        say(f"Starting the bot (pid {bot.pid}); its logs go to {log.name}")
        if not await _ready(standin, bot, stopping):
            if not stopping.is_set():
                say(f"playground: the bot did not start: {_last_line(log.name)}")
            return 0 if stopping.is_set() else 1
        playground = Playground(user, db.parent, args.start, args.speed, standin.calls[0].at)
        say(f"Ready: you are user {args.user_id}; the bot's clock reads {playground.now()} "
            f"and runs {args.speed:g}x; pictures and files are saved in {db.parent}.\n"
            "Type /start to begin, !help for help.")
        threading.Thread(target=_read_stdin, args=(loop, lines), daemon=True).start()
        watcher = asyncio.create_task(playground.watch())
        bot_exit = asyncio.create_task(bot.wait())
        bot_exit.add_done_callback(lambda _: lines.put_nowait(None))
        await _chat(playground, lines)
        await asyncio.sleep(0.2)  # replies to the last line still get printed
        playground.show_new()
        watcher.cancel()
        if bot.returncode is not None and not stopping.is_set():
            say(f"playground: the bot stopped ({bot.returncode}): {_last_line(log.name)}")
            return 1
        return 0
    finally:
        await _stop_bot(bot)
        await standin.stop()


def _start(value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError("use a date and time like 2026-11-30T08:50") from None
    return start.astimezone()  # a time without an offset is this computer's local time


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", type=float, default=1.0,
                        help="how many times faster the bot's clock runs (default 1)")
    parser.add_argument("--start", type=_start, default=datetime.now().astimezone(),
                        help="the bot's clock at start, e.g. 2026-11-30T08:50 (default now)")
    parser.add_argument("--db", help="keep the SQLite database in this file (default: throwaway)")
    parser.add_argument("--user-id", type=int, default=1001, help="your Telegram id (1001)")
    parser.add_argument("--lang", default="en", choices=("en", "es"), help="your app language")
    args = parser.parse_args()
    if not 0 < args.speed <= 10_000:
        parser.error("--speed must be a number above 0, e.g. 60")
    if args.user_id <= 0:
        parser.error("--user-id must be a positive number")
    if args.db and not Path(args.db).resolve().parent.is_dir():
        parser.error(f"the folder for --db does not exist: {Path(args.db).resolve().parent}")
    if isinstance(sys.stdout, io.TextIOWrapper):  # a non-UTF-8 terminal must not crash on emoji
        sys.stdout.reconfigure(errors="replace")
    # Without --db: a fresh database in a temporary folder, removed at the end.
    throwaway = None if args.db else Path(tempfile.mkdtemp(prefix="move-better-playground-"))
    db = throwaway / "playground.db" if throwaway else Path(args.db).resolve()
    code = 1
    try:
        with LOG.resolve().open("ab") as log, contextlib.suppress(KeyboardInterrupt):
            code = asyncio.run(run(args, db, log))
    finally:
        if throwaway is not None:
            shutil.rmtree(throwaway, ignore_errors=True)
    say("Bye: the bot has stopped" + (" and the throwaway database is gone." if throwaway
                                      else f"; your database is {db}."))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
