"""`careledger init` on a PostgreSQL database whose schema does not exist yet makes it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import CliRunner

from careledger.cli.main import cli
from tests.conftest import postgres_url


@pytest.fixture
def new_schema(postgres_admin: psycopg.Connection) -> Iterator[str]:
    schema = f"cl_new_{uuid.uuid4().hex[:12]}"
    yield schema
    postgres_admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_init_makes_the_schema_its_url_names(
    postgres_admin: psycopg.Connection, new_schema: str
) -> None:
    parts = urlsplit(postgres_url())
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, f"schema={new_schema}", ""))
    runner = CliRunner()

    result = runner.invoke(cli, ["init", "--db", url])

    assert result.exit_code == 0, result.output
    found = postgres_admin.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", (new_schema,)
    ).fetchone()
    assert found is not None and found[0] > 0
    assert runner.invoke(cli, ["verify", "--db", url]).exit_code == 0
