"""Scenario 1, engine overhead: the real dispatcher against a bare PTB send loop.

N reminders are due at once; the stand-in enforces no limit. The dispatcher (claim, send,
record, plan the next break) runs in one process, the stand-in in this one, so each has a
core. Beside it, in the same run and against a fresh stand-in, a loop of PTB `send_message`
calls with the dispatcher's concurrency sends the same message to the same chats. Rounds
are bracketed by baseline runs (bare, engine, bare, …); figures are medians.
"""

from __future__ import annotations

import inspect
import random
import time
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    MONDAY_10,
    ZONES_AT_10_UTC,
    BenchDatabases,
    Figure,
    checkpoint_sqlite,
    insert_rows,
    median,
    migrate,
    reminder_row,
    run_worker,
    standin_server,
    user_row,
)

NAME = "1 engine overhead"
FIRST_USER = 1_000_001


def dispatcher_concurrency() -> int:
    from bot.outbox.dispatcher import Dispatcher

    default = inspect.signature(Dispatcher.__init__).parameters["concurrency"].default
    return int(default)


def seed_rows(count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Users working 08:00–18:00 local in zones where 10:00 UTC is work time, each with a
    reminder that fell due in the last minute."""
    rng = random.Random(1)
    users, due = [], []
    for i in range(count):
        user_id = FIRST_USER + i
        users.append(user_row(user_id, zone=rng.choice(ZONES_AT_10_UTC), start=dtime(8),
                              end=dtime(18), breaks=rng.randint(1, 8)))
        due.append(reminder_row(user_id, MONDAY_10 - timedelta(seconds=i % 60)))
    return users, due


async def _template(dbs: BenchDatabases, kind: str, count: int) -> str:
    users, due = seed_rows(count)
    if kind == "sqlite":
        url = dbs.sqlite_url("s1-template")
        await migrate(url)
        await insert_rows(url, users, due)
        await checkpoint_sqlite(url)
    else:
        url = await dbs.pg_url()
        await migrate(url)
        await insert_rows(url, users, due)
    return url


async def _engine_round(dbs: BenchDatabases, kind: str, template: str, n: int,
                        log: Path, profile: str | None,
                        variant: tuple[str, ...] = ()) -> dict[str, Any]:
    url = dbs.copy_sqlite(template, f"s1-{n}") if kind == "sqlite" \
        else await dbs.pg_url(template=template)
    try:
        async with standin_server(record_calls=False) as standin:
            cpu = time.process_time()
            args = ["engine", "--db", url, "--base-url", standin.base_url,
                    "--clock", (MONDAY_10 + timedelta(seconds=1)).isoformat()]
            if profile:
                args += ["--profile", profile]
            args += list(variant)
            result = await run_worker(args, timeout=600, log=log)
            result["standin_cpu_seconds"] = time.process_time() - cpu
            result["standin_sends"] = standin.stats["200"]
            return result
    finally:
        if kind == "postgres":
            await dbs.drop_pg(url)


async def _bare_round(count: int, concurrency: int, log: Path) -> dict[str, Any]:
    async with standin_server(record_calls=False) as standin:
        cpu = time.process_time()
        result = await run_worker(
            ["bare", "--base-url", standin.base_url, "--first-chat", str(FIRST_USER),
             "--count", str(count), "--concurrency", str(concurrency)], timeout=600, log=log)
        result["standin_cpu_seconds"] = time.process_time() - cpu
        return result


# Measured beside the engine with --proposals: the dispatcher's own cost.
VARIANTS = {
    "dispatcher only (no-op job: claim, user, send, finish)": ("--job", "noop"),
}


async def run(dbs: BenchDatabases, *, count: int, rounds: int, kinds: tuple[str, ...],
              logs: Path, profile_dir: Path | None = None,
              proposals: bool = False) -> list[Figure]:
    concurrency = dispatcher_concurrency()
    figures: list[Figure] = []
    for kind in kinds:
        template = await _template(dbs, kind, count)
        engine_runs: list[dict[str, Any]] = []
        bare_runs: list[dict[str, Any]] = []
        log = logs / f"s1-{kind}.log"
        # The bare loop runs before and after every engine round: the machine is shared
        # and noisy, and the baseline brackets what the engine met.
        bare_runs.append(await _bare_round(count, concurrency, log))
        for n in range(rounds):
            engine_runs.append(await _engine_round(dbs, kind, template, n, log, None))
            bare_runs.append(await _bare_round(count, concurrency, log))
        variant_runs: dict[str, dict[str, Any]] = {}
        if proposals:
            for name, variant in VARIANTS.items():
                variant_runs[name] = await _engine_round(dbs, kind, template, 50, log, None,
                                                         variant)
            bare_runs.append(await _bare_round(count, concurrency, log))
        if profile_dir is not None:
            # A profiled run is slower: it is kept apart from the figures.
            await _engine_round(dbs, kind, template, 99, log,
                                str(profile_dir / f"s1-{kind}-engine.txt"))
        if kind == "postgres":
            await dbs.drop_pg(template)
        rate = median(r["rate"] for r in engine_runs)
        # Each engine round against the bare rounds just before and after it: the machine's
        # speed drifts by more than the difference measured, over minutes.
        around = [(before["rate"] + after["rate"]) / 2
                  for before, after in zip(bare_runs[:rounds], bare_runs[1:rounds + 1],
                                           strict=True)]
        bare_rate = median(around)
        lost = [r for r in engine_runs if r["delivered"] < count]
        rounds_said = "rounds: " + ", ".join(
            f"{r['rate'] / b:.2f}" for r, b in zip(engine_runs, around, strict=True))
        figures.append(Figure(
            NAME, f"{count:,} due reminders, {_label(kind)}: reminders/s", rate, "msg/s",
            bare_rate, f"bare PTB send_message loop, concurrency {concurrency}",
            goal="ratio >= 0.8", met=None if rate is None or not bare_rate
            else rate / bare_rate >= 0.8,
            note=rounds_said if not lost
            else f"{len(lost)} round(s) delivered fewer than {count}; {rounds_said}",
            samples=[r["rate"] for r in engine_runs],
            baseline_samples=[r["rate"] for r in bare_runs],
            extra={"engine_runs": engine_runs, "bare_runs": bare_runs,
                   "concurrency": concurrency}))
        for name, result in variant_runs.items():
            figures.append(Figure(
                NAME, f"{_label(kind)}: {name}: reminders/s", result["rate"], "msg/s",
                bare_rate, f"bare PTB send_message loop, concurrency {concurrency}",
                goal="ratio >= 0.8" if name.startswith("proposal") else "",
                note=f"{1e6 * result['cpu_seconds'] / max(result['delivered'], 1):,.0f} µs "
                     f"CPU per reminder; delivered {result['delivered']:,}",
                extra={"run": result}))
        cpu = median(1e6 * r["cpu_seconds"] / max(r["delivered"], 1) for r in engine_runs)
        bare_cpu = median(1e6 * r["cpu_seconds"] / max(r["delivered"], 1) for r in bare_runs)
        figures.append(Figure(
            NAME, f"{_label(kind)}: bot CPU per reminder", cpu, "µs", bare_cpu,
            "bare PTB send_message loop", note="lower is better; informative",
            samples=[1e6 * r["cpu_seconds"] / max(r["delivered"], 1) for r in engine_runs],
            baseline_samples=[1e6 * r["cpu_seconds"] / max(r["delivered"], 1)
                              for r in bare_runs]))
    return figures


def _label(kind: str) -> str:
    return "SQLite" if kind == "sqlite" else "PostgreSQL"
