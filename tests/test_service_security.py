"""The service's security baseline, against a real `careledger serve` on both stores: the
headers every response carries, the session cookie's attributes, CSRF tokens on forms and on
a session's POSTs, forged and ended sessions refused, and a server log
that holds no secret and no child's data, with no stack trace shown for a failing store."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from careledger.api import opened
from careledger.service.tables import ServiceTables
from tests.service_server import (
    PASSWORD,
    Service,
    add_person,
    as_person,
    issue_token,
    prepare,
    serving,
    sign_in,
)

COUNCIL = "E10000099"
CHILD_REF = "SEC-LOGGED-0421"  # must never appear in the server's log


def came_into_care(child: str) -> dict[str, object]:
    return {
        "type": "ChildBecameLookedAfter", "council": COUNCIL, "child": child,
        "occurred_on": "2025-01-06", "source": "LCS/EPI/1", "legal_status": "C2",
        "placement": "U4",
    }  # fmt: skip


@pytest.fixture(scope="module")
def db(served_db: str) -> str:
    prepare(served_db)
    add_person(served_db, "sw.omar", "SW", [COUNCIL])
    return served_db


@pytest.fixture(scope="module")
def service(db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with serving(db, tmp_path_factory.mktemp("serve")) as started:
        yield started


def test_every_response_carries_the_security_headers(service: Service) -> None:
    with service.client() as client:
        answers = [
            client.get("/health"),
            client.get("/sign-in"),
            client.get("/no/such/page"),
            client.get(f"/children/{COUNCIL}:{CHILD_REF}/plan"),  # 401
            client.get("/openapi.json"),
        ]
    for answer in answers:
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "<script" not in answers[1].text
    documented = answers[4].json()["paths"]
    assert {"/events", "/children/{child}/plan", "/drift", "/health"} <= set(documented)


def test_the_session_cookie_is_httponly_secure_strict_and_expires(service: Service) -> None:
    with service.client() as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        nonce = re.match(r"careledger_sign_in=([^;]*)", form.headers["set-cookie"])
        assert token and nonce
        done = client.post(
            "/sign-in",
            data={"name": "sw.omar", "password": PASSWORD, "csrf_token": token[1]},
            headers={"Cookie": f"careledger_sign_in={nonce[1]}"},
        )
    cookie = next(
        c for c in done.headers.get_list("set-cookie") if c.startswith("careledger_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite", "max-age", "path"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "max-age=1800" in cookie.lower()  # CARELEDGER_SESSION_MINUTES, 30 by default


def test_sign_in_without_the_forms_csrf_token_or_with_a_wrong_password_is_refused(
    service: Service,
) -> None:
    with service.client() as client:
        no_token = client.post(
            "/sign-in", data={"name": "sw.omar", "password": PASSWORD, "csrf_token": "guess"}
        )
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        nonce = re.match(r"careledger_sign_in=([^;]*)", form.headers["set-cookie"])
        assert token and nonce
        wrong = client.post(
            "/sign-in",
            data={"name": "sw.omar", "password": "not the password", "csrf_token": token[1]},
            headers={"Cookie": f"careledger_sign_in={nonce[1]}"},
        )
    assert (no_token.status_code, no_token.json()["field"]) == (403, "csrf_token")
    assert (wrong.status_code, wrong.json()["field"]) == (401, "password")
    assert "careledger_session" not in wrong.headers.get("set-cookie", "")


def test_a_forged_or_ended_session_is_refused(service: Service) -> None:
    person = sign_in(service, "sw.omar")
    with service.client() as client:
        forged = client.get("/me", headers={"Cookie": "careledger_session=" + "A" * 43})
        signed_out = client.post("/sign-out", headers=as_person(person), follow_redirects=False)
        after = client.get("/me", headers=as_person(person))
    assert (forged.status_code, forged.json()["field"]) == (401, "careledger_session")
    assert signed_out.status_code == 303
    assert (after.status_code, after.json()["field"]) == (401, "careledger_session")
    assert after.json()["detail"] == "the session has ended or is not known: sign in again"


def test_a_session_whose_time_is_up_is_refused_and_ended(db: str, service: Service) -> None:
    """A session lasts CARELEDGER_SESSION_MINUTES from sign-in: its stored expiry is moved to
    a minute ago, as if the time had passed, and the cookie no longer signs anyone in."""
    add_person(db, "sw.kemi", "SW", [COUNCIL])
    person = sign_in(service, "sw.kemi")
    with service.client() as client:
        live = client.get("/me", headers=as_person(person))
        a_minute_ago = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        with opened(db) as ledger:
            tables = ServiceTables(ledger.ledger)
            moved = tables.run(
                "UPDATE {s}careledger_sessions SET expires_at = ? WHERE principal LIKE ?",
                (a_minute_ago, '%"sw.kemi"%'),
            )
        expired = client.get("/me", headers=as_person(person))
        with opened(db) as ledger:
            left = ServiceTables(ledger.ledger).fetch(
                "SELECT 1 FROM {s}careledger_sessions WHERE principal LIKE ?", ('%"sw.kemi"%',)
            )
    assert live.status_code == 200, live.text
    assert moved == 1
    assert (expired.status_code, expired.json()["field"]) == (401, "careledger_session")
    assert left == []  # the expired session is deleted, not kept


def test_a_sessions_post_needs_its_csrf_token_and_records_as_the_person(
    db: str, service: Service
) -> None:
    person = sign_in(service, "sw.omar")
    without = {"Cookie": f"careledger_session={person.cookie}"}
    with service.client() as client:
        refused = client.post("/events", json=came_into_care("SEC-01"), headers=without)
        recorded = client.post("/events", json=came_into_care("SEC-01"), headers=as_person(person))
    assert (refused.status_code, refused.json()["field"]) == (403, "X-CSRF-Token")
    assert recorded.status_code == 201, recorded.text
    with opened(db) as ledger:
        history = ledger.history(f"{COUNCIL}:SEC-01")
    assert len(history) == 2  # the case opened and the event: the refused POST left nothing
    assert history[-1]["recorded_by"] == "sw.omar (SW)"


def test_the_server_log_holds_no_secret_and_no_childs_data(db: str, service: Service) -> None:
    token = issue_token(db, "LCS", COUNCIL)
    person = sign_in(service, "sw.omar")
    with service.client() as client:
        client.post("/events", json=came_into_care(CHILD_REF), headers={
            "Authorization": f"Bearer {token}", "Idempotency-Key": "log-check-1",
        })  # fmt: skip
        client.get(f"/children/{COUNCIL}:{CHILD_REF}/plan?as_of=2025-02-01",
                   headers=as_person(person))  # fmt: skip
        client.get(f"/children/{COUNCIL}:{CHILD_REF}/chronology?format=md",
                   headers=as_person(person))  # fmt: skip
        client.post("/events", json=came_into_care(CHILD_REF) | {"placement": "Q9"},
                    headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    log = service.log_text()
    assert "GET /children/{child}/plan 200" in log  # the log is written, and says this much
    for secret in (CHILD_REF, token, PASSWORD, person.cookie, person.csrf, "2025-02-01"):
        assert secret not in log
    assert "Traceback" not in log


def post_routes() -> set[str]:
    """Every route of the application that takes a POST (or another unsafe method), the
    pages' included: a route added later is named here, and must be added below."""
    from fastapi import FastAPI
    from starlette.routing import BaseRoute

    from careledger.service.app import create_app
    from careledger.service.settings import ServiceSettings

    def walk(routes: list[BaseRoute]) -> set[str]:
        found: set[str] = set()
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                found |= walk(inner.routes)
            elif set(getattr(route, "methods", None) or ()) - {"GET", "HEAD"}:
                found.add(str(getattr(route, "path", "")))
        return found

    app: FastAPI = create_app(ServiceSettings(session_secret=SECRET_FOR_ROUTES))
    return walk(app.routes)


