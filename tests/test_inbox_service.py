"""The IRO's inbox as JSON (`GET /iro/inbox`, `POST /iro/inbox/acknowledgements`) on a real
`careledger serve` over the demo's histories: the same checks as the page. Who acknowledges
comes from the session; a system's token has no inbox; a stale or repeated acknowledgement
is refused naming the field, and nothing is recorded.

In the demo IRO-04 is the IRO of NR-0101 and NR-0104 at council E10000099."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from careledger.api import opened
from tests.access_histories import OTHER
from tests.service_server import Person, Service, as_person, issue_token, served_demo, sign_in

IRO = "IRO-04"


@pytest.fixture(scope="module")
def served(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, str]]:
    people = [(IRO, "IRO", [OTHER])]
    with served_demo(demo_store, tmp_path_factory.mktemp("inbox-api"), people) as served:
        yield served


@pytest.fixture
def iro(served: tuple[Service, str]) -> Person:
    return sign_in(served[0], IRO)


def history_length(db: str, child: str) -> int:
    with opened(db) as ledger:
        return len(ledger.history(child))


def test_the_iro_reads_their_inbox_and_acknowledges_an_entry(
    served: tuple[Service, str], iro: Person
) -> None:
    service, db = served
    with service.client(**as_person(iro)) as client:
        listed = client.get("/iro/inbox")
        assert listed.status_code == 200
        entries = listed.json()["entries"]
        assert entries and {e["child"] for e in entries} <= {f"{OTHER}:NR-0101", f"{OTHER}:NR-0104"}
        entry = entries[0]
        done = client.post(
            "/iro/inbox/acknowledgements", json={"entry": entry["key"], "seen": entry["seen"]}
        )
        assert done.status_code == 201, done.text
        assert done.json()["acknowledged"]["key"] == entry["key"]
        after = client.get("/iro/inbox").json()["entries"]
        assert entry["key"] not in {e["key"] for e in after}
        again = client.post(
            "/iro/inbox/acknowledgements", json={"entry": entry["key"], "seen": entry["seen"]}
        )
        assert again.status_code == 422 and again.json()["field"] == "entry"
    with opened(db) as ledger:
        last = ledger.history(entry["child"])[-1]
    assert (last["type"], last["recorded_by"]) == ("IROInformed", f"{IRO} (IRO)")


def test_a_stale_acknowledgement_is_refused_and_nothing_recorded(
    served: tuple[Service, str], iro: Person
) -> None:
    service, db = served
    with service.client(**as_person(iro)) as client:
        entry = client.get("/iro/inbox").json()["entries"][0]
        before = history_length(db, entry["child"])
        stale = client.post(
            "/iro/inbox/acknowledgements",
            json={"entry": entry["key"], "seen": entry["seen"] - 1},
        )
    assert stale.status_code == 422
    assert stale.json()["field"] == "seen"
    assert "has changed since you read your inbox" in stale.json()["detail"]
    assert history_length(db, entry["child"]) == before


def test_the_body_cannot_say_who_acknowledges(served: tuple[Service, str], iro: Person) -> None:
    service, _ = served
    with service.client(**as_person(iro)) as client:
        entry = client.get("/iro/inbox").json()["entries"][0]
        forged = client.post(
            "/iro/inbox/acknowledgements",
            json={"entry": entry["key"], "seen": entry["seen"], "iro": "IRO-99"},
        )
    assert forged.status_code == 422


def test_an_acknowledgement_without_the_csrf_token_is_refused(
    served: tuple[Service, str], iro: Person
) -> None:
    service, _ = served
    cookie = {"Cookie": f"careledger_session={iro.cookie}"}
    with service.client(**cookie) as client:
        entry = client.get("/iro/inbox").json()["entries"][0]
        refused = client.post(
            "/iro/inbox/acknowledgements", json={"entry": entry["key"], "seen": entry["seen"]}
        )
    assert refused.status_code == 403
    assert refused.json()["field"] == "X-CSRF-Token"


def test_a_system_has_no_inbox(served: tuple[Service, str]) -> None:
    service, db = served
    token = issue_token(db, "LCS", OTHER)
    with service.client(Authorization=f"Bearer {token}") as client:
        listed = client.get("/iro/inbox")
        acknowledged = client.post(
            "/iro/inbox/acknowledgements", json={"entry": f"{OTHER}:NR-0104/5", "seen": 30}
        )
    assert listed.status_code == 403 and listed.json()["field"] == "role"
    assert acknowledged.status_code == 403 and acknowledged.json()["field"] == "role"


def test_a_system_cannot_record_an_acknowledgement_in_an_iros_name(
    served: tuple[Service, str],
) -> None:
    service, db = served
    token = issue_token(db, "LCS", OTHER)
    forged = {"type": "IROInformed", "council": OTHER, "child": "NR-0104",
              "occurred_on": "2026-01-05", "source": "LCS/NOTE/1", "event_seq": 5,
              "informed_of": ["significant change"],
              "iro": {"name": IRO, "role": "IRO"}}  # fmt: skip
    with service.client(Authorization=f"Bearer {token}") as client:
        refused = client.post("/events", json=forged)
    assert refused.status_code == 403
    assert refused.json()["field"] == "type"
