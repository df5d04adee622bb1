"""Periods of care keep their order; a correction may only refer to what existed before the
event it corrects; an IRO's agreement covers only the section it was proposed for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from careledger.api import opened
from careledger.ledger.application import BatchRefused
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command
from careledger.projections.rules import FlagKind

ACTOR = p.Actor(actor_id="sw-40", role="SW")
TM = {"name": "Marcus Hale", "role": "TM"}
IRO = {"name": "Ruth Okafor", "role": "IRO"}


def cmd(kind: str, on: str, **fields: Any) -> Any:
    return parse_command(
        {
            "type": kind,
            "council": "E10000099",
            "child": "RY-16",
            "occurred_on": on,
            "source": f"LCS/{kind}/{on}",
            **fields,
        }
    )


def refusal(o: Any, *commands: Any) -> tuple[str, str]:
    with pytest.raises(BatchRefused) as excinfo:
        o.ledger.record(list(commands), ACTOR)
    return excinfo.value.field, excinfo.value.problem


@pytest.fixture
def roy(db: str) -> Any:
    """Roy (NAIRO's case 5): s.20, sent home on a Friday, back in care weeks later."""
    with opened(db, create_tables=True) as o:
        o.ledger.clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)
        o.ledger.record(
            [
                cmd("ChildBecameLookedAfter", "2024-01-08", legal_status="V2"),
                cmd("ChildCeasedToBeLookedAfter", "2024-09-13", reason="E8"),
            ],
            ACTOR,
        )
        yield o


def test_return_to_care_cannot_be_dated_before_the_child_left_it(roy: Any) -> None:
    assert refusal(roy, cmd("ChildBecameLookedAfter", "2024-03-01", legal_status="V2")) == (
        "occurred_on",
        "2024-03-01 is before the child ceased to be looked after on 2024-09-13",
    )


def test_leaving_care_cannot_be_dated_before_the_period_of_care_began(roy: Any) -> None:
    roy.ledger.record([cmd("ChildBecameLookedAfter", "2024-11-04", legal_status="V2")], ACTOR)
    field, problem = refusal(roy, cmd("ChildCeasedToBeLookedAfter", "2024-10-01", reason="E8"))
    assert (field, problem) == (
        "occurred_on",
        "2024-10-01 is before this period of care began on 2024-11-04",
    )


def test_iro_agreement_for_one_section_cannot_authorise_another(roy: Any) -> None:
    roy.ledger.record(
        [
            cmd("ChildBecameLookedAfter", "2024-11-04", legal_status="V2"),
            cmd(
                "ChangeProposed",
                "2024-11-10",
                proposal_id="P-2",
                section="education",
                content="College course",
                significant=True,
                proposed_by=TM,
            ),
            cmd("IROAgreedChange", "2024-11-11", proposal_id="P-2", iro=IRO, reason="term starts"),
        ],
        ACTOR,
    )
    change = cmd(
        "CarePlanSectionChanged",
        "2024-11-12",
        change_id="CH-1",
        section="permanence",
        content="Return home",
        significant=True,
        decided_by=TM,
        authority={"kind": "iro_agreement", "proposal_id": "P-2"},
    )
    assert refusal(roy, change) == ("section", "proposal 'P-2' was for section 'education'")


def test_correction_cannot_make_a_review_decide_a_later_proposal(roy: Any) -> None:
    roy.ledger.record(
        [
            cmd("ChildBecameLookedAfter", "2024-11-04", legal_status="V2"),
            cmd("ReviewHeld", "2024-11-20", review_id="R-1", chair=IRO, participation="PN1"),
            cmd(
                "ChangeProposed",
                "2024-11-25",
                proposal_id="P-2",
                section="placement",
                content="Supported lodgings",
                significant=True,
                proposed_by=TM,
            ),
            cmd(
                "CarePlanSectionChanged",
                "2024-11-26",
                change_id="CH-1",
                section="placement",
                content="Supported lodgings",
                significant=True,
                decided_by=TM,
                authority={"kind": "none"},
            ),
        ],
        ACTOR,
    )
    correction = cmd(
        "CorrectionRecorded",
        "2024-11-27",
        corrects_seq=5,
        reason="wrong",
        corrected={"decisions": [{"kind": "approve", "proposal_id": "P-2"}]},
    )
    assert refusal(roy, correction) == (
        "decisions[0].proposal_id",
        "no proposed change 'P-2' in this case",
    )
    duplicate = cmd(
        "CarePlanSectionChanged",
        "2024-11-28",
        change_id="CH-1",
        section="placement",
        content="Again",
        significant=True,
        decided_by=TM,
        authority={"kind": "none"},
    )
    assert refusal(roy, duplicate) == ("change_id", "'CH-1' is already used in this case")


def test_plan_agreed_again_outside_a_review_that_moves_the_child_is_flagged(roy: Any) -> None:
    from careledger.projections import queries

    roy.ledger.record(
        [
            cmd("ChildBecameLookedAfter", "2024-11-04", legal_status="V2"),
            cmd(
                "CarePlanAgreed",
                "2024-11-15",
                decided_by=TM,
                sections={"placement": "Foster carers Mr and Mrs Hale", "health": "CAMHS"},
            ),
            cmd(
                "CarePlanAgreed",
                "2025-01-10",
                decided_by={"name": "Sam Ode", "role": "SW"},
                sections={"placement": "Residential unit 200 miles away", "health": "CAMHS"},
            ),
        ],
        ACTOR,
    )
    roy.catch_up()
    rows = queries.unapproved(roy.views, queries.Child("E10000099", "RY-16"))
    assert [(r["section"], r["occurred_on"], r["kind"], r["decided_by"]) for r in rows] == [
        # sent home after more than 20 working days under s.20, with no approval (reg 39(4))
        ("legal_status", "2024-09-13", FlagKind.CEASED_WITHOUT_APPROVAL, "not recorded"),
        ("placement", "2025-01-10", "made without review approval", "Sam Ode (SW)"),
    ]
