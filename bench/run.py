"""Runs every scenario, prints one table and writes the figures as JSON.

    python -m bench                 # full sizes: about 20–25 minutes on 2 cores
    python -m bench --quick         # small sizes, a minute or so: CI runs it so it cannot rot
                                    # (not the soak: tests/test_soak.py is its short form)
    python -m bench --only 1,4      # some scenarios
    python -m bench --profile       # also write pyinstrument profiles of the engine (slower)

Results go to bench/results/<time>.json (and latest.json), logs of the processes it ran
to bench/results/logs-<time>/. Nothing here asserts a time: a missed goal is reported,
a scenario that fails to run makes the exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchDatabases, Figure, machine

RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Sizes:
    s1_count: int
    s1_rounds: int
    s2_count: int
    s2_spread: float
    s2_baseline: int
    s3_sqlite: tuple[int, ...]
    s3_pg: tuple[int, ...]
    s3_naive: tuple[int, ...]
    s3_rounds: int
    s3_repeats: int
    s3_naive_cap: float
    s4_burst: int
    s4_alone: int
    s5_repeats: int
    s6_holds: int = 1_000
    s6_reminders: int = 600
    s6_spread: float = 60
    s6_every: float = 20
    s8_repeats: int = 200
    s9_feeds: int = 10_000
    s9_reminders: int = 600
    s9_spread: float = 120
    s9_every: float = 30


FULL = Sizes(s1_count=5000, s1_rounds=3, s2_count=3000, s2_spread=60, s2_baseline=600,
             s3_sqlite=(1_000, 10_000, 100_000), s3_pg=(1_000_000,),
             s3_naive=(1_000, 10_000, 100_000), s3_rounds=3, s3_repeats=15, s3_naive_cap=75,
             s4_burst=200, s4_alone=20, s5_repeats=20)
QUICK = Sizes(s1_count=60, s1_rounds=1, s2_count=20, s2_spread=1, s2_baseline=15,
              s3_sqlite=(50, 200), s3_pg=(300,), s3_naive=(50, 200), s3_rounds=1,
              s3_repeats=2, s3_naive_cap=60, s4_burst=8, s4_alone=2, s5_repeats=2,
              s6_holds=20, s6_reminders=8, s6_spread=2, s6_every=1, s8_repeats=10,
              s9_feeds=40, s9_reminders=8, s9_spread=3, s9_every=0.25)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def _scenarios(sizes: Sizes, only: set[str], postgres: bool, logs: Path,
                     profile: bool, proposals: bool) -> tuple[list[Figure], list[str]]:
    from bench import (
        s1_engine,
        s2_ceiling,
        s3_growth,
        s4_responsive,
        s5_chart,
        s6_countdown,
        s8_pictures,
        s9_calendar,
        soak,
    )

    figures: list[Figure] = []
    failures: list[str] = []
    dbs = BenchDatabases()
    kinds = ("sqlite", "postgres") if postgres else ("sqlite",)
    steps: list[tuple[str, str, Any]] = [
        ("1", s1_engine.NAME, lambda: s1_engine.run(
            dbs, count=sizes.s1_count, rounds=sizes.s1_rounds, kinds=kinds, logs=logs,
            profile_dir=logs if profile else None, proposals=proposals)),
        ("2", s2_ceiling.NAME, lambda: s2_ceiling.run(
            dbs, count=sizes.s2_count, spread=sizes.s2_spread,
            baseline_count=sizes.s2_baseline, logs=logs)),
        ("3", s3_growth.NAME, lambda: s3_growth.run(
            dbs, sqlite_sizes=list(sizes.s3_sqlite),
            pg_sizes=list(sizes.s3_pg) if postgres else [], naive_sizes=list(sizes.s3_naive),
            rounds=sizes.s3_rounds, repeats=sizes.s3_repeats, naive_cap=sizes.s3_naive_cap,
            logs=logs)),
        ("4", s4_responsive.NAME, lambda: s4_responsive.run(
            dbs, burst=sizes.s4_burst, alone=sizes.s4_alone, logs=logs)),
        ("5", s5_chart.NAME, None),
        ("6", s6_countdown.NAME, lambda: s6_countdown.run(
            dbs, holds=sizes.s6_holds, reminders=sizes.s6_reminders, spread=sizes.s6_spread,
            every=sizes.s6_every, logs=logs)),
        ("7", soak.NAME, lambda: soak.scenario(dbs, soak.FULL_PLAN, logs)),
        ("8", s8_pictures.NAME, lambda: s8_pictures.run(dbs, repeats=sizes.s8_repeats)),
        ("9", s9_calendar.NAME, lambda: s9_calendar.run(
            dbs, feeds=sizes.s9_feeds, reminders=sizes.s9_reminders, spread=sizes.s9_spread,
            every_minutes=sizes.s9_every, logs=logs)),
    ]
    try:
        for key, name, start in steps:
            if key not in only:
                continue
            if key in ("2", "6", "7", "9") and not postgres:
                figures.append(Figure(name, "not run", None, "", None, "",
                                      note="needs PostgreSQL (--no-postgres given)"))
                continue
            _log(f"scenario {name}")
            started = time.perf_counter()
            try:
                if start is None:
                    result = await asyncio.to_thread(s5_chart.run, repeats=sizes.s5_repeats)
                else:
                    result = await start()
                figures += result
            except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the rest
                failures.append(f"{name}: {exc!r}")
                _log(f"scenario {name} FAILED:\n{traceback.format_exc()}")
                figures.append(Figure(name, "failed to run", None, "", None, "",
                                      note=f"{type(exc).__name__}: {exc}"[:300]))
            _log(f"scenario {name} took {time.perf_counter() - started:.0f} s")
    finally:
        await dbs.close()
    return figures, failures


def _number(value: float | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _with_unit(value: float | None, unit: str) -> str:
    text = _number(value)
    return f"{text} {unit}".strip() if value is not None else text


def table(figures: list[Figure]) -> str:
    lines = ["| scenario | figure | measured | baseline (same run) | ratio | goal | met |",
             "|---|---|---|---|---|---|---|"]
    for f in figures:
        base = _with_unit(f.baseline, f.unit) if f.baseline is not None else "n/a"
        if f.baseline_name:
            base += f" ({f.baseline_name})"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else "n/a"
        met = "" if f.met is None else ("yes" if f.met else "**NO**")
        name = f.name + (f" — {f.note}" if f.note else "")
        lines.append(f"| {f.scenario} | {name} | {_with_unit(f.value, f.unit)} | {base} | "
                     f"{ratio} | {f.goal} | {met} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--only", help="scenarios to run, e.g. 1,3 (default: all; with "
                        "--quick all but the soak, 7)")
    parser.add_argument("--no-postgres", action="store_true",
                        help="skip the PostgreSQL parts (they are part of the full table)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the engine in scenario 1 (pyinstrument)")
    parser.add_argument("--proposals", action="store_true",
                        help="scenario 1: also measure the dispatcher alone (a job that "
                             "does nothing), beside the same baseline")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="where the JSON and the logs go (default bench/results)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = args.results
    logs = results / f"logs-{stamp}"
    logs.mkdir(parents=True, exist_ok=True)
    host = machine()
    started = time.perf_counter()
    only = set((args.only or ("1,2,3,4,5,6,8,9" if args.quick else "1,2,3,4,5,6,7,8,9"))
               .replace(" ", "").split(","))
    figures, failures = asyncio.run(
        _scenarios(sizes, only, not args.no_postgres, logs, args.profile, args.proposals))
    elapsed = time.perf_counter() - started
    if args.quick:
        for figure in figures:
            figure.met = None  # goals are about the full sizes; quick mode only keeps it alive
    report: dict[str, Any] = {
        "mode": "quick" if args.quick else "full", "started": stamp,
        "elapsed_seconds": elapsed, "machine": host, "sizes": sizes.__dict__,
        "figures": [f.as_dict() for f in figures], "failures": failures, "logs": str(logs),
    }
    out = results / f"{stamp}.json"
    text = json.dumps(report, indent=1, default=str)
    out.write_text(text)
    (results / "latest.json").write_text(text)
    print(f"\nMove Better benchmark, {report['mode']} run, {elapsed / 60:.1f} min, on "
          f"{host['cpus']} × {host['cpu']}, {host['memory_gb']} GB, Python {host['python']}, "
          f"PTB {host['python_telegram_bot']} (load before: {host['load_before']})\n")
    print(table(figures))
    if args.quick:
        print("\nQuick mode: small sizes, goals not judged (they are about the full sizes).")
    missed = [f for f in figures if f.met is False]
    if missed:
        print("\nGoals missed:")
        for f in missed:
            ratio = f"ratio {f.ratio:.2f}" if f.ratio is not None else ""
            print(f"- {f.scenario}: {f.name}: {_with_unit(f.value, f.unit)} {ratio} "
                  f"(goal {f.goal})")
    print(f"\nFigures: {out}")
    if failures:
        print("\nScenarios that failed to run:\n" + "\n".join(f"- {f}" for f in failures))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
