"""Group commit (`ledger.group_commit`): small requests that arrive while another is being
recorded share one transaction, on a real SQLite file and a real PostgreSQL schema, and each
is still recorded all or nothing, as if it had come alone: a request refused within a group
gets its own refusal, with its own place, and the others are recorded.

A group is made to form by marking a recording as under way while the requests arrive, as
a request being recorded does in the service."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from careledger.api import Opened, opened
from careledger.cli.main import cli
from careledger.ledger.application import (
    BatchRefused,
    CareLedger,
    Recorded,
    RecordingRequest,
)
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.errors import CaseNotFound, LedgerError
from careledger.ledger.group_commit import SMALL_REQUEST, GroupCommit
from careledger.ledger.store.alongside import Alongside, AlongsideRefused
from careledger.service.tables import ServiceTables
from tests.test_two_writers import CHILD, IRO, IRO_SERVICE, SOCIAL_WORKER, proposal, two_writers
from tests.test_two_writers import COUNCIL as SHARED_COUNCIL

COUNCIL = "E10000077"
LCS = p.Actor(actor_id="LCS", role="ADMIN")
DUTY_TEAM = p.Actor(actor_id="duty-team", role="SW")


def came_into_care(child: str) -> Command:
    return parse_command({
        "type": "ChildBecameLookedAfter", "council": COUNCIL, "child": child,
        "occurred_on": "2024-05-01", "source": f"LCS/OPEN/{child}", "legal_status": "C2",
    })  # fmt: skip


def allocated(child: str, worker: str) -> Command:
    return parse_command({
        "type": "SocialWorkerAllocated", "council": COUNCIL, "child": child,
        "occurred_on": "2024-05-13", "source": f"LCS/ALLOC/{child}/{worker}",
        "worker_id": worker,
    })  # fmt: skip


class Counted(GroupCommit):
    """The group commit as it is, counting the groups it records (`together`, their sizes)
    and the requests it records one by one with `CareLedger.record` (`alone`, their first
    child): a group recorded in one transaction leaves `alone` empty."""

    def __init__(self, ledger: CareLedger) -> None:
        super().__init__(ledger)
        self.together: list[int] = []
        self.alone: list[str] = []

    def _record(self, group: list[Any]) -> None:
        self.together.append(len(group))
        record = self.ledger.record

        def counted(commands: Sequence[Command], *rest: Any) -> list[Recorded]:
            self.alone.append(commands[0].child_ref)
            return record(commands, *rest)

        self.ledger.record = counted  # type: ignore[method-assign]
        try:
            super()._record(group)
        finally:
            del self.ledger.record  # the class's own again


def arriving_together(
    group: GroupCommit, requests: Sequence[RecordingRequest]
) -> list[list[Recorded] | BaseException]:
    """Each request sent on a thread of its own while a recording is under way, which then
    ends: the first thread to go records the others' requests with its own."""
    outcomes: list[list[Recorded] | BaseException] = [[] for _ in requests]

    def send(place: int, request: RecordingRequest) -> None:
        try:
            outcomes[place] = group.record(*request)
        except Exception as error:
            outcomes[place] = error

    threads = [threading.Thread(target=send, args=pair) for pair in enumerate(requests)]
    with group._changed:
        group._leading = True  # as while another request is being recorded
    for thread in threads:
        thread.start()
    while len(group._queue) < len(requests):
        threading.Event().wait(0.001)
    with group._changed:
        group._leading = False
        group._changed.notify_all()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def recorded_by(o: Opened, child: str) -> list[tuple[str, str]]:
    events, _ = o.ledger.verified_events(o.ledger.case(COUNCIL, child).id)
    return [(type(e).__name__, e.recorded_by.actor_id) for e in events[1:]]


def test_requests_arriving_together_are_recorded_in_one_transaction(o: Opened) -> None:
    group = Counted(o.ledger)
    requests = [
        RecordingRequest([came_into_care("KW-01")], LCS),
        RecordingRequest([came_into_care("KW-02"), allocated("KW-02", "SW-7")], DUTY_TEAM),
        RecordingRequest([came_into_care("KW-03")], LCS),
    ]
    outcomes = arriving_together(group, requests)
    assert group.together == [3]
    assert group.alone == []  # one transaction, not each request on its own
    assert [[(r.child_ref, r.seq, r.event_type) for r in made] for made in outcomes] == [  # type: ignore[union-attr]
        [("KW-01", 2, "ChildBecameLookedAfter")],
        [("KW-02", 2, "ChildBecameLookedAfter"), ("KW-02", 3, "SocialWorkerAllocated")],
        [("KW-03", 2, "ChildBecameLookedAfter")],
    ]
    # each event recorded by whoever sent its own request
    assert recorded_by(o, "KW-01") == [("ChildBecameLookedAfter", "LCS")]
    assert recorded_by(o, "KW-02") == [
        ("ChildBecameLookedAfter", "duty-team"),
        ("SocialWorkerAllocated", "duty-team"),
    ]


def test_a_request_refused_in_a_group_is_refused_alone_and_the_others_are_recorded(
    o: Opened,
) -> None:
    group = Counted(o.ledger)
    requests = [
        RecordingRequest([came_into_care("KW-01")], LCS),
        # no case yet for KW-09: its second event is refused, with its own place
        RecordingRequest([allocated("KW-09", "SW-1")], LCS),
        RecordingRequest([came_into_care("KW-03"), allocated("KW-03", "SW-2")], LCS),
    ]
    outcomes = arriving_together(group, requests)
    assert group.together == [3]  # tried together, then each alone
    refused = outcomes[1]
    assert isinstance(refused, BatchRefused)
    assert (refused.index, refused.field) == (0, "child")
    assert [len(made) for made in (outcomes[0], outcomes[2])] == [1, 2]  # type: ignore[arg-type]
    assert o.ledger.case(COUNCIL, "KW-03").version == 3
    with pytest.raises(CaseNotFound):
        o.ledger.case(COUNCIL, "KW-09")


