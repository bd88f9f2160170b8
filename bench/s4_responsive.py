"""Scenario 4, responsiveness: many users press a rating button at the same moment.

N users (onboarded, each in a break waiting for its rating: a Break with status "rating"
and user.step "rate:<break>", the rating prompt on screen) press the pain button at once,
then, once all are answered, the stiffness button at once (which saves the rating). The
real bot runs as its own process (bench/timed_bot.py: `python -m bot` with its button
handler and database checkouts timed) against the stand-in, which enforces Telegram's
limits. Measured, per press:

- update → answer: from the update's injection to the stand-in receiving the bot's
  answerCallbackQuery (the spinner stops);
- update → edit: to the stand-in receiving the edited message (the next question, or
  "Saved"); edits count against the 30/s budget, so AIORateLimiter queues them;
- handler time in the process: PTB calling the handler to its return, and the same less
  the reply's HTTP calls (the domain and database part).

Baselines from the same run: a bare PTB app (same builder options; its handler only
answers and edits) under the same presses, and the real bot's handler time for presses
made one at a time (no burst).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    BenchDatabases,
    Figure,
    bot_env,
    cpu_seconds,
    insert_rows,
    migrate,
    now_utc,
    percentile,
    reminder_row,
    standin_server,
    start_process,
    user_row,
    wall_window_around,
)

NAME = "4 responsiveness"
FIRST_USER = 3_000_001
PAIN, STIFFNESS = 3, 4


async def _seed(url: str, count: int) -> None:
    from sqlalchemy import insert

    from bot.storage.db import Database
    from bot.storage.models import Break, DueMessage

    now = now_utc()
    start, end = wall_window_around(now, timedelta(hours=2), timedelta(hours=3))
    users = [user_row(FIRST_USER + i, zone="UTC", start=start, end=end, breaks=4,
                      days=0b1111111, step=f"rate:{i + 1}") for i in range(count)]
    await insert_rows(url, users, [])
    breaks = [dict(id=i + 1, user_id=FIRST_USER + i, kind="reminder", status="rating",
                   planned_at=now - timedelta(minutes=15), started_at=now - timedelta(minutes=14),
                   ended_at=now - timedelta(minutes=1), place="desk",
                   positions=["fh_9090", "fh_side"], positions_done=["fh_9090", "fh_side"],
                   position_index=1, attempt=0, message_id=None, snoozes=0,
                   stopped_for_pain=False) for i in range(count)]
    due = [reminder_row(FIRST_USER + i, now + timedelta(days=1, seconds=i))
           for i in range(count)]
    due += [dict(user_id=FIRST_USER + i, kind="abandon", key=f"unrated:{i + 1}",
                 due_at=now + timedelta(minutes=29), status="pending", attempts=0,
                 payload={"stage": "rating"}, break_id=i + 1) for i in range(count)]
    database = Database(url)
    try:
        async with database.session() as session:
            await session.execute(insert(Break), breaks)
            await session.execute(insert(DueMessage), due)
    finally:
        await database.close()


def _prompts(standin: Any, count: int) -> list[tuple[Any, Any, int]]:
    """Each user's chat with the rating prompt on screen: (user, message, break id)."""
    from bot.adapter.sender import markup_for
    from bot.domain.guided_break import rating_prompt
    from bot.storage.models import Break
    from standin import Params

    chats = []
    for i in range(count):
        user = standin.user(FIRST_USER + i)
        reply = rating_prompt(Break(id=i + 1), "en", True, None)
        markup = markup_for(reply)
        assert markup is not None
        standin._new_bot_message(user, Params({}), text=reply.text, raw_text=reply.text,
                                 reply_markup=markup.to_dict())
        chats.append((user, user.messages[-1], i + 1))
    return chats


async def _press_all(standin: Any, chats: list[tuple[Any, Any, int]], data: list[str],
                     timeout: float) -> list[dict[str, float]]:
    """Presses every chat's button at once; waits for every answer and edit."""
    before = [(len(user.callback_answers), len(msg.edits)) for user, msg, _ in chats]
    pressed: list[float] = []
    for (user, msg, _brk), payload in zip(chats, data, strict=True):
        pressed.append(time.time())
        await user.press(msg, payload, check=False)

    def all_done() -> bool:
        return all(len(user.callback_answers) > a and len(msg.edits) > e
                   for (user, msg, _), (a, e) in zip(chats, before, strict=True))

    await standin.wait_until(all_done, timeout=timeout)
    return [{"answer": user.callback_answers[a].at - at, "edit": msg.edits[e].at - at}
            for (user, msg, _), (a, e), at in zip(chats, before, pressed, strict=True)]


async def _one_by_one(standin: Any, chats: list[tuple[Any, Any, int]], data: list[str],
                      timeout: float) -> list[dict[str, float]]:
    results = []
    for chat, payload in zip(chats, data, strict=True):
        results += await _press_all(standin, [chat], [payload], timeout)
    return results


