"""Stores for the tests (a real SQLite file, and a real PostgreSQL server), and the tiers.

Every test is in one tier, a marker given here (`pytest -m fast`):
- `oracle`: the DfE's own validator judges the import and export (slow: its rules are many);
- `browser`: pages opened in Debian's Chromium;
- `e2e`: the `careledger` command driven as a user drives it, through to the store;
- `replica`: reads served by a PostgreSQL streaming replica the test makes of the server
  (`pg_basebackup`; the server must accept a replication connection: `.ci/run`);
- `store`: the ledger or its views on a real SQLite file and a real PostgreSQL schema;
- `fast`: the rest, in memory; it runs alone in well under 30 s.
A test that opens the browser is a `browser` test; otherwise its module's tier, if
`MODULE_TIERS` names one; otherwise a test that uses a store's fixture is a `store` test.

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

from careledger.api import Opened, opened
from tests.browser import browser, chromium  # noqa: F401 (fixtures, for any test)
from tests.identity_provider import identity_provider  # noqa: F401 (a fixture, for any test)
from tests.service_server import demo_store  # noqa: F401 (a fixture, for any test)
from tests.signed_in_service import tls_certificate  # noqa: F401 (a fixture, for any test)

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
TIERS = ("fast", "store", "e2e", "browser", "oracle", "replica")
STORE_FIXTURES = frozenset(
    {"db", "sqlite_db", "postgres_db", "postgres_admin", "o", "served_db", "demo_store"}
)
BROWSER_FIXTURES = frozenset({"browser", "chromium"})
MODULE_TIERS = {
    "test_903_oracle": "oracle",
    "test_validator903": "oracle",
    "test_export_903_own_records": "oracle",
    "test_care_ends_at_eighteen": "oracle",
    "test_drift_html": "browser",
    "test_pages_browser": "browser",
    "test_oidc_browser": "browser",
    "test_recorder_contract": "store",
    "test_projection_properties": "store",
    "test_synthetic": "store",
    "test_two_writers": "store",
    "test_read_replica": "replica",
    "test_access_policy": "store",
    **dict.fromkeys(
        (
            "test_cli_end_to_end",
            "test_chronology",
            "test_chronology_render",
            "test_earlier_versions",
            "test_demo",
            "test_demo_challenges",
            "test_demo_drift",
            "test_readme",
            "test_import_903_mapping",
            "test_import_903_restatements",
            "test_later_decisions",
            "test_ceasing_rules",
            "test_api",
            "test_projector",
            "test_service_recording",
            "test_inbox_service",
            "test_service_reads",
            "test_service_security",
            "test_service_roles",
            "test_service_read_url",
            "test_service_writer_role",
            "test_sign_in_limit",
            "test_oidc_sign_in",
            "test_access_cli",
            "test_cli_grammar",
        ),
        "e2e",
    ),
}


def pytest_configure(config: pytest.Config) -> None:
    for tier in TIERS:
        config.addinivalue_line("markers", f"{tier}: the {tier} tier of the suite (conftest)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(tier_of(item))


def tier_of(item: pytest.Item) -> str:
    fixtures = set(getattr(item, "fixturenames", ()))
    if BROWSER_FIXTURES & fixtures:
        return "browser"
    module = item.module.__name__.rsplit(".", 1)[-1] if isinstance(item, pytest.Function) else ""
    if module in MODULE_TIERS:
        return MODULE_TIERS[module]
    return "store" if STORE_FIXTURES & fixtures else "fast"


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
    return os.path.join(tmp_path, "careledger.ledger.db")


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest) -> str:
    """Each test that takes `db` runs once on a SQLite file and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_db"))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def served_db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store a module's tests share, as they share one `careledger serve` over it (a
    server takes seconds to start): a SQLite file, then a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path_factory.mktemp("served") / "careledger.db")
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = f"cl_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    parts = urlsplit(postgres_url())
    yield urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={schema}", ""))
    admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def o(db: str) -> Iterator[Opened]:
    """The ledger and its views, opened on each store (`db`), tables created."""
    with opened(db, create_tables=True) as ledger:
        yield ledger


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Files are created under umask 000, so that only the mode asked for restricts them."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)
