"""`careledger users`, `tokens`, `shares` and `access-log`, driven as an administrator drives
them; the command line's own reads logged; a tampered access log failing `verify`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from careledger.access.errors import AccessRefused
from careledger.api import opened
from careledger.cli.exit_status import VERIFICATION_FAILED
from careledger.cli.main import cli
from careledger.ledger.store.failures import STORE_ERRORS
from tests.access_histories import HOME, OTHER, demo_ledger, person
from tests.test_access_log import tamper

PASSWORD = "gareth lindqvist reviews on tuesdays"
ADMIN = {"CARELEDGER_ACTOR": "it.admin", "CARELEDGER_DB": None}


@pytest.fixture
def ledger(db: str) -> Iterator[str]:
    with demo_ledger(db):
        pass
    yield db


def data_of(output: str) -> Any:
    """The answer in a read command's JSON envelope."""
    return json.loads(output)["data"]


def run(db: str, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        cli, [args[0], *args[1:2], "--db", db, *args[2:]], input=stdin, env=ADMIN
    )


def users_of(db: str) -> list[dict[str, str]]:
    result = CliRunner().invoke(cli, ["users", "list", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    return list(data_of(result.output))


def test_an_administrator_registers_people_from_a_prompt_or_stdin(ledger: str) -> None:
    prompted = run(
        ledger,
        "users",
        "add",
        "IRO-04",
        "--role",
        "IRO",
        "--council",
        OTHER,
        stdin=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output
    piped = run(
        ledger,
        "users",
        "add",
        "tm.jones",
        "--role",
        "TM",
        "--council",
        "e09000099",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
    )
    assert piped.output == f"registered tm.jones as TM ({HOME})\n"
    clerk = run(
        ledger,
        "users",
        "add",
        "clerk.leeds",
        "--role",
        "COURT_CLERK",
        "--court",
        "Family Court at Leeds",
        "--no-password",
    )
    assert clerk.exit_code == 0, clerk.output
    assert [(u["name"], u["sign_in"], u["state"]) for u in users_of(ledger)] == [
        ("IRO-04", "password", "active"),
        ("clerk.leeds", "identity provider", "active"),
        ("tm.jones", "password", "active"),
    ]
    assert run(ledger, "users", "disable", "tm.jones").exit_code == 0
    assert users_of(ledger)[2]["state"] == "disabled"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "BOSS", "--council", HOME], "error: --role: 'BOSS' is not a person's role"),
        (["--role", "SW", "--council", "Leeds"], "error: --council: 'Leeds' is not a council"),
        (["--role", "SW"], "error: --council: a SW belongs to at least one council"),
        (["--role", "SW", "--council", HOME, "--password-stdin"], "error: password: at least"),
    ],
)
def test_a_bad_registration_is_one_line_naming_the_field_exit_1_nobody_added(
    ledger: str, args: list[str], message: str
) -> None:
    result = run(ledger, "users", "add", "sw.new", *args, stdin="short\n")
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert result.output.count("\n") == 1
    assert users_of(ledger) == []


def test_a_token_is_printed_once_listed_without_it_and_revoked(ledger: str) -> None:
    issued = run(
        ledger, "tokens", "issue", "--system", "LCS", "--council", HOME, "--expires-in", "30d"
    )
    assert issued.exit_code == 0, issued.output
    secret = issued.stdout.splitlines()[0]
    assert secret.startswith("clt_") and len(secret) == 47
    listed = run(ledger, "tokens", "list", "--format", "json")
    (token,) = data_of(listed.stdout)
    assert secret not in listed.stdout
    assert (token["system"], token["council"], token["state"]) == ("LCS", HOME, "active")
    assert run(ledger, "tokens", "revoke", token["token_id"]).exit_code == 0
    assert data_of(run(ledger, "tokens", "list", "--format", "json").stdout)[0]["state"] == (
        "revoked"
    )
    again = run(ledger, "tokens", "revoke", token["token_id"])
    assert again.exit_code == 1 and again.output.startswith("error: TOKEN_ID: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--system", "LCS", "--council", "E1"], "error: --council: 'E1' is not a council"),
        (["--system", "LCS", "--council", HOME, "--expires-in", "3w"], "error: --expires-in: "),
        (["--system", "L C S", "--council", HOME], "error: --system: 'L C S' is not a name"),
    ],
)
def test_a_bad_token_request_issues_nothing(ledger: str, args: list[str], message: str) -> None:
    result = run(ledger, "tokens", "issue", *args)
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1
    assert data_of(run(ledger, "tokens", "list", "--format", "json").stdout) == []