async def _session(url: str, mode: str, burst: int, alone: int, logs: Path) -> dict[str, Any]:
    timings = logs / f"s4-{mode}-timings.jsonl"
    timings.unlink(missing_ok=True)
    async with standin_server(record_calls=True) as standin:
        standin.enforce_limits(per_second=30, per_chat_per_second=1)
        chats = _prompts(standin, burst + alone)
        together, single = chats[:burst], chats[burst:]
        env = bot_env(standin.base_url, url, BENCH_TIMINGS=str(timings), LOG_LEVEL="INFO")
        bot = await start_process(standin, ["-m", "bench.timed_bot", mode], env,
                                  logs / f"s4-{mode}.log")
        if mode == "real":
            await _places_loaded(logs / f"s4-{mode}.log")
        limit = 30 + burst / 10
        try:
            marks = {"burst_start": time.time()}
            cpu = cpu_seconds(bot.proc.pid)
            first = await _press_all(standin, together,
                                     [f"r:{b}:{PAIN}" for *_x, b in together], limit)
            await asyncio.sleep(1.1)  # Telegram allows a chat one message a second
            second = await _press_all(standin, together,
                                      [f"r:{b}:{PAIN}:{STIFFNESS}" for *_x, b in together],
                                      limit)
            marks["burst_end"] = time.time()
            cpu = cpu_seconds(bot.proc.pid) - cpu
            await asyncio.sleep(1.1)
            alone_first = await _one_by_one(standin, single,
                                            [f"r:{b}:{PAIN}" for *_x, b in single], limit)
            alone_second = await _one_by_one(
                standin, single, [f"r:{b}:{PAIN}:{STIFFNESS}" for *_x, b in single], limit)
            marks["alone_end"] = time.time()
        finally:
            await bot.stop()
        limited = sum(1 for c in standin.calls if c.status == 429)
        texts = [msg.text or "" for _u, msg, _b in chats]
    records = [json.loads(line) for line in timings.read_text().splitlines() if line.strip()]
    handlers = [r for r in records if r["kind"] == "handler"]
    burst_ids = {b for *_x, b in together}

    def is_burst(record: dict[str, Any]) -> bool:
        return int(str(record["data"]).split(":")[1]) in burst_ids

    return {
        "burst": first + second, "alone": alone_first + alone_second,
        "handlers_burst": [r for r in handlers if is_burst(r)],
        "handlers_alone": [r for r in handlers if not is_burst(r)],
        "db_burst": [r["held_ms"] for r in records if r["kind"] == "db"
                     and marks["burst_start"] <= r["at"] <= marks["burst_end"]],
        "db_alone": [r["held_ms"] for r in records if r["kind"] == "db"
                     and marks["burst_end"] < r["at"] <= marks["alone_end"]],
        "too_many_requests": limited, "ready_seconds": bot.ready_after,
        "cpu_ms_per_press": 1000 * cpu / (2 * len(together)),
        "saved": sum(1 for text in texts if text.startswith("Saved")),
    }


async def _places_loaded(log: Path) -> None:
    """Waits until the bot has loaded its place indexes (a few seconds of CPU right after
    start, measured by 4b): the bursts measure a running bot, not one starting."""
    if importlib.util.find_spec("handlers.places") is None:
        return  # a version that loads them on the first lookup instead
    for _ in range(1200):
        if "place indexes loaded" in await asyncio.to_thread(log.read_text):
            return
        await asyncio.sleep(0.1)


async def _first_lookup(url: str, others: int, logs: Path) -> dict[str, Any]:
    """Right after start, one user types the first place name while `others` users press a
    rating button; then as many other users press once it has been answered."""
    from sqlalchemy import update

    from bot.storage.db import Database
    from bot.storage.models import User

    typist = FIRST_USER + 2 * others
    database = Database(url)
    try:
        async with database.session() as session:  # consented, at the time-zone question
            await session.execute(update(User).where(User.id == typist)
                                  .values(step="ob:tz", onboarded_at=None))
    finally:
        await database.close()
    async with standin_server(record_calls=True) as standin:
        standin.enforce_limits(per_second=30, per_chat_per_second=1)
        chats = _prompts(standin, 2 * others)
        loading, loaded = chats[:others], chats[others:]
        user = standin.user(typist)
        env = bot_env(standin.base_url, url)
        bot = await start_process(standin, ["-m", "bench.timed_bot", "real"], env,
                                  logs / "s4-first-lookup.log")
        try:
            typed = time.time()
            await user.send("Madrid")
            during = await _press_all(standin, loading, [f"r:{b}:{PAIN}" for *_x, b in loading],
                                      60)
            await user.next_message(
                timeout=60, predicate=lambda m: "Europe/Madrid" in (m.text or ""))
            answered = time.time() - typed  # at most the stand-in's polling step late
            after = await _press_all(standin, loaded, [f"r:{b}:{PAIN}" for *_x, b in loaded], 60)
        finally:
            await bot.stop()
    return {"during": during, "after": after, "typed_reply_s": answered}


