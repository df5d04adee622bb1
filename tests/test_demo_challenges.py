"""The demo's IRO challenges: each case history's trail,
from the informal challenge to Cafcass, and the plan history showing the change a challenge
produced.

Callum (NR-0103, NAIRO's case 3, Ashley): a formal dispute fails at stage 1 and is
upheld at stage 2 by the service manager; staying put is restored to his pathway plan.
Alfie (NR-0203, case 8, Peter): escalated to the DCS and referred to Cafcass the same day;
Cafcass call it "procedural"; a High Court order stops the move."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner, Result

from careledger.cli.main import cli
from tests.envelope import data_of
from tests.test_demo_drift import ENV


def invoke(*args: Any) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=ENV)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("demo_challenges") / "demo.db")
    invoke("demo", "--db", path)
    return path


def history(db: str, child: str) -> list[str]:
    rows = data_of(invoke("history", "--db", db, child, "--format", "json").stdout)
    return [row["what"] for row in rows]


def challenges(db: str, *args: str) -> dict[str, Any]:
    out = invoke("challenges", "--db", db, "--as-of", "2026-01-30", "--format", "json", *args)
    data: dict[str, Any] = data_of(out.stdout)
    return data


def test_callums_plan_history_shows_the_challenge_its_stages_and_the_change_it_produced(
    demo_db: str,
) -> None:
    trail = [w for w in history(demo_db, "E10000099:NR-0103") if "CH-01" in w]
    assert [w.split(":")[0] for w in trail] == [
        "IRO challenge CH-01 raised at stage 1 (decision about CHG-03)",
        "challenge CH-01 answered by Joanne Maitland (TM)",
        "challenge CH-01 escalated to stage 2",
        "challenge CH-01 answered by Dawn Redfern (SERVICE_MANAGER)",
        "pathway changed (significant, CHG-04) by Dawn Redfern (SERVICE_MANAGER), authority "
        "IRO agreement (proposal PRO-03)",
        "challenge CH-01 resolved, upheld, by Dawn Redfern (SERVICE_MANAGER) (through change "
        "CHG-04)",
    ]
    assert trail[4].endswith("[came from challenge CH-01]")


def test_callums_challenge_was_upheld_at_stage_2_within_the_formal_limit(demo_db: str) -> None:
    """Formal from Friday 14/03/2025 (raised at stage 1) to Tuesday 08/04/2025: 17 working
    days (17-21, 24-28 March, 31 March-4 April, 7 and 8 April), within 20."""
    [row] = challenges(demo_db, "--child", "E10000099:NR-0103")["challenges"]
    assert (row["stage"], row["stage_name"]) == (2, "Stage 2")
    assert (row["outcome"], row["outcome_label"]) == (
        "upheld",
        "upheld at Stage 2, by change CHG-04",
    )
    assert (row["raised"], row["resolved"], row["age_days"]) == ("2025-03-14", "2025-04-08", 25)
    assert row["formal_working_days"] == 17
    assert (row["past_timescale"], row["resolved_late"], row["why_late"]) == (False, False, None)
    assert "change CHG-04" in row["changes"]
    assert [s["kind"] for s in row["steps"]] == [
        "responded",
        "escalated",
        "responded",
        "change",
        "resolved",
    ]


def test_alfies_challenge_reaches_cafcass_and_stays_open_at_the_dcs(demo_db: str) -> None:
    data = challenges(demo_db, "--open", "--iro", "fiona marchetti")
    [row] = data["challenges"]
    assert row["child"] == "E09000099:NR-0203"
    assert (row["stage"], row["stage_name"]) == (4, "Stage 4")
    assert (row["cafcass_referred"], row["cafcass_outcome"]) == ("2025-12-22", "no_action")
    assert (row["open"], row["outcome"], row["outcome_label"]) == (True, None, "open")
    assert row["changes"] == ["change CHG-05"]
    [fiona] = data["per_iro"]
    assert fiona == {
        "iro": "Fiona Marchetti",
        "raised": 2,
        "open": 1,
        "resolved_at": {"Informal": 1},
        "withdrawn": 0,
        "upheld": 1,
        "decided": 1,
        "upheld_rate": 1.0,
        "median_days_to_resolve": 12.0,
        "resolved_late": 0,
        "cafcass_referrals": 1,
    }
    trail = [w for w in history(demo_db, "E09000099:NR-0203") if "CH-01" in w]
    assert any(w.startswith("challenge CH-01: referred to Cafcass (s.25B(3))") for w in trail)
    assert any(w.startswith("challenge CH-01: Cafcass outcome no action") for w in trail)


def test_the_councils_challenge_statistics_on_the_inspection_day(demo_db: str) -> None:
    per_council = {r["council"]: r for r in challenges(demo_db)["per_council"]}
    assert per_council["E10000099"]["raised"] == 5
    assert per_council["E10000099"]["resolved_at"] == {"Informal": 2, "Stage 2": 1, "Stage 3": 2}
    assert per_council["E09000099"]["raised"] == 3
    assert per_council["E09000099"]["open"] == 2
    assert per_council["E09000099"]["cafcass_referrals"] == 1