def test_a_share_names_one_child_dates_and_an_expiry(ledger: str) -> None:
    shared = run(
        ledger,
        "shares",
        "add",
        f"{HOME}:NR-0205",
        "--court",
        "Family Court at Leeds",
        "--from",
        "2025-01-01",
        "--to",
        "2025-12-31",
        "--expires",
        "2099-03-31",
    )
    assert shared.exit_code == 0, shared.output
    for args, message in (
        (
            [
                f"{HOME}:NR-9999",
                "--from",
                "2025-01-01",
                "--to",
                "2025-12-31",
                "--expires",
                "2099-01-01",
            ],
            "error: CHILD: no case",
        ),
        (
            [
                f"{HOME}:NR-0205",
                "--from",
                "2025-12-31",
                "--to",
                "2025-01-01",
                "--expires",
                "2099-01-01",
            ],
            "error: --to: ",
        ),
        (
            [
                f"{HOME}:NR-0205",
                "--from",
                "2025-01-01",
                "--to",
                "2025-12-31",
                "--expires",
                "2020-01-01",
            ],
            "error: --expires: ",
        ),
        (
            [f"{HOME}:NR-0205", "--from", "1 Jan", "--to", "2025-12-31", "--expires", "2099-01-01"],
            "error: --from: ",
        ),
    ):
        refused = run(ledger, "shares", "add", *args, "--court", "Family Court at Leeds")
        assert refused.exit_code == 1 and refused.output.startswith(message), refused.output
    printed = run(ledger, "shares", "list", "--format", "json").stdout
    listed = data_of(printed)
    assert json.loads(printed)["query"] == {"child": None}  # README: an option not given is null
    assert [(s["child"], s["from_on"], s["to_on"], s["state"]) for s in listed] == [
        (f"{HOME}:NR-0205", "2025-01-01", "2025-12-31", "active")
    ]


def test_the_command_lines_reads_of_a_child_are_logged_as_its_administrator(ledger: str) -> None:
    child = f"{OTHER}:NR-0101"
    for args in (
        ["plan", child],
        ["history", child],
        ["reviews", child, "--as-of", "2026-01-30"],
        ["challenges", "--child", child],
        ["unapproved", "--child", child],
        ["verify", "--child", child],
    ):
        result = CliRunner().invoke(cli, [*args, "--db", ledger], env=ADMIN)
        assert result.exit_code == 0, result.output
    shown = CliRunner().invoke(
        cli, ["access-log", "--db", ledger, "--child", child, "--format", "json"], env=ADMIN
    )
    entries = data_of(shown.stdout)
    assert [(e["actor"], e["role"], e["view"], e["outcome"]) for e in entries] == [
        ("it.admin", "ADMIN", view, "allowed")
        for view in ("plan", "history", "reviews", "challenges", "unapproved", "verify")
    ]
    others = CliRunner().invoke(
        cli, ["access-log", "--db", ledger, "--actor", "someone.else", "--format", "json"]
    )
    assert data_of(others.stdout) == []


def test_a_tampered_access_log_fails_verify_as_a_tampered_ledger_does(ledger: str) -> None:
    assert CliRunner().invoke(cli, ["plan", f"{HOME}:NR-0201", "--db", ledger], env=ADMIN)
    assert CliRunner().invoke(cli, ["plan", f"{HOME}:NR-0203", "--db", ledger], env=ADMIN)
    intact = CliRunner().invoke(cli, ["verify", "--db", ledger])
    assert intact.exit_code == 0, intact.output
    tamper(ledger, "UPDATE access_log SET child = 'E09000099:NR-0204' WHERE position = 1")
    broken = CliRunner().invoke(cli, ["verify", "--db", ledger])
    assert broken.exit_code == VERIFICATION_FAILED
    assert broken.stdout.splitlines()[0] == "BROKEN"
    assert "access log: BROKEN: access log entry 1 differs from what was recorded" in (
        broken.stdout
    )
    as_json = data_of(
        CliRunner().invoke(cli, ["verify", "--db", ledger, "--format", "json"]).stdout
    )
    assert as_json["intact"] is False and as_json["access_log"]["entries"] == 0
    tamper(ledger, "DELETE FROM access_log WHERE position = 1")
    gone = CliRunner().invoke(cli, ["verify", "--db", ledger])
    assert gone.exit_code == VERIFICATION_FAILED
    assert "access log: BROKEN: access log entry 1 is missing (next is 2)" in gone.stdout


