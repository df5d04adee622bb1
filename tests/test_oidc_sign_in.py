"""Sign-in through the council's identity provider, over real HTTP: a real OpenID Connect
provider (panva's oidc-provider), careledger on uvicorn with TLS, and a client that follows
redirects and fills in the provider's sign-in form as a person would. On SQLite and
PostgreSQL (the session is kept in the ledger's store).

The council (E10000099) has two looked-after children. Jayden (JM-0311) came into care in
January 2025 and Margaret Ellery is his IRO; Tia (TB-0412) came into care in February and her
IRO is someone else. The council's provider knows Margaret, an Ofsted inspector, and Dave,
who has an account at the provider but was never registered in careledger.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx2
import pytest
from itsdangerous import URLSafeTimedSerializer
from joserfc import jwt
from joserfc.jwk import RSAKey

from careledger.access.errors import NOT_FOUND_OR_NOT_ALLOWED
from careledger.access.principal import Principal
from careledger.api import opened
from careledger.service.oidc import (
    CALLBACK,
    NOT_SIGNED_IN,
    PENDING_COOKIE,
    PROVIDER_FAILURES,
    RelyingParty,
    verified_id_token,
)
from careledger.service.tables import ServiceTables
from tests.identity_provider import (
    INSPECTOR,
    IRO,
    STRANGER,
    IdentityProvider,
    bound_socket,
)
from tests.signed_in_service import (
    SESSION_SECRET,
    Certificate,
    Served,
    provider_sign_in_page,
    served_with_sign_in,
    settings_for,
    signed_in,
    submit,
)

COUNCIL = "E10000099"
JAYDEN, TIA = f"{COUNCIL}:JM-0311", f"{COUNCIL}:TB-0412"
PROBLEM = "application/problem+json"
LOCAL_PASSWORD = "bracken-lantern-0917-quay"
DATA_PROTECTION_OFFICER = Principal("Priya Nair", "DPO", frozenset({COUNCIL}))


def case_history(child: str, entered: str, iro_id: str, iro_name: str) -> list[dict[str, object]]:
    council, ref = child.split(":")
    where = {"council": council, "child": ref, "occurred_on": entered}
    return [
        where | {"type": "ChildBecameLookedAfter", "source": f"LCS/EPI/{ref}",
                 "legal_status": "C2", "placement": "U4"},
        where | {"type": "IROAllocated", "source": f"LCS/IRO/{ref}", "iro_id": iro_id,
                 "iro_name": iro_name},
        where | {"type": "CarePlanAgreed", "source": f"LCS/PLAN/{ref}",
                 "decided_by": {"name": "Owen Pryce", "role": "TM"},
                 "sections": {"placement": f"Foster placement for {ref} (U4)"}},
    ]  # fmt: skip


def the_council(db: str) -> str:
    """The council's ledger: the two children, and the people registered to sign in through
    the provider (no local password)."""
    with opened(db, create_tables=True) as ledger:
        ServiceTables(ledger.ledger).create()
        events = case_history(JAYDEN, "2025-01-06", IRO.username, IRO.name)
        events += case_history(TIA, "2025-02-10", "IRO-7", "Helen Marsh")
        ledger.record(events, actor="lcs-loader", role="ADMIN")
        ledger.access.accounts.add(IRO.username, "IRO", [COUNCIL])
        ledger.access.accounts.add(INSPECTOR.username, "INSPECTOR", [COUNCIL])
    return db


@pytest.fixture(scope="module")
def db(served_db: str) -> str:
    return the_council(served_db)


@pytest.fixture(scope="module")
def served(
    db: str,
    identity_provider: IdentityProvider,
    tls_certificate: Certificate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    with served_with_sign_in(db, identity_provider, tls_certificate, folder) as service:
        yield service


@pytest.fixture
def client(served: Served) -> Iterator[httpx2.Client]:
    with served.client() as fresh:
        yield fresh


def test_an_iro_signs_in_at_the_council_provider_and_reads_their_childs_plan(
    served: Served, client: httpx2.Client, db: str
) -> None:
    plan = signed_in(client, served, IRO, f"/children/{JAYDEN}/plan")

    assert plan.status_code == 200, plan.text
    assert "Foster placement for JM-0311" in plan.text
    with opened(db) as ledger:
        reads = ledger.access.log(child=JAYDEN, actor=IRO.username, who=DATA_PROTECTION_OFFICER)
    assert [(entry["view"], entry["role"]) for entry in reads] == [("plan", "IRO")]


def test_an_iro_signed_in_by_the_provider_is_refused_another_iros_child(
    served: Served, client: httpx2.Client
) -> None:
    signed_in(client, served, IRO, f"/children/{JAYDEN}/plan")

    refused = client.get(f"{served.url}/children/{TIA}/plan")
    missing = client.get(f"{served.url}/children/{COUNCIL}:NO-SUCH/plan")

    assert refused.status_code == missing.status_code == 404
    assert refused.json()["detail"] == missing.json()["detail"] == NOT_FOUND_OR_NOT_ALLOWED


def test_an_inspector_signed_in_by_the_provider_reads_drift_but_no_child_without_a_reason(
    served: Served, client: httpx2.Client
) -> None:
    drift = signed_in(client, served, INSPECTOR, "/drift?format=json")
    child = client.get(f"{served.url}/children/{JAYDEN}/plan")

    assert drift.status_code == 200, drift.text
    assert child.status_code == 403
    assert child.json()["field"] == "reason"


def test_the_session_cookie_is_secure_httponly_and_strict(
    served: Served, client: httpx2.Client
) -> None:
    page = provider_sign_in_page(client, served, "/")
    arrived = submit(page, client, "login", username=IRO.username, password=IRO.password)

    cookie = next(h for h in arrived.headers.get_list("set-cookie")
                  if h.startswith("careledger_session="))  # fmt: skip
    assert {"Secure", "HttpOnly", "SameSite=strict"} <= {part.strip() for part in cookie.split(";")}


def test_sign_in_goes_on_only_to_a_page_of_careledger(
    served: Served, client: httpx2.Client
) -> None:
    """A sign-in link crafted to send the person, once signed in, to another site."""
    page = provider_sign_in_page(client, served, "//phishing.example/careledger")

    arrived = submit(page, client, "login", username=IRO.username, password=IRO.password)

    assert 'content="0;url=/"' in arrived.text
    assert "phishing" not in arrived.text


def test_a_next_page_too_long_for_a_cookie_is_refused_naming_it(
    served: Served, client: httpx2.Client
) -> None:
    refused = client.get(f"{served.url}/sign-in/oidc", params={"next": "/" + "x" * 5000})

    assert refused.status_code == 422 and refused.json()["field"] == "next"


def test_an_unreachable_provider_is_a_plain_refusal(
    tls_certificate: Certificate, tmp_path: Path
) -> None:
    """The provider's port is held but not listening, so nothing can answer on it."""
    silent = bound_socket()
    nobody = IdentityProvider(
        f"http://127.0.0.1:{silent.getsockname()[1]}", "careledger", "s", bound_socket()
    )
    db = the_council(str(tmp_path / "careledger.db"))
    with (
        silent,
        nobody.service_socket,
        served_with_sign_in(db, nobody, tls_certificate, tmp_path) as service,
    ):
        with service.client() as client:
            refused = client.get(f"{service.url}/sign-in/oidc")
        log = service.log.read_text()

    assert refused.status_code == 503 and refused.json()["detail"] == NOT_SIGNED_IN
    assert "Traceback" not in refused.text + log
    assert "identity provider unavailable: ConnectError" in log


