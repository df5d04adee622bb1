"""Where a person's notices go: an IRO's email address, for the notices of their inbox
(`careledger notify`). Given by `careledger users add --email`, or by the `email` claim of the
council's identity provider at each sign-in. Optional: a person without one gets no mail."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from careledger.access.store import AccessStore
from careledger.ledger.errors import LedgerError

# One address, as a mail server accepts it: no display name, no spaces, one @, a dot after.
ADDRESS = re.compile(r"[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"'.]+")
LONGEST = 254  # RFC 5321's path limit


def checked_address(value: str, field: str = "--email") -> str:
    address = value.strip()
    if len(address) > LONGEST or not ADDRESS.fullmatch(address):
        raise LedgerError(f"{field}: '{value[:80]}' is not an email address (name@example.gov.uk)")
    return address


class Emails:
    def __init__(self, store: AccessStore) -> None:
        self.store = store

    def set(self, name: str, address: str) -> None:
        """`name`'s address, replacing any before."""
        checked = checked_address(address)
        with self.store.transaction() as cursor:
            cursor.execute(
                "INSERT INTO {s}access_emails VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET email = excluded.email, updated_at = excluded.updated_at",
                [name, checked, datetime.now(UTC).isoformat()],
            )

    def of_role(self, role: str) -> dict[str, str]:
        """The addresses of the people of `role` who may still sign in, by name."""
        rows = self.store.fetch(
            "SELECT u.name, e.email FROM {s}access_users u JOIN {s}access_emails e "
            "ON e.name = u.name WHERE u.role = ? AND u.disabled = 0 ORDER BY u.name",
            [role],
        )
        return {str(row["name"]): str(row["email"]) for row in rows}
