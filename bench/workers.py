"""The bot side of scenarios 1 and 2, each in its own process (the stand-in runs in another).

    python -m bench.workers engine  --db URL --base-url URL --clock ISO [--concurrency 32]
    python -m bench.workers bare    --base-url URL --first-chat 1 --count 5000
    python -m bench.workers limited --base-url URL --first-chat 1 --count 900

Each prints one JSON line: how many messages went out, in how many seconds, with how much
CPU. `engine` is the real dispatcher (claim, send, record) with the real reminder jobs and
`TelegramSender` over the app's dispatcher `Bot` (a pool of 32 connections, no rate
limiter); `bare` is a loop of PTB `send_message` calls on a default `Bot` (a pool of 256)
with the same concurrency and the same message; `limited` is that
loop through PTB's `AIORateLimiter(max_retries=5)`, as the app builds it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardMarkup
from telegram.error import RetryAfter, TelegramError

from bench.common import TOKEN

REMINDER_TEXT = ("Time for a stretch break! A couple of minutes for your hips, right where "
                 "you are.")


def reminder_markup(break_id: int) -> InlineKeyboardMarkup | None:
    """The reminder's buttons, built as the engine builds them."""
    from bot.adapter.sender import markup_for
    from bot.domain.replies import Reply
    from bot.storage.models import User
    from handlers.reminders import reminder_buttons

    markup = markup_for(Reply(REMINDER_TEXT, reminder_buttons(User(language="en"), break_id)))
    return markup if isinstance(markup, InlineKeyboardMarkup) else None


async def warm_up(bot: Bot, concurrency: int) -> None:
    """Opens the connections the timed part will use (getMe changes nothing)."""
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            await bot.get_me()

    await asyncio.gather(*(one() for _ in range(concurrency * 2)))


class GcTime:
    """CPU the garbage collector took inside the timed part, and how many full collections:
    a process with more live objects walks more of them in each."""

    def __init__(self) -> None:
        self.seconds, self.full, self._began = 0.0, 0, 0.0

    def _on(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.process_time()
        else:
            self.seconds += time.process_time() - self._began
            self.full += info["generation"] == 2

    def __enter__(self) -> GcTime:
        gc.callbacks.append(self._on)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._on)

    def figures(self) -> dict[str, Any]:
        return {"gc_seconds": self.seconds, "gc_full": self.full,
                "objects": len(gc.get_objects())}