def key_row(key: str) -> Any:
    def kept(recorded: list[Recorded]) -> list[Alongside]:
        answer = ",".join(f"{r.child_ref}:{r.seq}" for r in recorded)
        values = ("system:LCS", key, "digest", 201, answer, "2024-05-13T09:00:00+00:00")
        return [Alongside("careledger_idempotency", values)]

    return kept


def test_two_requests_with_one_key_in_a_group_record_once(o: Opened) -> None:
    """A client's retry that arrives beside its first attempt: the key's unique row refuses
    the shared transaction, and alone one of the two is recorded, the other refused by the
    key, as the service then answers it from the key."""
    ServiceTables(o.ledger).create()
    o.ledger.record([came_into_care("KW-05")], LCS)
    group = Counted(o.ledger)
    same = [allocated("KW-05", "SW-3")]
    requests = [
        RecordingRequest(same, LCS, key_row("retry-1")),
        RecordingRequest([came_into_care("KW-06")], LCS, key_row("other")),
        RecordingRequest(same, LCS, key_row("retry-1")),
    ]
    outcomes = arriving_together(group, requests)
    assert isinstance(outcomes[2], AlongsideRefused)
    assert [len(made) for made in outcomes[:2]] == [1, 1]  # type: ignore[arg-type]
    assert o.ledger.case(COUNCIL, "KW-05").version == 3  # allocated once
    kept = ServiceTables(o.ledger).fetch(
        "SELECT idempotency_key, response FROM {s}careledger_idempotency ORDER BY 1"
    )
    assert kept == [
        {"idempotency_key": "other", "response": "KW-06:2"},
        {"idempotency_key": "retry-1", "response": "KW-05:3"},
    ]


def test_a_large_request_is_recorded_on_its_own(o: Opened) -> None:
    group = Counted(o.ledger)
    children = [f"KW-{n:02}" for n in range(SMALL_REQUEST + 1)]
    made = group.record([came_into_care(child) for child in children], LCS)
    assert len(made) == SMALL_REQUEST + 1
    assert group.together == []  # straight to the ledger, not through a group


def test_a_lone_request_is_recorded_as_the_ledger_records_it(o: Opened) -> None:
    group = Counted(o.ledger)
    made = group.record([came_into_care("KW-01")], LCS)
    assert [(r.child_ref, r.seq) for r in made] == [("KW-01", 2)]
    with pytest.raises(BatchRefused) as refused:
        group.record([allocated("KW-02", "SW-1")], LCS)
    assert refused.value.field == "child"
    assert group.together == [1, 1]


def test_a_group_that_fails_after_its_commit_is_not_recorded_again(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signed head cannot be written to the head log outside the database, after the
    group's events were committed: each request hears of it, as it would alone, and none is
    recorded a second time."""
    key, log = tmp_path / "heads.key", tmp_path / "heads.log"
    made = CliRunner().invoke(cli, ["head-key", str(key)])
    assert made.exit_code == 0, made.output
    monkeypatch.setenv("CARELEDGER_HEAD_KEY_FILE", str(key))
    monkeypatch.setenv("CARELEDGER_HEAD_LOG", str(log))
    with opened(db, create_tables=True) as o:
        o.ledger.record([came_into_care("KW-01"), came_into_care("KW-02")], LCS)
        os.remove(log)
        os.mkdir(log)  # no longer a file the head can be appended to
        group = Counted(o.ledger)
        requests = [
            RecordingRequest([allocated("KW-01", "SW-1")], LCS),
            RecordingRequest([allocated("KW-02", "SW-2")], LCS),
        ]
        outcomes = arriving_together(group, requests)
        assert group.together == [2]
        assert all(isinstance(outcome, LedgerError) for outcome in outcomes), outcomes
        assert "could not be written" in str(outcomes[0])
        # stored once, by the group's commit
        assert [o.ledger.case(COUNCIL, child).version for child in ("KW-01", "KW-02")] == [3, 3]


def test_a_request_refused_on_a_stale_cached_case_in_a_group_is_recorded_alone(db: str) -> None:
    """Another writer proposed a change to a case this process holds in memory: on the held
    case, a review approving that proposal is refused. The group is not tried again as a
    whole; alone, the review is tried again on the case as stored, and recorded."""
    with two_writers(db) as (iro, sw):
        proposal("P-1", "2024-02-05", sw, SOCIAL_WORKER)
        review = parse_command({
            "type": "ReviewHeld", "council": SHARED_COUNCIL, "child": CHILD,
            "occurred_on": "2024-02-06", "source": "LCS/REVIEW/R-1", "review_id": "R-1",
            "chair": IRO, "participation": "PN1",
            "decisions": [{"kind": "approve", "proposal_id": "P-1"}],
        })  # fmt: skip
        other = parse_command({
            "type": "ChildBecameLookedAfter", "council": SHARED_COUNCIL, "child": "TW-05",
            "occurred_on": "2024-02-06", "source": "LCS/OPEN/TW-05", "legal_status": "C2",
        })  # fmt: skip
        group = Counted(iro.ledger)
        requests = [RecordingRequest([review], IRO_SERVICE), RecordingRequest([other], LCS)]
        outcomes = arriving_together(group, requests)
        assert group.together == [2]
        assert group.alone == [CHILD, "TW-05"]  # the group tried once, then each request alone
        assert [[(r.child_ref, r.seq) for r in made] for made in outcomes] == [  # type: ignore[union-attr]
            [(CHILD, 4)],
            [("TW-05", 2)],
        ]
