"""A child's chronology shared by their council with a court: one child, the events of a
date range, until an expiry day. A court clerk reads nothing else (Family Procedure Rules
disclosure is the council's decision, case by case).

A share can be ended before its expiry (revoked): the revocation, who made it and when, is
a row of its own, appended, never an edit of the share; the clerk's next read is refused."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from careledger.access.checks import one_line
from careledger.access.store import AccessStore
from careledger.ledger.errors import LedgerError


@dataclass(frozen=True)
class Share:
    share_id: str
    child: str
    court: str
    from_on: date
    to_on: date
    expires_on: date


class Shares:
    def __init__(self, store: AccessStore) -> None:
        self.store = store

    def add(
        self, child: str, court: str, from_on: date, to_on: date, expires_on: date, by: str
    ) -> Share:
        if to_on < from_on:
            raise LedgerError(f"--to: {to_on} is before --from {from_on}")
        if expires_on < date.today():
            raise LedgerError(f"--expires: {expires_on} has passed")
        share = Share(
            secrets.token_hex(6), child, one_line(court, "--court"), from_on, to_on, expires_on
        )
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO {s}access_shares VALUES (?,?,?,?,?,?,?,?)",
                [
                    share.share_id,
                    child,
                    share.court,
                    from_on.isoformat(),
                    to_on.isoformat(),
                    expires_on.isoformat(),
                    by,
                    datetime.now(UTC).isoformat(),
                ],
            )
        return share

    def listing(self, child: str | None = None) -> list[dict[str, Any]]:
        """Every share (of `child`, if named), oldest first: active, expired or revoked (with
        who revoked it and when)."""
        where, params = ("WHERE s.child = ?", [child]) if child else ("", [])
        rows = self.store.fetch(
            "SELECT s.*, r.revoked_by, r.revoked_at FROM {s}access_shares s "
            "LEFT JOIN {s}access_share_revocations r ON r.share_id = s.share_id "
            f"{where} ORDER BY s.shared_at",
            params,
        )
        return [row | {"state": _state(row)} for row in rows]

    def get(self, share_id: str) -> dict[str, Any]:
        """The share `share_id`, as `listing` shows it."""
        rows = [row for row in self.listing() if row["share_id"] == share_id.strip()]
        if not rows:
            raise LedgerError(f"SHARE_ID: no share '{share_id}' (see 'shares list')")
        return rows[0]

    def revoke(self, share_id: str, by: str) -> dict[str, Any]:
        """Ends the share now, before its expiry, recording who ended it and when. Once:
        a share revoked stays revoked (a new share is made to share again)."""
        share = self.get(share_id)
        if share["revoked_at"] is not None:
            raise LedgerError(
                f"SHARE_ID: share '{share['share_id']}' was revoked already, by "
                f"{share['revoked_by']} at {share['revoked_at']}"
            )
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO {s}access_share_revocations VALUES (?,?,?) "
                "ON CONFLICT (share_id) DO NOTHING",
                [share["share_id"], by, datetime.now(UTC).isoformat()],
            )
        return self.get(share_id)

    def current(self, child: str, court: str | None) -> list[Share]:
        """The shares of `child` with `court` in force today (not expired, not revoked),
        each with its own date range."""
        if court is None:
            return []
        rows = self.store.fetch(
            "SELECT * FROM {s}access_shares WHERE child = ? AND court = ? AND expires_on >= ? "
            "AND share_id NOT IN (SELECT share_id FROM {s}access_share_revocations) "
            "ORDER BY from_on",
            [child, court, date.today().isoformat()],
        )
        return [
            Share(
                row["share_id"],
                child,
                court,
                date.fromisoformat(row["from_on"]),
                date.fromisoformat(row["to_on"]),
                date.fromisoformat(row["expires_on"]),
            )
            for row in rows
        ]


def _state(row: dict[str, Any]) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    return "expired" if row["expires_on"] < date.today().isoformat() else "active"