def test_the_break_glass_list_shows_each_inspectors_reason(ledger: str) -> None:
    with opened(ledger) as o:
        inspector = person("INSPECTOR", "ofsted.insp1", (HOME,))
        o.access.check_child(inspector, f"{HOME}:NR-0202", "history", "ILACS: tracking drift")
        o.access.check_child(person("SW", "SW-2210"), f"{HOME}:NR-0202", "plan")
    shown = CliRunner().invoke(
        cli, ["access-log", "--db", ledger, "--break-glass", "--format", "json"], env=ADMIN
    )
    assert shown.exit_code == 0, shown.output
    assert [(e["actor"], e["child"], e["reason"]) for e in data_of(shown.stdout)] == [
        ("ofsted.insp1", f"{HOME}:NR-0202", "ILACS: tracking drift")
    ]
    backwards = CliRunner().invoke(
        cli, ["access-log", "--db", ledger, "--from", "2026-02-01", "--to", "2026-01-01"]
    )
    assert backwards.exit_code == 1 and backwards.output == "error: --from: is after --to\n"


def _share_of(ledger: str, child: str) -> str:
    shared = run(
        ledger, "shares", "add", child, "--court", "Family Court at Leeds", "--from",
        "2025-01-01", "--to", "2025-12-31", "--expires", "2099-03-31",
    )  # fmt: skip
    assert shared.exit_code == 0, shared.output
    return shared.output.rsplit("(share ", 1)[1].rstrip(")\n")


def test_a_revoked_share_ends_the_clerks_access_at_once_and_is_kept_as_revoked(
    ledger: str,
) -> None:
    """A council ends a share before its expiry (the proceedings ended): the clerk's next read
    is refused; `shares list` still shows the share, as revoked, by whom and when; the
    revocation is appended, and the store refuses to remove it."""
    child = f"{HOME}:NR-0205"
    share_id = _share_of(ledger, child)
    clerk = person("COURT_CLERK", "clerk.amy")
    with opened(ledger) as o:
        o.access.check_child(clerk, child, "chronology")  # allowed while shared
    revoked = run(ledger, "shares", "revoke", share_id)
    assert revoked.exit_code == 0, revoked.output
    assert revoked.output.startswith(f"revoked share {share_id} of {child}'s chronology")
    with opened(ledger) as o:
        with pytest.raises(AccessRefused):
            o.access.check_child(clerk, child, "chronology")
        assert o.access.shared(clerk, child) == []
    listed = data_of(run(ledger, "shares", "list", "--format", "json").stdout)
    assert [(s["share_id"], s["state"], s["revoked_by"]) for s in listed] == [
        (share_id, "revoked", "it.admin")
    ]
    assert listed[0]["revoked_at"] and listed[0]["expires_on"] == "2099-03-31"
    again = run(ledger, "shares", "revoke", share_id)
    unknown = run(ledger, "shares", "revoke", "f00dfeed0000")
    assert again.exit_code == 1 and again.output.startswith(
        f"error: SHARE_ID: share '{share_id}' was revoked already, by it.admin at "
    )
    assert unknown.exit_code == 1 and unknown.output.startswith(
        "error: SHARE_ID: no share 'f00dfeed0000'"
    )
    with (
        opened(ledger) as o,
        pytest.raises(STORE_ERRORS, match="append-only"),
        o.access.store.transaction() as cursor,
    ):
        cursor.execute("DELETE FROM {s}access_share_revocations")


def test_a_share_is_revoked_only_by_its_councils_own_staff(ledger: str) -> None:
    """Through `Access` (as the service would): the IRO manager of the child's council may
    end its share; another council's, an IRO and the clerk may not, and learn nothing."""
    child = f"{HOME}:NR-0205"
    share_id = _share_of(ledger, child)
    with opened(ledger) as o:
        for outsider in (
            person("IRO_MANAGER", "mgr.other", (OTHER,)),
            person("IRO", "B-IRO-14"),
            person("COURT_CLERK", "clerk.amy"),
        ):
            with pytest.raises(AccessRefused, match="not found or not allowed"):
                o.access.revoke_share(outsider, share_id)
        ended = o.access.revoke_share(person("IRO_MANAGER", "mgr.home"), share_id)
    assert (ended["state"], ended["revoked_by"]) == ("revoked", "mgr.home")
