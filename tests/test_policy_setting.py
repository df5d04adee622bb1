"""Which sections are presumed significant is a council's policy (docs/rules.md §6: the
regulations do not define "significant"); the views are built under one setting at a time."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from careledger.cli.main import cli
from tests.envelope import data_of

HISTORY = [
    {
        "type": "ChildBecameLookedAfter",
        "council": "E10000099",
        "child": "PS-1",
        "occurred_on": "2024-02-05",
        "source": "LCS/1",
        "legal_status": "C2",
    },
    {
        "type": "CarePlanSectionChanged",
        "council": "E10000099",
        "child": "PS-1",
        "occurred_on": "2024-04-02",
        "source": "LCS/2",
        "change_id": "CH-1",
        "section": "education",
        "content": "Moved to Park Lane Academy",
        "significant": False,
        "decided_by": {"name": "Ann Lowe", "role": "TM"},
        "authority": {"kind": "none"},
    },
]
ACTOR = {"CARELEDGER_ACTOR": "sw-9", "CARELEDGER_ROLE": "SW"}


def kinds(runner: CliRunner, db: str, env: dict[str, str]) -> list[str]:
    result = runner.invoke(cli, ["unapproved", "--db", db, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return [row["kind"] for row in data_of(result.output)]


def test_changing_the_policy_requires_a_rebuild_and_the_rebuild_applies_it(
    db: str, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(line) for line in HISTORY) + "\n")
    runner = CliRunner()
    default = {"CARELEDGER_PRESUMED_SIGNIFICANT": None}
    education = {"CARELEDGER_PRESUMED_SIGNIFICANT": "placement,education"}
    assert runner.invoke(cli, ["init", "--db", db]).exit_code == 0
    recorded = runner.invoke(
        cli, ["record", "--db", db, "--file", str(events)], env={**ACTOR, **default}
    )
    assert recorded.exit_code == 0, recorded.output
    assert kinds(runner, db, default) == []

    refused = runner.invoke(cli, ["unapproved", "--db", db], env=education)
    assert refused.exit_code == 1
    assert "run 'careledger projections rebuild'" in refused.output

    rebuilt = runner.invoke(cli, ["projections", "rebuild", "--db", db], env=education)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert kinds(runner, db, education) == ["significance questioned"]
