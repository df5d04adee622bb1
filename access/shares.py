"""A child's chronology shared by their council with a court: one child, the events of a
date range, until an expiry day. A court clerk reads nothing else (Family Procedure Rules
disclosure is the council's decision, case by case)."""

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
        where, params = ("WHERE child = ?", [child]) if child else ("", [])
        rows = self.store.fetch(
            f"SELECT * FROM {{s}}access_shares {where} ORDER BY shared_at", params
        )
        today = date.today().isoformat()
        return [
            row | {"state": "expired" if row["expires_on"] < today else "active"} for row in rows
        ]

    def current(self, child: str, court: str | None) -> list[Share]:
        """The shares of `child` with `court` in force today, each with its own date range."""
        if court is None:
            return []
        rows = self.store.fetch(
            "SELECT * FROM {s}access_shares WHERE child = ? AND court = ? AND expires_on >= ? "
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