SECRET_FOR_ROUTES = "a-secret-only-to-list-the-routes-0123456789"


def test_every_form_post_is_refused_without_its_csrf_token(db: str, service: Service) -> None:
    """A page of another site can make a signed-in browser POST to any route, cookie and all,
    but cannot know the form's token: each POST route refuses such a request and changes
    nothing (no event, no challenge, the session not ended, no one signed in)."""
    add_person(db, "iro.ann", "IRO", [COUNCIL])
    add_person(db, "tm.joy", "TM", [COUNCIL])
    add_person(db, "insp.ola", "INSPECTOR", [COUNCIL])
    with opened(db) as ledger:
        ledger.record([came_into_care("SEC-CSRF"), {
            "type": "IROAllocated", "council": COUNCIL, "child": "SEC-CSRF",
            "occurred_on": "2025-01-07", "source": "LCS/IRO/1", "iro_id": "iro.ann",
            "iro_name": "Ann Okafor", "reason": "first allocation",
        }, {
            "type": "ChallengeRaised", "council": COUNCIL, "child": "SEC-CSRF",
            "occurred_on": "2025-01-08", "source": "IRO/CH/1", "challenge_id": "C-1",
            "subject": "care_planning", "about": "plan", "concern": "No review held",
            "remedy_sought": "Hold a review", "raised_by": {"name": "Ann Okafor", "role": "IRO"},
        }], "LCS", "ADMIN")  # fmt: skip
    iro = sign_in(service, "iro.ann")
    cookie = {"Cookie": f"careledger_session={iro.cookie}"}
    manager = {"Cookie": f"careledger_session={sign_in(service, 'tm.joy').cookie}"}
    inspector = {"Cookie": f"careledger_session={sign_in(service, 'insp.ola').cookie}"}
    share = {"child": f"{COUNCIL}:SEC-CSRF", "court": "Family Court at Leeds"}
    escalate = {"reason": "No answer", "escalated-day": "9", "escalated-month": "1",
                "escalated-year": "2025"}  # fmt: skip
    forged = {"csrf_token": "forged-by-another-site"}
    child = f"{COUNCIL}:SEC-CSRF"
    challenge = forged | {
        "seen": "2", "subject": "placement", "about": "plan", "concern": "No review held",
        "remedy_sought": "Hold a review", "raised-day": "8", "raised-month": "1",
        "raised-year": "2025",
    }  # fmt: skip
    with service.client() as client:
        answers = {
            "/events": client.post("/events", json=came_into_care("SEC-CSRF-2"), headers=cookie),
            "/sign-in": client.post(
                "/sign-in", data=forged | {"name": "sw.omar", "password": PASSWORD}
            ),
            "/sign-out": client.post("/sign-out", data=forged, headers=cookie),
            "/child/{child}/challenge": client.post(
                f"/child/{child}/challenge", data=challenge, headers=cookie
            ),
            "/child/{child}/challenges/{challenge_id}/{action}": client.post(
                f"/child/{child}/challenges/C-1/escalate", data=forged | escalate, headers=cookie
            ),
            "/shares/new": client.post("/shares/new", data=forged | share, headers=manager),
            "/shares/{share_id}/revoke": client.post("/shares/0a1b2c3d4e/revoke", headers=manager),
            "/inbox/acknowledge": client.post(
                "/inbox/acknowledge", data=forged | {"entry": "x", "seen": "1"}, headers=cookie
            ),
            "/iro/inbox/acknowledgements": client.post(
                "/iro/inbox/acknowledgements", json={"entry": "x", "seen": 1}, headers=cookie
            ),
            "/inspect/child": client.post(
                "/inspect/child", data=forged | {"child": child, "reason": "x"}, headers=inspector
            ),
            "/check-a-chronology": client.post(
                "/check-a-chronology", data=forged, files={"chronology": ("c.pdf", b"%PDF-1.7")}
            ),
        }
        still = client.get("/me", headers=as_person(iro))
    assert set(answers) == post_routes()
    assert {path: answer.status_code for path, answer in answers.items()} == {
        "/events": 403, "/sign-in": 403, "/sign-out": 403, "/child/{child}/challenge": 400,
        "/child/{child}/challenges/{challenge_id}/{action}": 400, "/shares/new": 400,
        "/inspect/child": 400, "/check-a-chronology": 400, "/shares/{share_id}/revoke": 403,
        "/iro/inbox/acknowledgements": 403, "/inbox/acknowledge": 400,
    }  # fmt: skip
    assert "The page had expired" in answers["/inbox/acknowledge"].text
    for api in ("/shares/{share_id}/revoke", "/iro/inbox/acknowledgements"):
        assert answers[api].json()["field"] == "X-CSRF-Token"
    for form in ("/child/{child}/challenge", "/child/{child}/challenges/{challenge_id}/{action}",
                 "/shares/new", "/inspect/child", "/check-a-chronology"):  # fmt: skip
        assert "The form had expired" in answers[form].text, form
    assert "careledger_session" not in answers["/sign-in"].headers.get("set-cookie", "")
    assert still.status_code == 200  # the forged sign-out ended nothing
    with opened(db) as ledger:
        assert [e["type"] for e in ledger.history(child)][-1] == "ChallengeRaised"
        assert ledger.access.shares.listing(child) == []
        assert not ledger.ledger.store_recorder.existing_cases([named_case("SEC-CSRF-2")])


