"""The access tables under PostgreSQL roles (`careledger init --roles`): the owner keeps them,
so no other role can undo the access log's append-only trigger; the reader's and the
writer's reads of a child are logged all the same; only the owner registers people."""

from __future__ import annotations

from pathlib import Path

import pytest

from careledger.access import SignInRefused
from careledger.api import opened
from tests.access_histories import HOME, person
from tests.test_integrity import FIRST, invoke, lines_of, ok
from tests.test_postgres_roles import Roles, record_as_writer, refused, roles

__all__ = ["roles"]  # the fixture, shared with the roles' own tests

CHILD = f"{HOME}:{FIRST}"


def test_reads_as_the_reader_and_the_writer_are_logged_and_the_log_stays_untouchable(
    roles: Roles, tmp_path: Path
) -> None:
    record_as_writer(roles, tmp_path)
    ok(invoke("projections", "catch-up", "--db", roles.url_of("projector")))
    for kind in ("reader", "writer"):
        ok(invoke("history", CHILD, "--db", roles.url_of(kind)))
    with opened(roles.url_of("owner")) as o:
        logged = o.access.log(child=CHILD, who=person("ADMIN", "root"))
    assert [e["view"] for e in logged] == ["history", "history"]
    for kind in ("writer", "reader", "projector"):
        connection = roles.connect(kind)
        assert refused(connection, "ALTER TABLE access_log DISABLE TRIGGER USER") == (
            "must be owner of table access_log"
        )
        assert refused(connection, "DELETE FROM access_log").startswith("permission denied")
        assert refused(connection, "UPDATE access_log SET actor = 'x'").startswith(
            "permission denied"
        )
        assert refused(
            connection,
            "INSERT INTO access_users VALUES ('x', 'ADMIN', '', NULL, NULL, 0, 0, NULL, 'now')",
        ).startswith("permission denied")
        connection.close()
    assert lines_of(ok(invoke("verify", "--db", roles.url_of("reader"))))[0].startswith("intact")


def test_the_writer_counts_failed_sign_ins(roles: Roles) -> None:
    with opened(roles.url_of("owner")) as o:
        o.access.accounts.add("IRO-04", "IRO", [HOME], password="gareth lindqvist reviews")
    with opened(roles.url_of("writer")) as o:
        with pytest.raises(SignInRefused):
            o.access.sign_in("IRO-04", "a guess at it")
        (counted,) = o.access.store.fetch("SELECT failures FROM {s}access_users")
        assert counted["failures"] == 1
        assert o.access.sign_in("IRO-04", "gareth lindqvist reviews").name == "IRO-04"
