"""Rows kept with a batch of events (`CareLedger.record(..., kept_with=...)`), as the service
keeps a request's idempotency key and answer: inserted in the events' own transaction, on a
real SQLite file and a real PostgreSQL schema. A row refused by its table's unique key leaves
nothing of the batch recorded, and is not taken for a write conflict to be tried again."""

from __future__ import annotations

import select
from typing import Any

import pytest
from eventsourcing.postgres import PostgresApplicationRecorder

from careledger.api import Opened, opened
from careledger.ledger.application import Recorded
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.store.alongside import Alongside, AlongsideRefused
from careledger.service.tables import ServiceTables

COUNCIL, CHILD = "E10000077", "KW-04"
DUTY_TEAM = p.Actor(actor_id="duty-team", role="SW")


def came_into_care() -> dict[str, Any]:
    return {
        "type": "ChildBecameLookedAfter", "council": COUNCIL, "child": CHILD,
        "occurred_on": "2024-05-01", "source": "LCS/OPEN/1", "legal_status": "C2",
    }  # fmt: skip


def allocated(worker: str) -> dict[str, Any]:
    return {
        "type": "SocialWorkerAllocated", "council": COUNCIL, "child": CHILD,
        "occurred_on": "2024-05-13", "source": f"LCS/ALLOC/{worker}", "worker_id": worker,
    }  # fmt: skip


def key_row(key: str) -> Any:
    """The row the service keeps for a key, with the seq numbers recorded as its answer."""

    def kept(recorded: list[Recorded]) -> list[Alongside]:
        answer = ",".join(str(r.seq) for r in recorded)
        values = ("system:LCS", key, "digest", 201, answer, "2024-05-13T09:00:00+00:00")
        return [Alongside("careledger_idempotency", values)]

    return kept


def kept(o: Opened) -> list[dict[str, Any]]:
    return ServiceTables(o.ledger).fetch(
        "SELECT idempotency_key, response FROM {s}careledger_idempotency ORDER BY 1"
    )


@pytest.fixture
def ledger(o: Opened) -> Opened:
    ServiceTables(o.ledger).create()
    o.ledger.record([parse_command(came_into_care())], DUTY_TEAM)
    return o


def test_a_row_kept_with_the_events_is_stored_with_what_they_recorded(ledger: Opened) -> None:
    ledger.ledger.record([parse_command(allocated("SW-1"))], DUTY_TEAM, key_row("k-1"))
    assert kept(ledger) == [{"idempotency_key": "k-1", "response": "3"}]
    assert ledger.ledger.case(COUNCIL, CHILD).version == 3  # opened, came into care, allocated


def test_a_row_its_key_refuses_leaves_nothing_of_the_batch_recorded(ledger: Opened) -> None:
    ledger.ledger.record([parse_command(allocated("SW-1"))], DUTY_TEAM, key_row("k-1"))
    newest = ledger.ledger.recorder.max_notification_id()
    attempts = ledger.ledger.save_attempts
    ledger.ledger.save_attempts = 1  # a refusal taken for a conflict would then be one
    with pytest.raises(AlongsideRefused) as refused:
        ledger.ledger.record([parse_command(allocated("SW-2"))], DUTY_TEAM, key_row("k-1"))
    ledger.ledger.save_attempts = attempts
    assert refused.value.table == "careledger_idempotency"
    assert ledger.ledger.recorder.max_notification_id() == newest
    assert ledger.ledger.case(COUNCIL, CHILD).version == 3  # read past the cache, too
    assert kept(ledger) == [{"idempotency_key": "k-1", "response": "3"}]
    # the ledger goes on recording, its chain whole
    ledger.ledger.record([parse_command(allocated("SW-2"))], DUTY_TEAM, key_row("k-2"))
    assert ledger.ledger.case(COUNCIL, CHILD).version == 4
    assert [row["response"] for row in kept(ledger)] == ["3", "4"]
    assert ledger.verify().intact


def test_a_conflict_with_rows_kept_is_tried_again_however_soon_the_refusal_comes_back(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the events' insert and the rows kept with them go to the server in one
    pipeline. Here another writer has added to the case since this ledger cached it, and the
    server's refusal of the insert (the case's next sequence number is taken) is back before
    the kept rows are sent, as it may be on a busy machine: still it is a write conflict (not
    psycopg's "pipeline aborted", which the library would send again as a lost connection),
    the batch is tried again on the case as stored, and recorded once with its row."""
    with opened(postgres_db, create_tables=True) as first, opened(postgres_db) as other:
        ServiceTables(first.ledger).create()
        first.ledger.record([parse_command(came_into_care())], DUTY_TEAM)
        assert first.ledger.case(COUNCIL, CHILD).version == 2  # read, so cached
        other.ledger.record([parse_command(allocated("SW-1"))], DUTY_TEAM)
        insert = PostgresApplicationRecorder._insert_stored_events
        inserts: list[list[int]] = []  # each insert's sequence numbers, and if it was refused

        def refused_before_the_rest(recorder: Any, curs: Any, *args: Any, **kwargs: Any) -> None:
            insert(recorder, curs, *args, **kwargs)
            inserts.append([event.originator_version for event in args[0]])
            if len(inserts) == 1:  # the first attempt, on the stale case: the server refuses it
                readable, _, _ = select.select([curs.connection.fileno()], [], [], 10)
                assert readable, "the server did not refuse the insert"

        monkeypatch.setattr(
            PostgresApplicationRecorder, "_insert_stored_events", refused_before_the_rest
        )
        first.ledger.record([parse_command(allocated("SW-2"))], DUTY_TEAM, key_row("k-1"))
        # The refused insert was sent once (not again by the library's retry of what it took
        # for a lost connection), then the batch on the case as stored.
        assert inserts == [[3], [4]]
        assert first.ledger.case(COUNCIL, CHILD).version == 4
        assert kept(first) == [{"idempotency_key": "k-1", "response": "4"}]
        assert first.verify().intact
