"""API tokens for a council's systems (its case-management system's feed): shown once when
issued, stored as their SHA-256, with an expiry, revocable, each for one council and for
recording only.

Why SHA-256 and not Argon2id, as for passwords: a token is 256 random bits, so no list of
likely guesses exists to try against a stolen table, and a fast hash of it is as good as a
slow one; and every API request presents its token, so checking it must cost microseconds,
not the tenth of a second Argon2id is tuned to. The table is searched by the digest (a unique
index), so no secret is ever compared byte by byte.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from careledger.access.checks import account_name, council_code
from careledger.access.errors import TokenRefused
from careledger.access.principal import Principal
from careledger.access.store import AccessStore
from careledger.ledger.errors import LedgerError

PREFIX = "clt_"  # marks a careledger token, so a leaked one can be recognised by scanners
LIFE = re.compile(r"(\d{1,4})([dh])")


@dataclass(frozen=True)
class Issued:
    token_id: str
    secret: str  # shown once, never stored
    expires_at: datetime


def digest(presented: str) -> str:
    return hashlib.sha256(presented.encode()).hexdigest()


def life(value: str) -> timedelta:
    """`90d` or `12h`."""
    found = LIFE.fullmatch(value.strip())
    if not found or int(found[1]) == 0:
        raise LedgerError(f"--expires-in: '{value}' is not a number of days (90d) or hours (12h)")
    amount = int(found[1])
    return timedelta(days=amount) if found[2] == "d" else timedelta(hours=amount)


class Tokens:
    def __init__(self, store: AccessStore) -> None:
        self.store = store

    def issue(self, system: str, council: str, lasts: timedelta) -> Issued:
        account_name(system, "--system")
        code = council_code(council)
        token_id = secrets.token_hex(6)
        secret = f"{PREFIX}{secrets.token_urlsafe(32)}"
        issued = datetime.now(UTC)
        expires = issued + lasts
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO {s}access_tokens VALUES (?,?,?,?,?,?,?)",
                [
                    token_id,
                    digest(secret),
                    system,
                    code,
                    issued.isoformat(),
                    expires.isoformat(),
                    None,
                ],
            )
        return Issued(token_id, secret, expires)

    def listing(self) -> list[dict[str, Any]]:
        """Every token, without its secret or digest."""
        rows = self.store.fetch(
            "SELECT token_id, system, council, issued_at, expires_at, revoked_at "
            "FROM {s}access_tokens ORDER BY issued_at"
        )
        return [row | {"state": _state(row)} for row in rows]

    def revoke(self, token_id: str) -> None:
        with self.store.transaction() as cursor:
            row = cursor.one(
                "SELECT revoked_at FROM {s}access_tokens WHERE token_id = ?", [token_id]
            )
            if row is None:
                raise LedgerError(f"TOKEN_ID: no token '{token_id}'")
            if row["revoked_at"]:
                raise LedgerError(f"TOKEN_ID: '{token_id}' was revoked at {row['revoked_at']}")
            cursor.execute(
                "UPDATE {s}access_tokens SET revoked_at = ? WHERE token_id = ?",
                [datetime.now(UTC).isoformat(), token_id],
            )

    def principal(self, presented: str) -> Principal:
        """The system a token speaks for; refused if unknown, expired or revoked."""
        rows = self.store.fetch(
            "SELECT * FROM {s}access_tokens WHERE digest = ?", [digest(presented.strip())]
        )
        if not rows:
            raise TokenRefused("unknown token")
        row = rows[0]
        if row["revoked_at"]:
            raise TokenRefused(f"revoked at {row['revoked_at']}")
        if datetime.fromisoformat(row["expires_at"]) <= datetime.now(UTC):
            raise TokenRefused(f"expired at {row['expires_at']}")
        return Principal(row["system"], "SYSTEM", frozenset({row["council"]}), kind="system")


def _state(row: dict[str, Any]) -> str:
    if row["revoked_at"]:
        return "revoked"
    return "expired" if datetime.fromisoformat(row["expires_at"]) <= datetime.now(UTC) else "active"