def _ms(values: list[float], pct: float) -> float | None:
    value = percentile(values, pct)
    return None if value is None else 1000 * value


async def run(dbs: BenchDatabases, *, burst: int, alone: int, logs: Path,
              lookup_others: int = 20) -> list[Figure]:
    url = dbs.sqlite_url("s4")
    await migrate(url)
    await _seed(url, burst + alone)
    bare = await _session(url, "bare", burst, alone, logs)
    real = await _session(url, "real", burst, alone, logs)
    label = f"bare PTB app (answer + edit only), same {burst} presses"
    figures = []
    for what, key in (("answer (answerCallbackQuery)", "answer"), ("edited message", "edit")):
        for pct in (50, 99):
            figures.append(Figure(
                NAME, f"{burst} presses at once, ×2: update → {what}, p{pct}",
                _ms([r[key] for r in real["burst"]], pct), "ms",
                _ms([r[key] for r in bare["burst"]], pct), label,
                goal="ratio <= 1.5" if (key, pct) == ("answer", 99) else "",
                extra={"real": _summary(real), "bare": _summary(bare)} if key == "answer"
                and pct == 50 else {}))
    answer_p99 = figures[1]
    if answer_p99.ratio is not None:
        answer_p99.met = answer_p99.ratio <= 1.5
    alone_answer = _ms([r["answer"] for r in real["alone"]], 99)
    figures.append(Figure(
        NAME, "one press alone: update → answer, p99", alone_answer, "ms",
        _ms([r["answer"] for r in bare["alone"]], 99),
        f"bare PTB app, the same {alone} presses one at a time", goal="< 50 ms",
        met=alone_answer is not None and alone_answer < 50))
    lookup_url = dbs.sqlite_url("s4-lookup")
    await migrate(lookup_url)
    await _seed(lookup_url, 2 * lookup_others + 1)
    first = await _first_lookup(lookup_url, lookup_others, logs)
    figures.append(Figure(
        NAME, f"first place name typed after start: {lookup_others} other users' presses "
              "meanwhile, update → answer p99",
        _ms([r["answer"] for r in first["during"]], 99), "ms",
        _ms([r["answer"] for r in first["after"]], 99),
        f"{lookup_others} other presses once the place name was answered",
        note=f"the place name answered {1000 * first['typed_reply_s']:.0f} ms after it was "
             "typed",
        extra={"during_ms": [1000 * r["answer"] for r in first["during"]],
               "after_ms": [1000 * r["answer"] for r in first["after"]]}))
    own = [r["total_ms"] - r["render_ms"] for r in real["handlers_burst"]]
    own_alone = [r["total_ms"] - r["render_ms"] for r in real["handlers_alone"]]
    p99 = percentile(own, 99)
    figures.append(Figure(
        NAME, "handler time in process, p99 (domain + database, without the replies' HTTP)",
        p99, "ms", percentile(own_alone, 99), f"same handler, {alone} presses one at a time",
        goal="< 50 ms", met=p99 is not None and p99 < 50,
        note=f"p50 {percentile(own, 50):.1f} ms; database connection held per transaction "
             f"p50 {percentile(real['db_burst'], 50) or 0:.1f} ms, "
             f"p99 {percentile(real['db_burst'], 99) or 0:.1f} ms"))
    figures.append(Figure(
        NAME, "bot process CPU per press during the bursts", real["cpu_ms_per_press"], "ms",
        bare["cpu_ms_per_press"], label,
        note="a burst's presses share one core: p99 of a burst is bounded below by "
             "presses × CPU per press"))
    total = [r["total_ms"] for r in real["handlers_burst"]]
    figures.append(Figure(
        NAME, "handler time in process, p99, with the replies' HTTP calls",
        percentile(total, 99), "ms",
        percentile([r["total_ms"] for r in bare["handlers_burst"]], 99), label,
        note=f"429s: real {real['too_many_requests']}, bare {bare['too_many_requests']}; "
             f"saved {real['saved']}/{burst + alone}"))
    return figures


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: result[k] for k in ("too_many_requests", "ready_seconds",
                                                  "saved", "cpu_ms_per_press")}
    for key in ("burst", "alone"):
        for what in ("answer", "edit"):
            values = [r[what] for r in result[key]]
            out[f"{key}_{what}_ms"] = {f"p{p}": _ms(values, p) for p in (50, 90, 99, 100)}
    for key in ("handlers_burst", "handlers_alone"):
        totals = [r["total_ms"] for r in result[key]]
        own = [r["total_ms"] - r["render_ms"] for r in result[key]]
        out[f"{key}_total_ms"] = {f"p{p}": percentile(totals, p) for p in (50, 90, 99, 100)}
        out[f"{key}_own_ms"] = {f"p{p}": percentile(own, p) for p in (50, 90, 99, 100)}
    for key in ("db_burst", "db_alone"):
        out[f"{key}_held_ms"] = {f"p{p}": percentile(result[key], p) for p in (50, 99, 100)}
        out[f"{key}_count"] = len(result[key])
    return out
