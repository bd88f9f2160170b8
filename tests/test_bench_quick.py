"""The benchmark's quick mode runs to the end and reports every scenario beside a baseline.

Timings are not asserted (bench/ measures, tests check behaviour): this only keeps
`python -m bench` from rotting. It needs PostgreSQL, like the full benchmark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_reports_every_scenario_with_a_baseline_and_a_ratio(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CLOCK_START")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=360, check=False,
    )
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr[-6000:]}"

    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["mode"] == "quick"
    assert report["failures"] == []
    assert report["machine"]["cpus"]
    scenarios: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for figure in report["figures"]:
        scenarios[figure["scenario"].split()[0]].append(figure)
    assert sorted(scenarios) == ["1", "2", "3", "4", "5", "6", "8", "9"]
    for key, figures in scenarios.items():
        compared = [f for f in figures if f["value"] is not None
                    and f["baseline"] is not None and f["ratio"] is not None]
        assert compared, f"scenario {key} has no figure beside a baseline: {figures}"
    for figure in report["figures"]:
        assert figure["baseline_name"], f"no baseline named for {figure['name']}"
        if figure["value"] is not None and figure["baseline"]:
            assert figure["ratio"] == pytest.approx(figure["value"] / figure["baseline"])

    # One table, with a row for every figure.
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| scenario | figure | measured | baseline")
    assert len(rows) == len(report["figures"]) + 1
    assert {row.split("|")[1].strip().split()[0] for row in rows[1:]} == set(scenarios)
