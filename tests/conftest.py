"""Stores for the tests: a real SQLite file, and a real PostgreSQL server.

PostgreSQL comes from CARELEDGER_TEST_POSTGRES (default: the local server); each test gets a
schema of its own, dropped afterwards. An unreachable server fails the run: it is never
skipped silently. Outside CI, CARELEDGER_SKIP_POSTGRES=1 skips those tests, and says so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from cli.context import Opened, opened

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    return os.environ.get("CARELEDGER_TEST_POSTGRES", DEFAULT_POSTGRES)


def _skip_postgres() -> bool:
    return os.environ.get("CARELEDGER_SKIP_POSTGRES") == "1" and os.environ.get("CI") != "true"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[psycopg.Connection]:
    if _skip_postgres():
        pytest.skip("PostgreSQL tests skipped by CARELEDGER_SKIP_POSTGRES=1")
    try:
        connection = psycopg.connect(postgres_url(), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL at {postgres_url()} is unreachable: {error}", pytrace=False)
    yield connection
    connection.close()


@pytest.fixture
def postgres_db(postgres_admin: psycopg.Connection) -> Iterator[str]:
    """A ledger URL in a fresh schema of its own."""
    schema = f"cl_test_{uuid.uuid4().hex[:12]}"
    postgres_admin.execute(f'CREATE SCHEMA "{schema}"')
    parts = urlsplit(postgres_url())
    yield urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))
    postgres_admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def sqlite_db(tmp_path: os.PathLike[str]) -> str:
    return os.path.join(tmp_path, "ledger.db")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    """Each test that takes `db` runs once on a SQLite file and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_db"))


@pytest.fixture
def o(db: str) -> Iterator[Opened]:
    """The ledger and its views, opened on each store (`db`), tables created."""
    with opened(db, create_tables=True) as ledger:
        yield ledger