def context_switches() -> int:
    """Context switches of every thread of this process so far (Linux; 0 elsewhere): each
    hand-over of the interpreter lock between the event loop and a database thread is one
    or two."""
    total = 0
    for status in Path("/proc/self/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Profile:
    """pyinstrument around the timed part, when asked for (--profile FILE)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.profiler: Any = None

    def __enter__(self) -> Profile:
        if self.path:
            from pyinstrument import Profiler

            self.profiler = Profiler(interval=0.0005, async_mode="enabled")
            self.profiler.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.profiler is not None:
            self.profiler.stop()
            assert self.path is not None
            Path(self.path).write_text(self.profiler.output_text(unicode=True, color=False,
                                                                 show_all=False))


class NoopJob:
    """Sends the reminder text and buttons and records nothing (for the cost breakdown)."""

    def __init__(self) -> None:
        from bot.domain.replies import Reply
        from bot.outbox.dispatcher import Send
        from bot.storage.models import User
        from handlers.reminders import reminder_buttons

        self.action = Send(Reply(REMINDER_TEXT, reminder_buttons(User(language="en"), 1)))

    async def prepare(self, *_args: Any) -> Any:
        return self.action

    async def delivered(self, *_args: Any) -> None:
        return None

    async def undeliverable(self, *_args: Any) -> None:
        return None


async def engine(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import text

    from bot.adapter.app import dispatcher_bot
    from bot.adapter.sender import TelegramSender
    from bot.config import load_settings
    from bot.domain.content import load_program
    from bot.outbox.dispatcher import Dispatcher
    from bot.storage.db import Database
    from handlers.account import unsubscribe as deactivate
    from handlers.jobs import make_jobs
    from handlers.turn import Services

    at = datetime.fromisoformat(args.clock)
    settings = load_settings(telegram_bot_token=TOKEN, database_url=args.db,
                             telegram_api_base_url=args.base_url, _env_file=None)
    database = Database(settings.database_url, settings.database_pool_size)
    services = Services(settings, database, lambda: at, load_program())
    bot = dispatcher_bot(settings)  # the app's: its own connection pool
    async with bot:
        await warm_up(bot, args.concurrency or 32)
        async with database.session() as session:
            await session.execute(text("SELECT 1"))
        # The app builds its dispatcher with the defaults; so does the bench unless told.
        tuning = {k: v for k, v in (("batch", args.batch), ("concurrency", args.concurrency),
                                    ("record_group", args.record_group)) if v is not None}
        jobs = make_jobs(services)
        if args.job == "noop":
            # The dispatcher's own cost: claim, look up the user, send, finish; no job work.
            jobs = {**jobs, "reminder": NoopJob()}
        # Not paced: this scenario measures the engine with no rate limit.
        dispatcher = Dispatcher(database, TelegramSender(bot, per_second=None),
                                services.clock, jobs,
                                on_blocked=deactivate, worker="bench", **tuning)
        gc.freeze()  # as every mode of the app does once started (see bot.adapter.app)
        cpu, loop_cpu, started = time.process_time(), time.thread_time(), time.perf_counter()
        switches = context_switches()
        with Profile(args.profile), GcTime() as collector:
            await dispatcher.tick()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        loop_cpu = time.thread_time() - loop_cpu
        switches = context_switches() - switches
    async with database.session() as session:
        statuses: dict[str, int] = dict((await session.execute(text(
            "SELECT status, count(*) FROM due_messages WHERE kind = 'reminder' "
            "AND due_at <= :at GROUP BY status"), {"at": at})).all())
        planned = (await session.execute(text(
            "SELECT count(*) FROM due_messages WHERE kind = 'reminder' AND status = 'pending'"
        ))).scalar_one()
    await database.close()
    delivered = int(statuses.get("sent", 0))
    return {"delivered": delivered, "seconds": seconds, "rate": delivered / seconds,
            "cpu_seconds": cpu, "loop_cpu_seconds": loop_cpu, "context_switches": switches,
            "statuses": {k: int(v) for k, v in statuses.items()},
            "next_planned": int(planned), **collector.figures()}


async def _send_loop(bot: Bot, args: argparse.Namespace) -> dict[str, Any]:
    markup = reminder_markup(1)
    slots = asyncio.Semaphore(args.concurrency or 32)
    outcomes: Counter[str] = Counter()
    sent_at: list[float] = []

    async def one(chat_id: int) -> None:
        async with slots:
            try:
                await bot.send_message(chat_id, REMINDER_TEXT, reply_markup=markup)
            except RetryAfter:
                outcomes["retry_after"] += 1
            except TelegramError as exc:
                outcomes[type(exc).__name__] += 1
            else:
                outcomes["sent"] += 1
                sent_at.append(time.perf_counter())

    chats = range(args.first_chat, args.first_chat + args.count)
    cpu, loop_cpu, started = time.process_time(), time.thread_time(), time.perf_counter()
    switches = context_switches()
    with Profile(args.profile), GcTime() as collector:
        await asyncio.gather(*(one(chat) for chat in chats))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    loop_cpu = time.thread_time() - loop_cpu
    switches = context_switches() - switches
    delivered = outcomes["sent"]
    span = (sent_at[-1] - sent_at[0]) if len(sent_at) > 1 else seconds
    return {"delivered": delivered, "seconds": seconds, "rate": delivered / seconds,
            "span_rate": (delivered - 1) / span if span > 0 else None,
            "cpu_seconds": cpu, "loop_cpu_seconds": loop_cpu, "context_switches": switches,
            "outcomes": dict(outcomes),
            **collector.figures()}


async def bare(args: argparse.Namespace) -> dict[str, Any]:
    bot = Bot(TOKEN, base_url=args.base_url)
    async with bot:
        await warm_up(bot, args.concurrency or 32)
        return await _send_loop(bot, args)


async def limited(args: argparse.Namespace) -> dict[str, Any]:
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    application = (ApplicationBuilder().token(TOKEN).base_url(args.base_url)
                   .rate_limiter(AIORateLimiter(max_retries=5)).updater(None).build())
    async with application:
        # The warm-up's getMe calls are not limited methods; they only open connections.
        await warm_up(application.bot, args.concurrency or 32)
        await asyncio.sleep(1.0)  # the limiter's bucket is full again, as at a real minute
        return await _send_loop(application.bot, args)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workers")
    parser.add_argument("mode", choices=["engine", "bare", "limited"])
    parser.add_argument("--db")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--clock")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--record-group", type=int, default=None)
    parser.add_argument("--first-chat", type=int, default=1)
    parser.add_argument("--count", type=int, default=0)
    parser.add_argument("--profile", default=None, help="write a pyinstrument profile here")
    parser.add_argument("--job", choices=["real", "noop"], default="real",
                        help="engine: the real reminder job, or one that does no work")
    args = parser.parse_args(argv)
    run = {"engine": engine, "bare": bare, "limited": limited}[args.mode]
    result = asyncio.run(run(args))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