def named_case(ref: str) -> object:
    from careledger.projections.queries import Child

    return Child(COUNCIL, ref).case_id


def test_the_server_log_after_sign_ins_reads_and_refusals_holds_no_secret_or_child(
    db: str, service: Service
) -> None:
    """What a reviewer greps for in the server log after a morning's use: a wrong password
    and a right one, a read allowed and one refused, an inspector refused without a reason,
    a record refused: no password, cookie, token, CSRF token, child's reference or date."""
    add_person(db, "insp.ria", "INSPECTOR", [COUNCIL])
    secret_child = "SEC-LOG-0877"
    with opened(db) as ledger:
        ledger.record([came_into_care(secret_child)], "LCS", "ADMIN")
    with service.client() as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        nonce = re.match(r"careledger_sign_in=([^;]*)", form.headers["set-cookie"])
        assert token and nonce
        wrong = client.post(
            "/sign-in",
            data={"name": "sw.omar", "password": "Tr0ub4dor&3-wrong", "csrf_token": token[1]},
            headers={"Cookie": f"careledger_sign_in={nonce[1]}"},
        )
    person = sign_in(service, "sw.omar")
    inspector = sign_in(service, "insp.ria")
    with service.client() as client:
        allowed = client.get(f"/children/{COUNCIL}:{secret_child}/history",
                             headers=as_person(person))  # fmt: skip
        no_reason = client.get(f"/children/{COUNCIL}:{secret_child}/plan?as_of=2025-03-04",
                               headers=as_person(inspector))  # fmt: skip
        elsewhere = client.get(f"/children/E09000099:{secret_child}/plan",
                               headers=as_person(person))  # fmt: skip
        bad = came_into_care(secret_child) | {"legal_status": "Z9"}
        refused = client.post("/events", headers=as_person(person), json=bad)
    assert (wrong.status_code, allowed.status_code, no_reason.status_code) == (401, 200, 403)
    assert (elsewhere.status_code, refused.status_code) == (404, 422)
    log = service.log_text()
    assert "GET /children/{child}/plan 403" in log and "POST /sign-in 401" in log
    for secret in (
        secret_child, PASSWORD, "Tr0ub4dor&3-wrong", person.cookie, person.csrf,
        inspector.cookie, token[1], nonce[1], "2025-03-04", "E09000099", "Z9",
    ):  # fmt: skip
        assert secret not in log, secret
    assert "Traceback" not in log