def test_a_wrong_password_at_the_provider_signs_nobody_in(
    served: Served, client: httpx2.Client
) -> None:
    page = provider_sign_in_page(client, served, "/")

    again = submit(page, client, "login", username=IRO.username, password="not-her-password")

    assert "Wrong username or password" in again.text
    assert cookie(client, "careledger_session") is None


def test_a_person_the_council_never_registered_is_refused_without_saying_why(
    served: Served, client: httpx2.Client
) -> None:
    page = provider_sign_in_page(client, served, "/")

    refused = submit(page, client, "login", username=STRANGER.username,
                     password=STRANGER.password)  # fmt: skip

    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["detail"] == NOT_SIGNED_IN
    assert "registered" not in refused.text and "Traceback" not in refused.text
    assert cookie(client, "careledger_session") is None


def test_a_sign_in_cancelled_at_the_provider_signs_nobody_in(
    served: Served, client: httpx2.Client
) -> None:
    page = provider_sign_in_page(client, served, "/")

    cancelled = submit(page, client, "abort")

    assert cancelled.status_code == 401
    assert cancelled.json()["field"] == "error"
    assert cookie(client, "careledger_session") is None


def test_an_answer_meant_for_another_browser_is_refused(served: Served) -> None:
    """Login CSRF: an attacker signs in as themself and sends the victim the callback link
    with their own code. The victim's browser did not start that sign-in, so it is refused."""
    with served.client() as attacker, served.client() as victim:
        page = provider_sign_in_page(attacker, served, "/")
        answer = callback_address(page, attacker, served)
        provider_sign_in_page(victim, served, "/")  # the victim has a sign-in of their own

        refused = victim.get(answer)
        never_started = httpx2.get(answer, verify=served.certificate.trusted())

        assert refused.status_code == never_started.status_code == 400
        assert refused.json()["field"] == never_started.json()["field"] == "state"
        assert cookie(victim, "careledger_session") is None


