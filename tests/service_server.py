"""A real `careledger serve` for the service's tests and benchmark: a uvicorn process on a
free port over a store the test made, its log captured to a file; and the people and
systems that sign in to it, registered as `careledger users add` and `tokens issue` do.

The demo's case histories, which many modules serve, are recorded once per test process
(`demo_store`, a session fixture) and copied for each module that serves them
(`served_demo`): a module's tests may record without changing what another module sees."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from careledger.api import opened
from careledger.service.tables import ServiceTables
from tests.access_histories import demo_ledger

SECRET = "test-session-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
# Every test signs in afresh from one address: more than the default 10 a minute (the limit
# itself is tested in tests/test_sign_in_limit.py).
SIGN_IN_FOR_EVERY_TEST = {"CARELEDGER_SIGN_IN_ATTEMPTS_PER_MINUTE": "1000"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(db: str) -> None:
    """The ledger's tables, the access tables and the service's, as `careledger init`."""
    with opened(db, create_tables=True) as ledger:
        ServiceTables(ledger.ledger).create()


@dataclass
class Service:
    url: str
    log: Path
    process: subprocess.Popen[bytes]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@contextmanager
def running(db: str, directory: Path, workers: int = 1, **env: str) -> Iterator[Service]:
    """`careledger serve --db DB` on a free port until the block ends."""
    port = free_port()
    log = directory / f"serve-{port}.log"
    command = [str(Path(sys.executable).parent / "careledger"), "serve", "--db", db]
    command += ["--port", str(port), "--workers", str(workers)]
    environment = os.environ | {"CARELEDGER_SESSION_SECRET": SECRET} | env
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=environment
        )
    service = Service(f"http://127.0.0.1:{port}", log, process)
    try:
        _wait_until_up(service)
        yield service
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serving(db: str, directory: Path, **env: str) -> Iterator[Service]:
    """`running`, for a module's tests, each of which signs in afresh."""
    with running(db, directory, **(SIGN_IN_FOR_EVERY_TEST | env)) as service:
        yield service


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file holding the demo's histories, its views caught up and the access and
    service tables made: recorded once per test process, closed, and only ever copied."""
    db = tmp_path_factory.mktemp("demo") / "careledger.db"
    with demo_ledger(str(db)):
        pass
    prepare(str(db))
    return db


def demo_copy(demo_store: Path, directory: Path) -> str:
    """A store of the module's own at DIRECTORY/careledger.db, as `demo_store` holds it (and
    owner-only, as careledger made it)."""
    db = directory / "careledger.db"
    shutil.copy(demo_store, db)
    return str(db)


@contextmanager
def served_demo(
    demo_store: Path, directory: Path, people: Iterable[tuple[str, str, list[str]]]
) -> Iterator[tuple[Service, str]]:
    """`careledger serve` over a copy of the demo's histories with PEOPLE (name, role,
    councils) registered; yields the service and its store."""
    db = demo_copy(demo_store, directory)
    for name, role, councils in people:
        add_person(db, name, role, councils)
    with serving(db, directory) as service:
        yield service, db


def sign_in_each(service: Service, names: Iterable[str]) -> dict[str, Person]:
    """Each of NAMES signed in, by name."""
    return {name: sign_in(service, name) for name in names}


def _wait_until_up(service: Service) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise RuntimeError(f"careledger serve stopped:\n{service.log_text()}")
        try:
            if httpx.get(f"{service.url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"careledger serve did not answer within 60 s:\n{service.log_text()}")


def add_person(
    db: str, name: str, role: str, councils: list[str], court: str | None = None
) -> None:
    with opened(db) as ledger:
        ledger.access.accounts.add(name, role, councils, court=court, password=PASSWORD)


def issue_token(db: str, system: str, council: str, lasts: timedelta = timedelta(days=1)) -> str:
    with opened(db) as ledger:
        return ledger.access.issue_token(system, council, lasts).secret


def revoke_token(db: str, secret: str) -> None:
    """As `careledger tokens revoke TOKEN_ID` does."""
    from careledger.access.tokens import digest

    with opened(db) as ledger:
        rows = ledger.access.store.fetch(
            "SELECT token_id FROM {s}access_tokens WHERE digest = ?", [digest(secret)]
        )
        ledger.access.tokens.revoke(str(rows[0]["token_id"]))


@dataclass
class Person:
    """A person signed in: the session cookie sent by hand (it is Secure, and the test server
    speaks plain HTTP on the loopback) and the CSRF token their forms carry."""

    cookie: str
    csrf: str


def sign_in(service: Service, name: str, password: str = PASSWORD) -> Person:
    with service.client() as client:
        form = client.get("/sign-in")
        nonce = form.cookies.get("careledger_sign_in") or _cookie(form, "careledger_sign_in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        done = client.post(
            "/sign-in",
            data={"name": name, "password": password, "csrf_token": token[1]},
            headers={"Cookie": f"careledger_sign_in={nonce}"},
        )
        assert done.status_code == 303, done.text
        session = _cookie(done, "careledger_session")
        me = client.get("/me", headers={"Cookie": f"careledger_session={session}"})
        return Person(session, me.json()["csrf_token"])


def _cookie(response: httpx.Response, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        found = re.match(rf"{name}=([^;]*)", header)
        if found:
            return found[1]
    raise AssertionError(f"no {name} cookie set")


def as_person(person: Person, **headers: str) -> dict[str, str]:
    return {"Cookie": f"careledger_session={person.cookie}", "X-CSRF-Token": person.csrf} | headers