def test_a_failing_store_is_a_problem_without_a_stack_trace(db: str, service: Service) -> None:
    person = sign_in(service, "sw.omar")
    with service.client() as client:
        client.post("/events", json=came_into_care("SEC-02"), headers=as_person(person))
    _drop_table(db, "cl_current_plan")
    with service.client() as client:
        failed = client.get(f"/children/{COUNCIL}:SEC-02/plan", headers=as_person(person))
        alive = client.get("/health")
    assert failed.status_code == 503
    assert failed.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in failed.text and "File " not in failed.text
    assert "Traceback" not in service.log_text()
    assert alive.status_code == 200


def _drop_table(db: str, table: str) -> None:
    """What a failing store looks like to the service: a table it reads, gone."""
    if db.startswith("postgresql://"):
        schema = db.rpartition("schema=")[2]
        with psycopg.connect(db.partition("?")[0], autocommit=True) as connection:
            connection.execute(f'DROP TABLE "{schema}".{table}')
    else:
        with sqlite3.connect(db) as connection:
            connection.execute(f"DROP TABLE {table}")


def test_serve_refuses_a_ledger_not_prepared_by_init_in_one_line(tmp_path: Path) -> None:
    """A ledger without the service's tables (made before the service existed) is refused
    before the server starts: exit 1, one line naming `careledger init`, no traceback."""
    ledger = str(tmp_path / "older.db")
    with opened(ledger, create_tables=True):
        pass
    command = [str(Path(sys.executable).parent / "careledger"), "serve", "--db", ledger]
    started = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert started.returncode == 1
    assert started.stderr.splitlines() == [
        f"error: --db: '{ledger}' has no sessions table: run 'careledger init' (once, as a "
        "migration step) before 'careledger serve'"
    ]


def test_serve_on_a_port_in_use_is_refused_with_exit_1_not_3(db: str) -> None:
    """uvicorn exits 3 when it cannot bind; careledger's 3 means a verification failed
    (README: exit statuses), so a port in use is a refusal naming --port."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [str(Path(sys.executable).parent / "careledger"), "serve", "--db", db]
        started = subprocess.run(
            [*command, "--port", str(port)], capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
    assert started.returncode == 1
    assert started.stderr.splitlines()[-1] == (
        f"error: --port: the service could not start on 127.0.0.1:{port} (the line above says why)"
    )
    assert "address already in use" in started.stderr
