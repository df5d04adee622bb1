"""The README's table "Who may read and record what", cell by cell, through the HTTP API:
each role signs in to a real `careledger serve` (a system with its token) and tries each
endpoint the cell governs on the demo's histories, on SQLite and PostgreSQL. The table is
read by `tests.test_access_policy`, and what its words allow is said there (`may_read`), so
the table, `Access` and the service cannot drift apart. (`ADMIN` is the command line's own
principal: no one signs in to the service as ADMIN.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from careledger.service.tables import ServiceTables
from tests.access_histories import COURT, HOME, OTHER, demo_ledger
from tests.service_server import Service, add_person, as_person, issue_token, serving, sign_in
from tests.test_access_policy import CELLS, CHILDREN, NO_SUCH, PAST_IRO, TABLE, may_read

ROLES = [role for role in TABLE if role != "ADMIN"]
REASON = "Ofsted ILACS inspection: sample of care plans"


def name_of(role: str) -> str:
    """B-IRO-14 is the demo's past IRO of NR-0205 (`tests.access_histories`)."""
    return "B-IRO-14" if role == "IRO" else f"{role.lower().replace('_', '-')}.one"


@pytest.fixture(scope="module")
def db(served_db: str) -> str:
    with demo_ledger(served_db) as ledger:
        ServiceTables(ledger.ledger).create()
        soon = date.today() + timedelta(days=30)
        ledger.access.shares.add(PAST_IRO, COURT, date(2025, 1, 1), date(2025, 12, 31), soon,
                                 "admin")  # fmt: skip
    for role in ROLES:
        if role == "COURT_CLERK":
            add_person(served_db, name_of(role), role, [], court=COURT)
        elif role != "SYSTEM":
            add_person(served_db, name_of(role), role, [HOME])
    return served_db


@pytest.fixture(scope="module")
def service(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with serving(db, tmp_path_factory.mktemp("serve")) as started:
        yield started


@pytest.fixture(scope="module")
def credentials(db: str, service: Service) -> dict[str, dict[str, str]]:
    """The headers each role's requests carry: a session (and its CSRF token), or a token."""
    signed: dict[str, dict[str, str]] = {}
    for role in ROLES:
        if role == "SYSTEM":
            signed[role] = {"Authorization": f"Bearer {issue_token(db, 'LCS', HOME)}"}
        else:
            signed[role] = as_person(sign_in(service, name_of(role)))
    return signed


def outcome(answer: httpx.Response) -> bool | str:
    """What an answer says, in `may_read`'s words."""
    if answer.status_code == 403 and answer.json().get("field") == "reason":
        return "reason"
    assert answer.status_code in (200, 201, 403, 404), answer.text
    return answer.status_code in (200, 201)


def report_outcome(answer: httpx.Response) -> bool:
    """What an answer to a report or the access log says: allowed (200), or refused as
    Forbidden (403, a problem): a report names no child, so its refusal need not hide as a
    404."""
    if answer.status_code == 200:
        return True
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Forbidden"
    return False


def served(cell: str, child: str, reason: str | None) -> bool | str:
    """As the table allows, but a child not on the ledger is not found to anyone allowed to
    look (an inspector is asked for a reason first: asking reveals nothing)."""
    allowed = may_read(cell, child, reason)
    return allowed if child != NO_SUCH or allowed == "reason" else False


def cells(column: str) -> list[tuple[str, str]]:
    return [(role, cell) for role, col, cell in CELLS if col == column and role in ROLES]


@pytest.mark.parametrize(("role", "cell"), cells("a child's record"))
@pytest.mark.parametrize("reason", [None, REASON])
def test_a_childs_record_is_served_as_the_table_says(
    service: Service, credentials: dict[str, dict[str, str]], role: str, cell: str,
    reason: str | None,
) -> None:  # fmt: skip
    query = {"reason": reason} if reason else {}
    with service.client(**credentials[role]) as client:
        found = {c: outcome(client.get(f"/children/{c}/plan", params=query)) for c in CHILDREN}
    assert found == {child: served(cell, child, reason) for child in CHILDREN}


@pytest.mark.parametrize(("role", "cell"), cells("a child's chronology"))
def test_a_childs_chronology_is_served_as_the_table_says(
    service: Service, credentials: dict[str, dict[str, str]], role: str, cell: str
) -> None:
    with service.client(**credentials[role]) as client:
        found = {
            child: outcome(client.get(f"/children/{child}/chronology", params={"format": "json"}))
            for child in CHILDREN
        }
    assert found == {child: served(cell, child, None) for child in CHILDREN}


@pytest.mark.parametrize(("role", "cell"), cells("aggregate reports"))
def test_aggregate_reports_are_served_as_the_table_says(
    service: Service, credentials: dict[str, dict[str, str]], role: str, cell: str
) -> None:
    with service.client(**credentials[role]) as client:
        home = report_outcome(client.get("/drift", params={"council": HOME}))
        other = report_outcome(client.get("/drift", params={"council": OTHER}))
        listed = report_outcome(client.get("/unapproved", params={"council": HOME}))
    assert (home, other, listed) == (cell != "no", cell == "every council", cell != "no")


@pytest.mark.parametrize(("role", "cell"), cells("records events"))
def test_recording_is_served_as_the_table_says(
    service: Service, credentials: dict[str, dict[str, str]], role: str, cell: str
) -> None:
    answers = {}
    with service.client(**credentials[role]) as client:
        for council in (HOME, OTHER):
            event = {
                "type": "ChildBecameLookedAfter", "council": council, "child": f"RM-{role}",
                "occurred_on": "2025-01-06", "source": "LCS/EPI/1", "legal_status": "C2",
                "placement": "U4",
            }  # fmt: skip
            answers[council] = outcome(client.post("/events", json=event))
    assert answers == {HOME: cell != "no", OTHER: cell == "every council"}


@pytest.mark.parametrize(("role", "cell"), cells("access log"))
def test_the_access_log_is_served_as_the_table_says(
    service: Service, credentials: dict[str, dict[str, str]], role: str, cell: str
) -> None:
    with service.client(**credentials[role]) as client:
        assert report_outcome(client.get("/access-log")) == (cell != "no")