def test_a_code_from_the_provider_signs_in_once(served: Served, client: httpx2.Client) -> None:
    """Even with the sign-in's own cookie kept and sent again, a used code signs nobody in:
    the provider redeems a code once."""
    page = provider_sign_in_page(client, served, "/")
    answer = callback_address(page, client, served)
    waiting = cookie(client, PENDING_COOKIE)
    first = client.get(answer)
    client.cookies.clear()
    client.cookies.set(PENDING_COOKIE, str(waiting), domain="127.0.0.1", path="/sign-in/oidc")

    replayed = client.get(answer)

    assert first.status_code == 200
    assert replayed.status_code == 401 and replayed.json()["detail"] == NOT_SIGNED_IN
    assert cookie(client, "careledger_session") is None


@pytest.mark.parametrize("forgery", ["payload changed", "unsigned", "signed by another key"])
def test_an_id_token_the_provider_did_not_sign_is_refused(
    identity_provider: IdentityProvider, served: Served, client: httpx2.Client, forgery: str
) -> None:
    """The provider's own answer to careledger's token request, then the same answer with its
    ID token forged to name the inspector: only the first is believed."""
    page = provider_sign_in_page(client, served, "/")
    code = parse_qs(urlsplit(callback_address(page, client, served)).query)["code"][0]
    waiting = URLSafeTimedSerializer(SESSION_SECRET, salt="careledger.oidc.pending").loads(
        str(cookie(client, PENDING_COOKIE))
    )
    party = RelyingParty(settings_for(identity_provider))
    token = asyncio.run(party.provider.fetch_access_token(
        redirect_uri=party.redirect_uri, code=code, code_verifier=waiting["code_verifier"]
    ))  # fmt: skip
    genuine = asyncio.run(verified_id_token(party, token, waiting["nonce"]))

    forged = dict(token, id_token=forge(token["id_token"], forgery))

    assert genuine["preferred_username"] == IRO.username
    with pytest.raises(PROVIDER_FAILURES):
        asyncio.run(verified_id_token(party, forged, waiting["nonce"]))


def test_an_id_token_for_another_sign_in_is_refused(
    identity_provider: IdentityProvider, served: Served, client: httpx2.Client
) -> None:
    """A genuine ID token replayed into another sign-in carries that sign-in's nonce, not
    this one's."""
    page = provider_sign_in_page(client, served, "/")
    code = parse_qs(urlsplit(callback_address(page, client, served)).query)["code"][0]
    waiting = URLSafeTimedSerializer(SESSION_SECRET, salt="careledger.oidc.pending").loads(
        str(cookie(client, PENDING_COOKIE))
    )
    party = RelyingParty(settings_for(identity_provider))
    token = asyncio.run(party.provider.fetch_access_token(
        redirect_uri=party.redirect_uri, code=code, code_verifier=waiting["code_verifier"]
    ))  # fmt: skip

    with pytest.raises(PROVIDER_FAILURES):
        asyncio.run(verified_id_token(party, token, "another-sign-ins-nonce"))


def forge(id_token: str, forgery: str) -> str:
    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["preferred_username"] = INSPECTOR.username
    if forgery == "payload changed":
        return f"{header}.{encoded(claims)}.{signature}"
    kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    if forgery == "unsigned":
        return f"{encoded({'alg': 'none', 'kid': kid})}.{encoded(claims)}."
    impostor = RSAKey.generate_key(2048, parameters={"kid": kid})
    return jwt.encode({"alg": "RS256", "kid": kid}, claims, impostor)


def encoded(part: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()


def cookie(client: httpx2.Client, name: str) -> str | None:
    return next((c.value for c in client.cookies.jar if c.name == name), None)


def callback_address(page: httpx2.Response, client: httpx2.Client, served: Served) -> str:
    """Sign in at the provider as the IRO, and stop at the address it sends the browser back
    to (careledger's callback, with the code and state)."""
    action = re.search(r'action="(/interaction/[^"]+/login)"', page.text)
    assert action is not None
    response = client.post(str(page.url.join(action[1])),
                           data={"username": IRO.username, "password": IRO.password})  # fmt: skip
    while not response.headers["location"].startswith(f"{served.url}{CALLBACK}"):
        response = client.get(str(response.url.join(response.headers["location"])))
    return str(response.headers["location"])


def _claims_of(id_token: str) -> dict[str, object]:
    payload = id_token.split(".")[1]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * 4))
    return decoded


