"""People: local accounts (Argon2id password hashes, locked after repeated failures) and
people who sign in through the council's identity provider. Either way, role and councils
come from careledger's register: the identity provider only proves who someone is.

A person's name is the id they act under in the ledger: an IRO's name is the `iro_id` of the
IROAllocated events that allocate children to them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from careledger.access.checks import account_name, council_code, one_line
from careledger.access.errors import SignInRefused
from careledger.access.policy import PERSON_ROLES
from careledger.access.principal import Principal
from careledger.access.settings import AccessSettings
from careledger.access.store import AccessStore
from careledger.ledger.errors import LedgerError

# argon2-cffi's defaults are RFC 9106's second recommended profile for Argon2id (64 MiB,
# 3 passes): a guess costs an attacker with a stolen table as much as a sign-in costs us.
HASHER = PasswordHasher()
# Checked against when the name is unknown, so that an unknown name takes as long as a known
# one with a wrong password: the time taken tells a guesser nothing.
_DUMMY = HASHER.hash("careledger: no such account")
MIN_PASSWORD = 12


def now() -> datetime:
    return datetime.now(UTC)


class Accounts:
    def __init__(self, store: AccessStore, settings: AccessSettings) -> None:
        self.store = store
        self.settings = settings

    def add(
        self,
        name: str,
        role: str,
        councils: list[str],
        court: str | None = None,
        password: str | None = None,
    ) -> Principal:
        """Register a person. Without a password they can sign in only through the identity
        provider. A court clerk names a court; everyone else at least one council."""
        principal = person_principal(name, role, councils, court)
        hashed = HASHER.hash(checked_password(password)) if password is not None else None
        with self.store.transaction() as cursor:
            if cursor.one("SELECT name FROM {s}access_users WHERE name = ?", [name]):
                raise LedgerError(f"NAME: '{name}' is already registered")
            cursor.execute(
                "INSERT INTO {s}access_users VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    name,
                    principal.role,
                    ",".join(sorted(principal.councils)),
                    principal.court,
                    hashed,
                    0,
                    0,
                    None,
                    now().isoformat(),
                ],
            )
        return principal

    def listing(self) -> list[dict[str, Any]]:
        """Every person, without their password hash."""
        rows = self.store.fetch(
            "SELECT name, role, councils, court, password_hash, disabled, locked_until "
            "FROM {s}access_users ORDER BY name"
        )
        return [
            {
                "name": row["name"],
                "role": row["role"],
                "councils": row["councils"],
                "court": row["court"] or "",
                "sign_in": "password" if row["password_hash"] else "identity provider",
                "state": _state(row),
            }
            for row in rows
        ]

    def disable(self, name: str) -> None:
        with self.store.transaction() as cursor:
            cursor.execute("UPDATE {s}access_users SET disabled = 1 WHERE name = ?", [name])
            if cursor.rowcount != 1:
                raise LedgerError(f"NAME: no person '{name}' is registered")

    def sign_in(self, name: str, password: str) -> Principal:
        """The person, if the password is theirs and the account neither disabled nor locked.
        Each wrong password counts; the `sign_in_attempts`-th in a row locks the account for
        `lockout_minutes`, whatever password comes next."""
        row = self._row(name)
        stored = row["password_hash"] if row else None
        try:
            HASHER.verify(stored or _DUMMY, password)
            right = stored is not None
        except (VerificationError, InvalidHashError):
            right = False
        if row is None or row["disabled"] or _locked(row):
            raise SignInRefused()
        if not right:
            self._count_failure(name)
            raise SignInRefused()
        if row["failures"] or row["locked_until"]:
            with self.store.transaction() as cursor:
                cursor.execute(
                    "UPDATE {s}access_users SET failures = 0, locked_until = NULL WHERE name = ?",
                    [name],
                )
        return _principal(row)

    def person(self, name: str) -> Principal:
        """A registered person whom the identity provider has proved to be `name`."""
        row = self._row(name)
        if row is None or row["disabled"]:
            raise SignInRefused()
        return _principal(row)

    def _row(self, name: str) -> dict[str, Any] | None:
        rows = self.store.fetch("SELECT * FROM {s}access_users WHERE name = ?", [name])
        return rows[0] if rows else None

    def _count_failure(self, name: str) -> None:
        until = now() + timedelta(minutes=self.settings.lockout_minutes)
        with self.store.transaction() as cursor:
            cursor.execute(
                "UPDATE {s}access_users SET failures = failures + 1 WHERE name = ?", [name]
            )
            cursor.execute(
                "UPDATE {s}access_users SET failures = 0, locked_until = ? "
                "WHERE name = ? AND failures >= ?",
                [until.isoformat(), name, self.settings.sign_in_attempts],
            )


def person_principal(name: str, role: str, councils: list[str], court: str | None) -> Principal:
    account_name(name)
    if role not in PERSON_ROLES:
        raise LedgerError(f"--role: '{role}' is not a person's role ({', '.join(PERSON_ROLES)})")
    codes = frozenset(council_code(council) for council in councils)
    if role == "COURT_CLERK":
        if court is None:
            raise LedgerError("--court: a court clerk names their court")
        if codes:
            raise LedgerError("--council: a court clerk belongs to a court, not a council")
        return Principal(name, role, frozenset(), one_line(court, "--court"))
    if court is not None:
        raise LedgerError("--court: only a court clerk names a court")
    if not codes:
        raise LedgerError(f"--council: a {role} belongs to at least one council")
    return Principal(name, role, codes)


def checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise LedgerError(f"password: at least {MIN_PASSWORD} characters")
    return password


def _locked(row: dict[str, Any]) -> bool:
    until = row["locked_until"]
    return bool(until) and datetime.fromisoformat(until) > now()


def _state(row: dict[str, Any]) -> str:
    if row["disabled"]:
        return "disabled"
    return f"locked until {row['locked_until']}" if _locked(row) else "active"


def _principal(row: dict[str, Any]) -> Principal:
    councils = frozenset(c for c in str(row["councils"]).split(",") if c)
    return Principal(row["name"], row["role"], councils, row["court"])
