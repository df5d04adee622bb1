"""Recording through `careledger serve`: a council's case-management system posts events
with its API token to a real uvicorn server, on SQLite and PostgreSQL. A batch is recorded
whole or not at all, refusals are problem details naming the item or line and the field, the
recorder is who signed in, and a retried POST records once, even when its copies arrive at
once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from careledger.api import opened
from careledger.ledger.errors import CaseNotFound
from careledger.service.tables import ServiceTables
from tests.service_server import Service, issue_token, prepare, revoke_token, running

COUNCIL = "E10000099"
OTHER_COUNCIL = "E09000027"
PROBLEM = "application/problem+json"


def came_into_care(child: str, council: str = COUNCIL) -> dict[str, object]:
    return {
        "type": "ChildBecameLookedAfter", "council": council, "child": child,
        "occurred_on": "2025-01-06", "source": "LCS/EPI/1", "legal_status": "C2",
        "placement": "U4",
    }  # fmt: skip


def plan_agreed(child: str) -> dict[str, object]:
    return {
        "type": "CarePlanAgreed", "council": COUNCIL, "child": child,
        "occurred_on": "2025-01-17", "source": "LCS/PLAN/1",
        "decided_by": {"name": "O. Pryce", "role": "TM"},
        "sections": {"placement": "Foster placement with Ms Varga (U4)"},
    }  # fmt: skip


def recorded_of(db: str, child: str, council: str = COUNCIL) -> int:
    """How many events the child's case holds (0: no case)."""
    with opened(db) as ledger:
        try:
            return len(ledger.history(f"{council}:{child}"))
        except CaseNotFound:
            return 0


@pytest.fixture(scope="module")
def db(served_db: str) -> str:
    prepare(served_db)
    return served_db


