"""`benchmarks/reliability.py` runs and prints its figures: a tiny run on SQLite only, of the
two cheapest measures (concurrent writers and kill -9 trials), as a user would start it.

The tampering and bad-input measures start a few dozen `careledger` processes each; they
run in the benchmark itself, not here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "reliability.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_reliability_script_prints_its_figures_with_their_targets() -> None:
    done = run_script(
        "--store",
        "sqlite",
        "--quick",
        "--trials",
        "3",
        "--writer-events",
        "10",
        "--measures",
        "concurrency,kill",
    )
    # 0: every target met; 1: one missed. Both mean the script ran and printed its figures.
    assert done.returncode in (0, 1), done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("careledger reliability trials: Python ")
    assert "== sqlite (temporary files)" in lines
    for title in ("1. concurrent writers", "2. kill -9 during record, import-903 and catch-up"):
        assert any(line.strip().startswith(title) for line in lines), done.stdout
    figures = {line.strip().split("  ")[0]: line for line in lines if line.startswith("   ")}
    for label in (
        "lost (reported recorded, not in the log)",
        "duplicated",
        "out of order",
        "projections differing from a rebuild",
        "batches left part-recorded",
        "applied twice (projections differ from a rebuild)",
    ):
        count, target, met = figures[label].split()[-3:]
        assert count.isdigit() and target == "0" and met in ("yes", "NO"), figures[label]
    trials = figures["trials"].split()
    assert trials[1] == "3", figures["trials"]
    summary = lines[-1]
    assert summary.startswith("== sqlite: ") and " figures with a target, " in summary
    assert (" 0 missed" in summary) == (done.returncode == 0), summary


def test_the_reliability_script_refuses_an_unknown_measure() -> None:
    done = run_script("--measures", "speed")
    assert done.returncode == 2
    assert "--measures: unknown speed" in done.stderr
