"""`careledger record --file -` reads the events from standard input, as a council's feed
piped from its case system would give them: all recorded, or none."""

from __future__ import annotations

import json

from click.testing import CliRunner

from careledger.cli.main import cli
from tests.test_cli_end_to_end import ENV, ev, history, init, looked_after


def test_events_piped_in_are_recorded(sqlite_db: str) -> None:
    init(sqlite_db)
    lines = [
        looked_after("ST-0101", "2024-05-13", "V2", "U4"),
        ev("ST-0101", "IROAllocated", "2024-05-15", iro_id="IRO-7", iro_name="A. Khan"),
    ]
    piped = "".join(json.dumps(line) + "\n" for line in lines)

    result = CliRunner().invoke(
        cli, ["record", "--db", sqlite_db, "--file", "-"], input=piped, env=ENV
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "recorded 2 event(s)"
    assert [row["type"] for row in history(sqlite_db, "ST-0101")][-1] == "IROAllocated"


def test_a_bad_line_piped_in_records_nothing(sqlite_db: str) -> None:
    init(sqlite_db)
    piped = json.dumps(looked_after("ST-0102", "2024-05-13", "V2", "U4")) + "\n{not json\n"

    result = CliRunner().invoke(
        cli, ["record", "--db", sqlite_db, "--file", "-"], input=piped, env=ENV
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("error: line 2")
    assert "nothing recorded" in result.stderr