def test_signing_out_ends_the_session_here_and_at_the_council_provider(
    served: Served, client: httpx2.Client, identity_provider: IdentityProvider
) -> None:
    """RP-Initiated Logout 1.0: the provider advertises its end_session_endpoint; signing out
    of careledger ends the session here at once, then sends the person to that endpoint with
    the session's ID token as the hint and careledger's sign-in page to come back to. Once
    they confirm, the provider has forgotten them: the next sign-in asks for the password,
    where before sign-out it went straight through."""
    discovery = client.get(f"{identity_provider.issuer}/.well-known/openid-configuration")
    end_session = discovery.json()["end_session_endpoint"]
    assert end_session.startswith(identity_provider.issuer)
    signed_in(client, served, IRO, "/me")
    straight_through = client.get(f"{served.url}/sign-in/oidc", params={"next": "/me"},
                                  follow_redirects=True)  # fmt: skip
    assert "Signed in" in straight_through.text  # the provider still knows them: no form
    me = client.get(f"{served.url}/me")
    assert me.status_code == 200, me.text

    out = client.post(f"{served.url}/sign-out", data={"csrf_token": me.json()["csrf_token"]})
    refresh = re.search(r'content="0;url=([^"]+)"', out.text)
    after = client.get(f"{served.url}/me")

    assert out.status_code == 200 and refresh is not None, out.text
    assert "script" not in out.text
    address = html.unescape(refresh[1])
    assert address.startswith(f"{end_session}?")
    asked = parse_qs(urlsplit(address).query)
    assert asked["post_logout_redirect_uri"] == [f"{served.url}/sign-in"]
    assert _claims_of(asked["id_token_hint"][0])["preferred_username"] == IRO.username
    assert after.status_code == 401  # the session here ended before the provider was asked
    confirm = client.get(address)
    action = re.search(r'id="op.logoutForm" method="post" action="([^"]+)"', confirm.text)
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', confirm.text)
    assert action and xsrf, confirm.text
    back = client.post(str(confirm.url.join(action[1])),
                       data={"xsrf": xsrf[1], "logout": "yes"}, follow_redirects=True)  # fmt: skip
    assert back.status_code == 200
    assert str(back.url).startswith(f"{served.url}/sign-in")
    provider_sign_in_page(client, served, "/me")  # the provider asks who they are again


def test_a_local_sign_out_goes_to_the_sign_in_page_without_the_provider(
    served: Served, client: httpx2.Client, db: str
) -> None:
    """A session begun with a local password has no ID token: signing out ends it and goes
    back to the sign-in page, never to the provider."""
    with opened(db) as ledger:
        ledger.access.accounts.add("sw.local", "SW", [COUNCIL], password=LOCAL_PASSWORD)
    form = client.get(f"{served.url}/sign-in", headers={"Accept": "application/json"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    client.post(f"{served.url}/sign-in", data={
        "name": "sw.local", "password": LOCAL_PASSWORD, "csrf_token": token[1],
    })  # fmt: skip
    me = client.get(f"{served.url}/me")
    assert me.status_code == 200, me.text
    out = client.post(f"{served.url}/sign-out", data={"csrf_token": me.json()["csrf_token"]})
    assert (out.status_code, out.headers["location"]) == (303, "/sign-in")


def test_an_error_answer_cannot_write_lines_into_the_server_log(
    served: Served, client: httpx2.Client
) -> None:
    """The callback's `error` is whatever the browser sends: someone who started a sign-in
    of their own sends one with a newline and a made-up log line. The log keeps one line,
    with no word of theirs in it."""
    started = client.get(f"{served.url}/sign-in/oidc")
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    forged = "access_denied\nINFO careledger: FORGED ok"  # short enough to be kept whole

    answer = client.get(f"{served.url}{CALLBACK}", params={"state": state, "error": forged})

    assert answer.status_code == 401 and answer.json()["field"] == "error"
    log = served.log.read_text()
    assert "FORGED" not in log
    assert "identity provider refused sign-in: (not an error code)" in log


def test_the_providers_verified_email_is_where_the_iros_notices_go(
    served: Served, client: httpx2.Client, db: str
) -> None:
    from careledger.access.emails import Emails

    signed_in(client, served, IRO, f"/children/{JAYDEN}/plan")
    with opened(db) as ledger:
        assert Emails(ledger.access.store).of_role("IRO") == {IRO.username: IRO.email}
