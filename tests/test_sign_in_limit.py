"""Sign-in is limited per client address (CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE), on every
sign-in route: the local form, and the start and the callback of sign-in through the
council's identity provider. The count is kept in the store, so it holds however many
workers or machines serve the ledger: a guesser cannot multiply their attempts by the
number of workers. Real `careledger serve` processes on SQLite and PostgreSQL; a real
OpenID Connect provider."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from careledger.api import opened
from careledger.service.tables import ServiceTables
from tests.identity_provider import IdentityProvider
from tests.service_server import PASSWORD, Service, add_person, prepare, running

COUNCIL = "E10000099"
LIMIT = "3"


def fresh_store(db: str) -> str:
    prepare(db)
    add_person(db, "sw.omar", "SW", [COUNCIL])
    return db


def guess(service: Service, password: str) -> int:
    """One attempt at the local form, on a connection of its own (so that, with several
    workers, any of them may answer it), as a guesser's script would send it."""
    with service.client() as client:
        form = client.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        nonce = re.match(r"careledger_sign_in=([^;]*)", form.headers["set-cookie"])
        assert token and nonce
        answer = client.post(
            "/sign-in",
            data={"name": "sw.omar", "password": password, "csrf_token": token[1]},
            headers={"Cookie": f"careledger_sign_in={nonce[1]}"},
        )
    if answer.status_code == 429:
        assert answer.headers["retry-after"] == "60"
        assert answer.headers["content-type"] == "application/problem+json"
    return answer.status_code


def test_the_limit_holds_across_two_workers(db: str, tmp_path: Path) -> None:
    """Ten guesses at `serve --workers 2`: three are answered, whichever worker took each;
    the right password after them is refused too; the service goes on answering."""
    fresh_store(db)
    with running(db, tmp_path, workers=2, CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE=LIMIT) as two:
        answers = [guess(two, f"guess {n}") for n in range(10)]
        right = guess(two, PASSWORD)
        alive = httpx.get(f"{two.url}/health")
    assert answers == [401] * 3 + [429] * 7
    assert right == 429
    assert alive.status_code == 200


def test_the_limit_holds_across_two_servers_on_one_store(db: str, tmp_path: Path) -> None:
    """Two `careledger serve` processes over one ledger (two machines behind one proxy),
    the guesses alternating between them: the count is the store's, not a process's."""
    fresh_store(db)
    few = {"CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE": LIMIT}
    with running(db, tmp_path, **few) as first, running(db, tmp_path, **few) as second:
        answers = [guess((first, second)[n % 2], f"guess {n}") for n in range(6)]
    assert answers == [401, 401, 401, 429, 429, 429]
    with opened(db) as ledger:
        kept = ServiceTables(ledger.ledger).fetch("SELECT * FROM {s}careledger_sign_in_attempts")
    assert [row["attempts"] for row in kept] == [6]
    assert "127.0.0.1" not in str(kept)  # a keyed hash of the address, not the address


def test_the_identity_providers_routes_count_toward_the_same_limit(
    db: str, tmp_path: Path, identity_provider: IdentityProvider
) -> None:
    """Starting sign-in at the council's provider and answering its callback are attempts
    too: after four of them (the limit), both routes and the local form are refused, on
    either worker."""
    fresh_store(db)
    oidc = {
        "CARELEDGER_OIDC_ISSUER": identity_provider.issuer,
        "CARELEDGER_OIDC_CLIENT_ID": identity_provider.client_id,
        "CARELEDGER_OIDC_CLIENT_SECRET": identity_provider.client_secret,
        "CARELEDGER_PUBLIC_URL": identity_provider.public_url,
        "CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE": "4",
    }
    with running(db, tmp_path, workers=2, **oidc) as two:

        def start() -> int:
            with two.client() as client:
                return client.get("/sign-in/oidc", params={"next": "/me"}).status_code

        def callback() -> int:
            with two.client() as client:
                return client.get("/sign-in/oidc/callback?state=x&code=y").status_code

        allowed = [start(), callback(), start(), callback()]
        refused = [start(), callback(), guess(two, PASSWORD)]
    assert allowed == [302, 400, 302, 400]  # to the provider; an answer not started here
    assert refused == [429, 429, 429]
