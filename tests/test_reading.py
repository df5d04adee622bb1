"""Reads never write: a ledger opened for reading (the read URL: a reader's role, or a
streaming replica) answers from the projections as they stand, says how far behind the
ledger they are, and its connections refuse every write, whoever asks. On a SQLite file and
on PostgreSQL, with Megan's history (the demo's staying-put case) recorded by a council's
system that leaves the projections to the projector."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner, Result

from careledger.api import opened
from careledger.cli.drift_output import as_json
from careledger.cli.main import cli
from careledger.ledger.application import CaseNotFound
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.errors import LedgerError
from careledger.projections.runner import ViewsReadOnly
from tests.test_api import MEGAN, megans_history

INSPECTION_DAY = date(2026, 1, 30)
STORE_REFUSALS = ("attempt to write a readonly database", "in a read-only transaction")
NEW_CHILD = {
    "type": "ChildBecameLookedAfter", "council": "E10000099", "child": "NR-0190",
    "occurred_on": "2025-01-06", "source": "LCS/EPI/190", "legal_status": "C2", "placement": "U4",
}  # fmt: skip


def recorded_without_catching_up(db: str) -> int:
    with opened(db, create_tables=True, catch_up=False) as ledger:
        return ledger.record(megans_history(), actor="lcs-feed", role="SW")


def test_a_read_before_the_projector_has_run_says_how_far_behind_and_writes_nothing(
    db: str,
) -> None:
    recorded = recorded_without_catching_up(db)
    with opened(db, reading=True) as ledger:
        lag = ledger.lag()
        assert (lag.events, lag.position, lag.newest) == (recorded + 1, 0, recorded + 1)
        assert lag.behind_since is not None and lag.projected_to is None
        assert lag.as_dict()["behind_since"] == lag.behind_since.isoformat()
        assert lag.described().startswith(f"the projections are {recorded + 1} event(s) behind")
        with pytest.raises(CaseNotFound):  # not projected yet: no case for the IRO to read
            ledger.plan(MEGAN)
        assert ledger.unapproved() == []
        assert ledger.lag() == lag  # reading caught nothing up


def test_after_the_projector_a_read_answers_as_the_ledger_does_and_the_lag_is_none(
    db: str,
) -> None:
    recorded_without_catching_up(db)
    with opened(db) as projecting:
        projecting.catch_up()
        plan, unapproved = projecting.plan(MEGAN), projecting.unapproved()
        drift = as_json(projecting.drift(INSPECTION_DAY, by="iro"))
    with opened(db, reading=True) as ledger:
        lag = ledger.lag()
        assert lag.events == 0 and lag.position == lag.newest and lag.behind_since is None
        assert lag.projected_to is not None
        assert lag.described() == "the projections hold every event recorded"
        assert ledger.plan(MEGAN) == plan and ledger.unapproved() == unapproved
        # The drift report reads its children without a temporary table here: the same.
        assert as_json(ledger.drift(INSPECTION_DAY, by="iro")) == drift


def test_every_write_through_a_ledger_opened_for_reading_is_refused(db: str) -> None:
    recorded = recorded_without_catching_up(db)
    with opened(db, reading=True) as ledger:
        with pytest.raises(LedgerError, match="was opened for reading"):
            ledger.record(megans_history()[:1], actor="lcs-feed", role="SW")
        with pytest.raises(LedgerError, match="was opened for reading"):
            ledger.rebuild()
        with pytest.raises(ViewsReadOnly):
            ledger.projector.catch_up()
        assert ledger.catch_up() == 0  # a read never catches up
        # Past the API, the database itself refuses: the ledger's connections and the views'.
        one = parse_command(NEW_CHILD)
        with pytest.raises(Exception) as refused:
            ledger.ledger.record([one], p.Actor(actor_id="lcs-feed", role=Role.SW))
        assert any(words in str(refused.value) for words in STORE_REFUSALS), refused.value
        with pytest.raises(Exception) as refused:
            ledger.views.reset(ledger.ledger.name)
        assert any(words in str(refused.value) for words in STORE_REFUSALS), refused.value
    with opened(db, reading=True) as ledger:
        assert ledger.lag().newest == recorded + 1  # nothing recorded, nothing projected
        assert ledger.lag().position == 0


ENV = {"CARELEDGER_DB": None, "CARELEDGER_READ_DB": None, "CARELEDGER_CATCH_UP": None}


def invoke(*args: str, **env: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={**ENV, **env})


def test_read_commands_catch_up_by_default_and_not_when_the_projector_keeps_them(
    db: str,
) -> None:
    recorded_without_catching_up(db)
    behind = invoke("plan", MEGAN, "--db", db, CARELEDGER_CATCH_UP="false")
    assert invoke("plan", MEGAN, "--db", db, "--no-catch-up").stderr == behind.stderr
    assert behind.exit_code == 1  # not projected yet: no case
    assert behind.stderr.startswith(
        f"note: the projections are {len(megans_history()) + 1} event(s) behind the ledger, "
        "recorded since "
    )
    assert "no case for child 'NR-0102'" in behind.stderr
    caught_up = invoke("plan", MEGAN, "--db", db, "--format", "json")  # the embedded default
    assert caught_up.exit_code == 0 and caught_up.stderr == ""
    sections = {row["section"] for row in json.loads(caught_up.stdout)["data"]}
    assert sections >= {"placement", "pathway"}
    status = invoke("projections", "status", "--db", db, "--format", "json")
    assert json.loads(status.stdout)["data"][0]["lag"] == 0


def test_read_commands_read_at_the_read_url_without_writing_there(db: str) -> None:
    """The read URL names the same ledger here by another spelling; it is opened for
    reading all the same, as a replica would be."""
    recorded_without_catching_up(db)
    spelt_otherwise = (":5432/", "/") if "://" in db else ("/careledger.", "/./careledger.")
    read_url = db.replace(*spelt_otherwise)
    assert read_url != db
    read = invoke("unapproved", "--format", "json", CARELEDGER_DB=db, CARELEDGER_READ_DB=read_url)
    assert read.exit_code == 0 and json.loads(read.stdout)["data"] == []
    assert "event(s) behind the ledger" in read.stderr
    with opened(db) as projecting:
        projecting.catch_up()
    read = invoke("unapproved", "--format", "json", CARELEDGER_DB=db, CARELEDGER_READ_DB=read_url)
    assert read.exit_code == 0 and read.stderr == ""
    assert any(row["child"] == "NR-0102" for row in json.loads(read.stdout)["data"])


def test_a_catch_up_setting_that_is_not_true_or_false_is_named() -> None:
    result = invoke("plan", MEGAN, CARELEDGER_CATCH_UP="sometimes")
    assert result.exit_code == 2
    assert "Invalid value for '--catch-up': 'sometimes' is not a valid boolean" in result.stderr
