"""Two ledgers writing to one store, as two processes of a council's system would: each keeps
the cases it has used in memory, and neither records on an out-of-date copy of a case.

Recording uses a cached case without asking the store whether another writer added to it
(`CareLedger._stored_case`), so these tests prove what catches a stale case: the save's
conflict on the case's next sequence number, and a second try of a refused batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest

from careledger.api import Opened, opened
from careledger.ledger.application import BatchRefused
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command

IRO_SERVICE = p.Actor(actor_id="iro-7", role="IRO")
SOCIAL_WORKER = p.Actor(actor_id="sw-12", role="SW")
COUNCIL, CHILD = "E10000099", "TW-04"
IRO = {"name": "Dana Whitlock", "role": "IRO"}
SW = {"name": "Omar Reece", "role": "SW"}


def record(o: Opened, kind: str, on: str, actor: p.Actor, **fields: Any) -> None:
    line = {"type": kind, "council": COUNCIL, "child": CHILD, "occurred_on": on}
    o.ledger.record([parse_command({**line, "source": f"LCS/{kind}/{on}", **fields})], actor)


def proposal(proposal_id: str, on: str, o: Opened, actor: p.Actor) -> None:
    record(
        o,
        "ChangeProposed",
        on,
        actor,
        proposal_id=proposal_id,
        section="education",
        content="Move to St Anne's primary",
        significant=True,
        proposed_by=SW,
    )


@contextmanager
def two_writers(db: str) -> Iterator[tuple[Opened, Opened]]:
    """The IRO's ledger has the child's case in memory; the social worker's does not."""
    with opened(db, create_tables=True) as iro, opened(db) as sw:
        for o in (iro, sw):
            o.ledger.clock = lambda: datetime(2024, 6, 3, 9, tzinfo=UTC)
        record(iro, "ChildBecameLookedAfter", "2024-01-08", IRO_SERVICE, legal_status="C2")
        iro.ledger.case(COUNCIL, CHILD)  # read, so now cached
        yield iro, sw


def kinds(o: Opened) -> list[tuple[int, str]]:
    case = o.ledger.case(COUNCIL, CHILD)
    return [(seq, type(entry.payload).__name__) for seq, entry in sorted(case.entries.items())]


def test_a_review_approving_what_the_other_writer_proposed_is_recorded(db: str) -> None:
    with two_writers(db) as (iro, sw):
        proposal("P-1", "2024-02-05", sw, SOCIAL_WORKER)

        # The IRO's cached case has no P-1: on it alone the review would be refused.
        record(
            iro,
            "ReviewHeld",
            "2024-02-06",
            IRO_SERVICE,
            review_id="R-1",
            chair=IRO,
            participation="PN1",
            decisions=[{"kind": "approve", "proposal_id": "P-1"}],
        )

        assert kinds(sw) == [
            (2, "ChildBecameLookedAfter"),
            (3, "ChangeProposed"),
            (4, "ReviewHeld"),
        ]


def test_an_event_after_the_other_writers_takes_the_next_number_and_loses_nothing(
    db: str,
) -> None:
    with two_writers(db) as (iro, sw):
        proposal("P-1", "2024-02-05", sw, SOCIAL_WORKER)

        record(
            iro,
            "IROAllocated",
            "2024-02-07",
            IRO_SERVICE,
            iro_id="IRO-3",
            iro_name="Dana Whitlock",
            reason="first allocation",
        )

        assert kinds(sw) == [
            (2, "ChildBecameLookedAfter"),
            (3, "ChangeProposed"),
            (4, "IROAllocated"),
        ]
        assert kinds(iro) == kinds(sw)


def test_what_the_other_writer_made_wrong_is_refused_not_recorded_twice(db: str) -> None:
    with two_writers(db) as (iro, sw):
        proposal("P-1", "2024-02-05", sw, SOCIAL_WORKER)

        # On the IRO's cached case P-1 is new; on the case as stored it is already used.
        with pytest.raises(BatchRefused) as refused:
            proposal("P-1", "2024-02-06", iro, IRO_SERVICE)

        assert refused.value.field == "proposal_id"
        assert "already used" in refused.value.problem
        assert [kind for _, kind in kinds(iro)] == ["ChildBecameLookedAfter", "ChangeProposed"]
