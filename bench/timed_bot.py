"""The bot process of scenario 4, with timing: the real bot, or a bare PTB app as baseline.

    BENCH_TIMINGS=/tmp/t.jsonl python -m bench.timed_bot real   # python -m bot, timed
    BENCH_TIMINGS=/tmp/t.jsonl python -m bench.timed_bot bare   # answer + edit, nothing else

`real` runs `python -m bot` unchanged except that the button handler, the rendering of
its answer and every database connection checkout are timed; one JSON line per event
goes to BENCH_TIMINGS:

    {"kind": "handler", "data": "r:12:3", "total_ms": …, "render_ms": …}
    {"kind": "db", "at": <time.time()>, "held_ms": …}     # checkout → checkin

`bare` is an Application built the way the app builds its own (AIORateLimiter with
max_retries=5, concurrent updates) whose one handler answers the query and edits the
message: what any python-telegram-bot app pays for the same presses.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, cast

_out = open(os.environ.get("BENCH_TIMINGS", os.devnull), "a", buffering=1)  # noqa: SIM115


def _write(record: dict[str, Any]) -> None:
    _out.write(json.dumps(record) + "\n")


Handler = Callable[[Any, Any], Coroutine[Any, Any, None]]


def _timed_handler(handler: Handler, render_times: dict[int, float]) -> Handler:
    async def timed(update: Any, context: Any) -> None:
        started = time.perf_counter()
        try:
            await handler(update, context)
        finally:
            total = time.perf_counter() - started
            data = update.callback_query.data if update.callback_query else None
            _write({"kind": "handler", "data": data, "at": time.time(),
                    "total_ms": 1000 * total,
                    "render_ms": 1000 * render_times.pop(id(update), 0.0)})

    return timed


def _patch_real() -> None:
    from sqlalchemy import event

    import bot.adapter.router as router
    from bot.storage import db

    render_times: dict[int, float] = {}
    render = router.render

    async def timed_render(update: Any, context: Any, answer: Any, *args: Any) -> None:
        started = time.perf_counter()
        try:
            await render(update, context, answer, *args)
        finally:
            render_times[id(update)] = render_times.get(id(update), 0.0) + \
                time.perf_counter() - started

    router.render = timed_render  # type: ignore[assignment]
    # register_handlers reads on_button from the router's module when the app is built.
    router.on_button = cast(Any, _timed_handler(router.on_button, render_times))

    init = db.Database.__init__
    checked_out: dict[int, float] = {}

    def timed_init(self: db.Database, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)

        @event.listens_for(self.engine.sync_engine, "checkout")
        def _checkout(_dbapi: Any, record: Any, _proxy: Any) -> None:
            checked_out[id(record)] = time.perf_counter()

        @event.listens_for(self.engine.sync_engine, "checkin")
        def _checkin(_dbapi: Any, record: Any) -> None:
            started = checked_out.pop(id(record), None)
            if started is not None:
                _write({"kind": "db", "at": time.time(),
                        "held_ms": 1000 * (time.perf_counter() - started)})

    db.Database.__init__ = timed_init  # type: ignore[method-assign]


def run_real() -> None:
    _patch_real()
    from bot.__main__ import main

    main(["run"])


def run_bare() -> None:
    from telegram import Update
    from telegram.ext import AIORateLimiter, ApplicationBuilder, CallbackQueryHandler, ContextTypes

    render_times: dict[int, float] = {}

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        started = time.perf_counter()
        await query.answer("Saved")
        await context.bot.edit_message_text(f"Saved: {query.data}", chat_id=query.message.chat.id,
                                            message_id=query.message.message_id)
        render_times[id(update)] = time.perf_counter() - started

    builder = (ApplicationBuilder().token(os.environ["TELEGRAM_BOT_TOKEN"])
               .rate_limiter(AIORateLimiter(max_retries=5)).concurrent_updates(True))
    base = os.environ.get("TELEGRAM_API_BASE_URL")
    if base:
        builder = builder.base_url(base)
    application = builder.build()
    application.add_handler(CallbackQueryHandler(_timed_handler(answer, render_times)))
    application.run_polling(allowed_updates=["message", "callback_query"])


if __name__ == "__main__":
    {"real": run_real, "bare": run_bare}[sys.argv[1] if len(sys.argv) > 1 else "real"]()