@pytest.fixture(scope="module")
def service(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with running(db, tmp_path_factory.mktemp("serve")) as started:
        yield started


@pytest.fixture(scope="module")
def lcs(db: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(db, 'LCS', COUNCIL)}"}


def test_a_batch_from_the_councils_system_is_recorded_as_that_system(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    with service.client(**lcs) as client:
        answer = client.post("/events", json=[came_into_care("SV-01"), plan_agreed("SV-01")])
    assert answer.status_code == 201, answer.text
    assert answer.json()["recorded"] == 2
    assert [e["seq"] for e in answer.json()["events"]] == [2, 3]  # event 1 opens the case
    with opened(db) as ledger:
        history = ledger.history(f"{COUNCIL}:SV-01")
        plan = ledger.plan(f"{COUNCIL}:SV-01")
    assert {row["recorded_by"] for row in history[1:]} == {"LCS (ADMIN)"}, history
    assert [row["section"] for row in plan] == ["placement"]


def test_a_batch_with_one_bad_event_records_nothing_and_names_the_item_and_field(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    bad = plan_agreed("SV-02") | {"occurred_on": "17/01/2025"}
    with service.client(**lcs) as client:
        answer = client.post("/events", json=[came_into_care("SV-02"), bad])
        assert client.get("/health").status_code == 200  # and it keeps serving
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM
    problem = answer.json()
    assert (problem["index"], problem["field"]) == (1, "occurred_on")
    assert problem["detail"].startswith("item 1, field 'occurred_on': ")
    assert problem["detail"].endswith("; nothing recorded")
    assert recorded_of(db, "SV-02") == 0


def test_json_lines_are_refused_by_line_as_careledger_record_refuses_them(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    lines = [json.dumps(came_into_care("SV-03")), json.dumps(plan_agreed("SV-03") | {"x": 1})]
    with service.client(**lcs) as client:
        answer = client.post(
            "/events", content="\n".join(lines) + "\n",
            headers={"Content-Type": "application/x-ndjson"},
        )  # fmt: skip
    assert answer.status_code == 422
    problem = answer.json()
    assert (problem["line"], problem["field"]) == (2, "x")
    assert (
        problem["detail"]
        == "line 2, field 'x': is not a field of this event type; nothing recorded"
    )
    assert recorded_of(db, "SV-03") == 0


def test_a_body_naming_who_recorded_is_refused(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    claimed = came_into_care("SV-04") | {"recorded_by": {"actor_id": "dcs", "role": "DCS"}}
    with service.client(**lcs) as client:
        answer = client.post("/events", json=claimed)
    assert answer.status_code == 403
    assert answer.json()["field"] == "recorded_by"
    assert recorded_of(db, "SV-04") == 0


def test_a_token_records_for_its_own_council_only(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    batch = [came_into_care("SV-05"), came_into_care("SV-06", OTHER_COUNCIL)]
    with service.client(**lcs) as client:
        answer = client.post("/events", json=batch)
    assert answer.status_code == 403
    assert (answer.json()["field"], answer.json()["index"]) == ("council", 1)
    assert recorded_of(db, "SV-05") == recorded_of(db, "SV-06", OTHER_COUNCIL) == 0


@pytest.mark.parametrize("how", ["expired", "revoked", "unknown"])
def test_a_token_expired_revoked_or_unknown_is_refused(db: str, service: Service, how: str) -> None:
    lasts = timedelta(microseconds=1) if how == "expired" else timedelta(days=1)
    secret = issue_token(db, "LCS", COUNCIL, lasts)
    if how == "revoked":
        revoke_token(db, secret)
    presented = secret + "x" if how == "unknown" else secret
    with service.client(Authorization=f"Bearer {presented}") as client:
        answer = client.post("/events", json=came_into_care(f"SV-07-{how}"))
    assert answer.status_code == 401
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["field"] == "Authorization"
    assert how in answer.json()["detail"]
    assert recorded_of(db, f"SV-07-{how}") == 0


def test_a_retried_post_with_its_idempotency_key_records_once(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    batch = [came_into_care("SV-08"), plan_agreed("SV-08")]
    with service.client(**lcs) as client:
        first = client.post("/events", json=batch, headers={"Idempotency-Key": "lcs-batch-8"})
        again = client.post("/events", json=batch, headers={"Idempotency-Key": "lcs-batch-8"})
        other = client.post(
            "/events", json=[came_into_care("SV-09")], headers={"Idempotency-Key": "lcs-batch-8"}
        )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["field"] == "Idempotency-Key"
    assert recorded_of(db, "SV-08") == 3  # the case opened, and the two events: once
    assert recorded_of(db, "SV-09") == 0


def test_a_key_is_kept_per_principal(db: str, service: Service, lcs: dict[str, str]) -> None:
    mosaic = {"Authorization": f"Bearer {issue_token(db, 'MOSAIC', COUNCIL)}"}
    key = {"Idempotency-Key": "batch-1"}
    with service.client() as client:
        one = client.post("/events", json=came_into_care("SV-10"), headers=lcs | key)
        two = client.post("/events", json=came_into_care("SV-11"), headers=mosaic | key)
    assert (one.status_code, two.status_code) == (201, 201)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""]
)
def test_a_wrong_content_type_is_refused_naming_it(
    db: str, service: Service, lcs: dict[str, str], content_type: str
) -> None:
    body = json.dumps(came_into_care("SV-12"))
    with service.client(**lcs) as client:
        answer = client.post("/events", content=body, headers={"Content-Type": content_type})
    assert answer.status_code == 415
    assert answer.json()["field"] == "Content-Type"
    assert recorded_of(db, "SV-12") == 0


def test_an_oversized_body_is_refused_and_the_service_keeps_serving(
    db: str, tmp_path: Path, lcs: dict[str, str]
) -> None:
    events = [came_into_care(f"SV-{n:05d}") for n in range(400)]
    limit = {"CARELEDGER_MAX_BODY_BYTES": "20000"}
    with running(db, tmp_path, **limit) as small, small.client(**lcs) as client:
        declared = client.post("/events", json=events)
        streamed = client.post(
                "/events", content=_chunks(json.dumps(events).encode()),
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
        still = client.post("/events", json=came_into_care("SV-13"))
    for answer in (declared, streamed):
        assert answer.status_code == 413
        assert answer.headers["content-type"] == PROBLEM
        assert answer.json()["field"] == "(body)"
        assert "CARELEDGER_MAX_BODY_BYTES" in answer.json()["detail"]
    assert still.status_code == 201
    assert recorded_of(db, "SV-00000") == 0


def _chunks(data: bytes) -> object:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


def test_a_council_that_is_no_councils_code_is_refused_naming_it(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    with service.client(**lcs) as client:
        answer = client.post("/events", json=[came_into_care("SV-14", "NOT-A-COUNCIL")])
    assert answer.status_code == 422
    assert (answer.json()["field"], answer.json()["index"]) == ("council", 0)
    assert recorded_of(db, "SV-14", "NOT-A-COUNCIL") == 0


def allocated(child: str, worker: str) -> dict[str, object]:
    """An event with no id of its own: recorded twice, it would be there twice."""
    return {
        "type": "SocialWorkerAllocated", "council": COUNCIL, "child": child,
        "occurred_on": "2025-01-20", "source": f"LCS/ALLOC/{worker}", "worker_id": worker,
    }  # fmt: skip


def kept_keys(db: str, key: str) -> list[dict[str, object]]:
    with opened(db) as ledger:
        return ServiceTables(ledger.ledger).fetch(
            "SELECT status FROM {s}careledger_idempotency WHERE idempotency_key = ?", [key]
        )


def test_a_refused_batch_keeps_no_key_so_the_corrected_batch_records_with_it(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    key = {"Idempotency-Key": "lcs-batch-20"}
    bad = plan_agreed("SV-20") | {"occurred_on": "17/01/2025"}
    with service.client(**lcs) as client:
        refused = client.post("/events", json=[came_into_care("SV-20"), bad], headers=key)
        assert refused.status_code == 422
        assert kept_keys(db, "lcs-batch-20") == []
        corrected = [came_into_care("SV-20"), plan_agreed("SV-20")]
        recorded = client.post("/events", json=corrected, headers=key)
    assert recorded.status_code == 201, recorded.text
    assert "Idempotent-Replayed" not in recorded.headers
    assert kept_keys(db, "lcs-batch-20") == [{"status": 201}]
    assert recorded_of(db, "SV-20") == 3


def test_requests_sent_at_once_with_one_key_record_once(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    """Eight copies of one request, sent at the same moment: the key's unique row, kept in
    the events' transaction, lets one record; the others' events (an allocation, which the
    ledger would record again) are rolled back and they are answered as it was."""
    with service.client(**lcs) as client:
        assert client.post("/events", json=came_into_care("SV-21")).status_code == 201
    start = threading.Barrier(8)

    def send(_: int) -> tuple[int, dict[str, object], bool]:
        with service.client(**lcs) as client:
            start.wait()
            answer = client.post(
                "/events", json=allocated("SV-21", "SW-0417"),
                headers={"Idempotency-Key": "lcs-alloc-21"},
            )  # fmt: skip
        return answer.status_code, answer.json(), "Idempotent-Replayed" in answer.headers

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(8)))
    assert {status for status, _, _ in answers} == {201}, answers
    assert len({json.dumps(body) for _, body, _ in answers}) == 1  # the same answer to all
    assert sorted(replayed for _, _, replayed in answers) == [False] + [True] * 7
    assert recorded_of(db, "SV-21") == 3  # the case opened, came into care, allocated once


def test_requests_sent_at_once_are_each_answered_for_themselves(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    """Twelve requests at the same moment, as a busy case-management system sends them; the
    worker records those that arrive together in one transaction. Every fourth is refused
    (a plan for a child with no case): each refused request is answered with its own problem
    and item, and every other request is recorded, once."""
    start = threading.Barrier(12)

    def send(n: int) -> tuple[int, dict[str, object]]:
        child = f"SV-3{n:02}"
        body = [plan_agreed(child)] if n % 4 == 3 else [came_into_care(child), plan_agreed(child)]
        with service.client(**lcs) as client:
            start.wait()
            answer = client.post("/events", json=body, headers={"Idempotency-Key": f"at-once-{n}"})
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(send, range(12)))
    for n, (status, body) in enumerate(answers):
        child = f"SV-3{n:02}"
        if n % 4 == 3:
            assert (status, body["index"], body["field"]) == (422, 0, "child"), body
            assert recorded_of(db, child) == 0
        else:
            assert status == 201, body
            assert [event["child"] for event in body["events"]] == [child, child]  # type: ignore[index]
            assert recorded_of(db, child) == 3


def test_each_answer_to_posted_events_carries_the_security_headers_and_names_the_route(
    service: Service, lcs: dict[str, str]
) -> None:
    """POST /events is answered ahead of the application's router (`service.events_ahead`):
    its answers, recorded or refused, pass the guards every route's answers pass, and the
    access log names its route, never the child."""
    with service.client() as client:
        answers = {
            201: client.post("/events", json=came_into_care("SV-30"), headers=lcs),
            422: client.post("/events", json=plan_agreed("SV-31"), headers=lcs),
            401: client.post("/events", json=came_into_care("SV-32")),
            415: client.post(
                "/events", content=b"{}", headers=lcs | {"Content-Type": "text/plain"}
            ),
        }
    log = service.log_text()
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["content-type"] == ("application/json" if status == 201 else PROBLEM)
        assert f"careledger.service.access: POST /events {status} " in log
    assert answers[401].headers["www-authenticate"] == 'Bearer realm="careledger"'
    assert not any(child in log for child in ("SV-30", "SV-31", "SV-32"))


def test_events_by_another_method_or_path_are_answered_by_the_router_and_record_nothing(
    db: str, service: Service, lcs: dict[str, str]
) -> None:
    """Only a POST to /events itself is taken ahead of the router: another method is not
    allowed, and /events/ is redirected to /events, as any route's path with a slash added
    is; a query string does not change the route."""
    with service.client(**lcs) as client:
        read = client.get("/events")
        replaced = client.put("/events", json=came_into_care("SV-33"))
        slashed = client.post("/events/", json=came_into_care("SV-34"))
        queried = client.post("/events?from=lcs", json=came_into_care("SV-35"))
    for refused in (read, replaced):
        assert (refused.status_code, refused.headers["allow"]) == (405, "POST")
        assert refused.headers["content-type"] == PROBLEM
    assert (slashed.status_code, slashed.headers["location"]) == (307, f"{service.url}/events")
    assert queried.status_code == 201, queried.text
    assert [recorded_of(db, child) for child in ("SV-33", "SV-34", "SV-35")] == [0, 0, 2]


def test_the_openapi_document_describes_the_events_a_post_takes(service: Service) -> None:
    with service.client() as client:
        document = client.get("/openapi.json").json()
    operation = document["paths"]["/events"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert [p["name"] for p in operation["parameters"]] == ["Idempotency-Key"]
