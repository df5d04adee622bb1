"""A refused batch leaves no trace, in the store or in the ledger's memory of recent cases:
the next event of the same case takes the next number, and the plan shows nothing of the
refused batch."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from careledger.api import opened
from careledger.ledger.application import BatchRefused
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command

ACTOR = p.Actor(actor_id="sw-31", role="SW")
TM = {"name": "Nadia Osei", "role": "TM"}


def line(kind: str, on: str, **fields: object) -> dict[str, object]:
    return {
        "type": kind,
        "council": "E10000099",
        "child": "LK-15",
        "occurred_on": on,
        "source": f"LCS/{kind}/{on}",
        **fields,
    }


def test_refused_batch_does_not_leave_unsaved_events_in_the_cached_case(db: str) -> None:
    with opened(db, create_tables=True) as o:
        o.ledger.clock = lambda: datetime(2025, 6, 2, 10, tzinfo=UTC)
        o.ledger.record(
            [parse_command(line("ChildBecameLookedAfter", "2024-05-01", legal_status="V2"))], ACTOR
        )
        o.ledger.case("E10000099", "LK-15")  # now cached
        move = line(
            "CarePlanSectionChanged",
            "2024-08-12",
            change_id="CH-1",
            section="placement",
            content="Residential home 100 miles away",
            significant=True,
            decided_by=TM,
            authority={"kind": "none"},
        )
        bad = line(
            "ReviewHeld",
            "2024-08-20",
            review_id="R-1",
            chair={"name": "Ifeoma Bright", "role": "IRO"},
            participation="PN1",
            decisions=[{"kind": "approve", "proposal_id": "NEVER-PROPOSED"}],
        )
        with pytest.raises(BatchRefused):
            o.ledger.record([parse_command(move), parse_command(bad)], ACTOR)

        stay = line(
            "CarePlanSectionChanged",
            "2024-08-13",
            change_id="CH-1",
            section="placement",
            content="Stays at Brookside; risk plan first",
            significant=True,
            decided_by=TM,
            authority={"kind": "none"},
        )
        recorded = o.ledger.record([parse_command(stay)], ACTOR)
        assert recorded[0].seq == 3
        case = o.ledger.case("E10000099", "LK-15")
        assert case.version == 3
        assert [s.content for s in case.current_plan().values()] == [
            "Stays at Brookside; risk plan first"
        ]
