"""The README's JSON Lines examples are recorded as they stand, so the documentation stays
true; each event type has an example there."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from careledger.cli.main import cli
from careledger.ledger.domain import payloads as p
from tests.envelope import data_of

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_lines() -> list[str]:
    block = re.search(r"```jsonl\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block, "README has no jsonl block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_has_an_example_of_every_event_type() -> None:
    shown = {re.search(r'"type": "(\w+)"', line).group(1) for line in readme_lines()}  # type: ignore[union-attr]
    assert shown == set(p.PAYLOADS)


def test_readme_examples_record_and_are_flagged_as_documented(db: str, tmp_path: Path) -> None:
    events = tmp_path / "readme.jsonl"
    events.write_text("\n".join(readme_lines()) + "\n", encoding="utf-8")
    env = {"CARELEDGER_ACTOR": "readme", "CARELEDGER_ROLE": "ADMIN"}
    runner = CliRunner()
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    result = runner.invoke(cli, ["record", "--db", db, "--file", str(events)], env=env)
    assert result.exit_code == 0, result.output
    assert f"recorded {len(readme_lines())} event(s)" in result.output
    flagged = runner.invoke(cli, ["unapproved", "--db", db, "--format", "json"])
    kinds = {row["kind"] for row in data_of(flagged.output)}
    assert kinds == {
        "IRO agreement not yet ratified by a review",
        "review not reasonably practicable",
        "placement ended without review",
        "child not consulted",
    }


def test_readme_shows_the_demo_drift_report_as_the_command_prints_it(tmp_path: Path) -> None:
    shown = README.read_text(encoding="utf-8").split("<!-- drift-report:start -->\n```text\n", 1)[1]
    shown = shown.split("```\n<!-- drift-report:end -->", 1)[0]
    db = str(tmp_path / "demo.db")
    env = {"COLUMNS": "160", "CARELEDGER_DB": None}
    assert CliRunner().invoke(cli, ["demo", "--db", db], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["drift", "--db", db, "--as-of", "2026-01-30"], env=env)
    assert result.exit_code == 0, result.output
    printed = "".join(line.rstrip() + "\n" for line in result.output.splitlines())
    assert printed == shown


def test_the_python_section_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    section = README.read_text(encoding="utf-8").split("## Use it from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "README's Python section has no code"
    monkeypatch.chdir(tmp_path)
    printed = subprocess.run(
        [sys.executable, "-c", code.group(1)], capture_output=True, text=True, check=False
    )
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == "2 ['placement'] True\n"
