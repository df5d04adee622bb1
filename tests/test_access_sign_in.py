"""Who someone is: local accounts (Argon2id, lockout), people signed in by the council's
identity provider, and systems' API tokens. Each refusal is one message and writes nothing
but the failure count."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from careledger.access import AccessRefused, SignInRefused, TokenRefused
from careledger.access.settings import AccessSettings
from careledger.access.tokens import digest
from careledger.api import Opened, opened
from careledger.ledger.errors import LedgerError
from tests.access_histories import HOME, OTHER

PASSWORD = "gareth lindqvist reviews on tuesdays"


@pytest.fixture
def o(db: str) -> Iterator[Opened]:
    with opened(db, create_tables=True) as ledger:
        ledger.access.accounts.add("IRO-04", "IRO", [OTHER], password=PASSWORD)
        yield ledger


def test_a_local_account_signs_in_with_its_password_and_its_register_entry(o: Opened) -> None:
    who = o.access.sign_in("IRO-04", PASSWORD)
    assert (who.name, who.role, who.councils, who.kind) == ("IRO-04", "IRO", {OTHER}, "person")
    (stored,) = o.access.store.fetch("SELECT password_hash FROM {s}access_users")
    assert stored["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in stored["password_hash"]


def test_wrong_password_unknown_name_and_disabled_account_get_one_answer(o: Opened) -> None:
    o.access.accounts.add("tm.jones", "TM", [OTHER], password=PASSWORD)
    o.access.accounts.disable("tm.jones")
    answers = set()
    for name, password in (
        ("IRO-04", "wrong password!!"),
        ("nobody", PASSWORD),
        ("tm.jones", PASSWORD),
    ):
        with pytest.raises(SignInRefused) as refused:
            o.access.sign_in(name, password)
        answers.add(str(refused.value))
    assert len(answers) == 1
    with pytest.raises(SignInRefused):
        o.access.person("tm.jones")


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one(o: Opened) -> None:
    assert AccessSettings().sign_in_attempts == 5
    for _ in range(4):
        with pytest.raises(SignInRefused):
            o.access.sign_in("IRO-04", "a guess at it")
    assert o.access.sign_in("IRO-04", PASSWORD).name == "IRO-04"  # resets the count
    for _ in range(5):
        with pytest.raises(SignInRefused):
            o.access.sign_in("IRO-04", "a guess at it")
    with pytest.raises(SignInRefused):
        o.access.sign_in("IRO-04", PASSWORD)
    (listed,) = o.access.accounts.listing()
    assert listed["state"].startswith("locked until ")


def test_the_lockout_ends_after_its_minutes(o: Opened) -> None:
    for _ in range(5):
        with pytest.raises(SignInRefused):
            o.access.sign_in("IRO-04", "a guess at it")
    with o.access.store.transaction() as cursor:  # the lockout's minutes have passed
        cursor.execute("UPDATE {s}access_users SET locked_until = '2020-01-01T00:00:00+00:00'")
    assert o.access.sign_in("IRO-04", PASSWORD).name == "IRO-04"


def test_someone_the_identity_provider_vouches_for_gets_their_register_role(o: Opened) -> None:
    o.access.accounts.add("ofsted.insp1", "INSPECTOR", [HOME, OTHER])
    who = o.access.person("ofsted.insp1")
    assert (who.role, who.councils) == ("INSPECTOR", {HOME, OTHER})
    with pytest.raises(SignInRefused):  # no local password: the identity provider only
        o.access.sign_in("ofsted.insp1", "")
    with pytest.raises(SignInRefused):
        o.access.person("not.registered@council.gov.uk")


@pytest.mark.parametrize(
    ("name", "role", "councils", "court", "field"),
    [
        ("x", "BOSS", [HOME], None, "--role"),
        ("x", "SYSTEM", [HOME], None, "--role"),
        ("x", "ADMIN", [HOME], None, "--role"),
        ("x", "SW", ["99"], None, "--council"),
        ("x", "SW", [], None, "--council"),
        ("x", "COURT_CLERK", [], None, "--court"),
        ("x", "SW", [HOME], "Family Court at Leeds", "--court"),
        ("two words", "SW", [HOME], None, "NAME"),
        ("IRO-04", "IRO", [HOME], None, "NAME"),
    ],
)
def test_bad_registrations_name_the_field_and_write_nothing(
    o: Opened, name: str, role: str, councils: list[str], court: str | None, field: str
) -> None:
    with pytest.raises(LedgerError) as refused:
        o.access.accounts.add(name, role, councils, court, PASSWORD)
    assert str(refused.value).startswith(f"{field}: ")
    assert [row["name"] for row in o.access.accounts.listing()] == ["IRO-04"]


def test_a_token_speaks_for_its_system_and_council_and_is_stored_only_hashed(o: Opened) -> None:
    issued = o.access.issue_token("LCS", HOME, timedelta(days=90))
    who = o.access.token(issued.secret)
    assert (who.name, who.role, who.councils, who.kind) == ("LCS", "SYSTEM", {HOME}, "system")
    (row,) = o.access.store.fetch("SELECT * FROM {s}access_tokens")
    assert row["digest"] == digest(issued.secret)
    assert issued.secret not in str(row)
    assert "secret" not in o.access.tokens.listing()[0]


def test_a_token_records_for_its_own_council_only_as_its_system_name(o: Opened) -> None:
    who = o.access.token(o.access.issue_token("LCS", HOME).secret)
    o.access.check_record(who, HOME)
    with pytest.raises(AccessRefused) as refused:
        o.access.check_record(who, OTHER)
    assert str(refused.value).startswith("council: ")
    assert o.access.recorded_by(who) == ("LCS", "ADMIN")
    assert o.access.recorded_by(who, "LCS", "ADMIN") == ("LCS", "ADMIN")
    with pytest.raises(AccessRefused, match=r"^recorded_by\.actor_id: "):
        o.access.recorded_by(who, actor="SW-2210")
    with pytest.raises(AccessRefused, match=r"^recorded_by\.role: "):
        o.access.recorded_by(who, role="TM")
    with pytest.raises(AccessRefused):
        o.access.check_child(who, f"{HOME}:NR-0201", "plan")


def test_a_person_records_as_themselves_in_their_role(o: Opened) -> None:
    iro = o.access.sign_in("IRO-04", PASSWORD)
    assert o.access.recorded_by(iro) == ("IRO-04", "IRO")
    with pytest.raises(AccessRefused, match=r"^recorded_by\.role: "):
        o.access.recorded_by(iro, "IRO-04", "IRO_MANAGER")


def test_revoked_expired_and_unknown_tokens_are_refused_saying_which(o: Opened) -> None:
    revoked = o.access.issue_token("LCS", HOME)
    o.access.tokens.revoke(revoked.token_id)
    expired = o.access.issue_token("Mosaic", HOME, timedelta(hours=1))
    with o.access.store.transaction() as cursor:  # an hour later
        cursor.execute(
            "UPDATE {s}access_tokens SET expires_at = '2020-01-01T00:00:00+00:00' "
            "WHERE token_id = ?",
            [expired.token_id],
        )
    for presented, reason in (
        (revoked.secret, "token: revoked at "),
        (expired.secret, "token: expired at "),
        ("clt_" + "A" * 43, "token: unknown token"),
    ):
        with pytest.raises(TokenRefused) as refused:
            o.access.token(presented)
        assert str(refused.value).startswith(reason)
    states = {row["token_id"]: row["state"] for row in o.access.tokens.listing()}
    assert states == {revoked.token_id: "revoked", expired.token_id: "expired"}
    with pytest.raises(LedgerError, match=r"^TOKEN_ID: "):
        o.access.tokens.revoke(revoked.token_id)
    with pytest.raises(LedgerError, match=r"^TOKEN_ID: no token"):
        o.access.tokens.revoke("0000")


def test_the_lockout_follows_the_settings(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARELEDGER_SIGN_IN_ATTEMPTS", "2")
    with opened(db, create_tables=True) as o:
        o.access.accounts.add("IRO-04", "IRO", [OTHER], password=PASSWORD)
        for _ in range(2):
            with pytest.raises(SignInRefused):
                o.access.sign_in("IRO-04", "a guess at it")
        with pytest.raises(SignInRefused):
            o.access.sign_in("IRO-04", PASSWORD)
    monkeypatch.setenv("CARELEDGER_SIGN_IN_ATTEMPTS", "none")
    with pytest.raises(LedgerError, match=r"^CARELEDGER_SIGN_IN_ATTEMPTS: "), opened(db):
        pass
