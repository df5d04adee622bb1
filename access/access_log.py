"""The access log: who read which child's record, in which view, when, why (where a reason
is required), and whether they were allowed. A council answers a subject access request
("who has looked at my file?") from it, and `careledger verify` checks its chain.

Appending takes the log's one lock row first (`UPDATE access_log_lock`): on PostgreSQL a row
lock held to the end of the transaction, on SQLite the database's write lock, taken before the
last entry is read. So API workers appending at once queue, and each entry chains to the one
before it; the position's primary key would refuse a fork in any case.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from careledger.access.log_chain import LogVerdict, entry_digest, verify_log
from careledger.access.store import AccessStore
from careledger.ledger.integrity.chain import GENESIS

ALLOWED, REFUSED = "allowed", "refused"
PAGE = 5_000


class AccessLog:
    def __init__(self, store: AccessStore) -> None:
        self.store = store

    def append(
        self,
        actor: str,
        role: str,
        child: str,
        view: str,
        outcome: str,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """One entry, chained to the last, in a transaction of its own."""
        council = child.partition(":")[0]
        with self.store.transaction() as cursor:
            cursor.execute("UPDATE {s}access_log_lock SET appends = appends + 1 WHERE id = 1")
            last = cursor.one(
                "SELECT position, digest FROM {s}access_log ORDER BY position DESC LIMIT 1"
            )
            previous = bytes.fromhex(last["digest"]) if last else GENESIS
            entry: dict[str, Any] = {
                "position": (last["position"] if last else 0) + 1,
                "at": datetime.now(UTC).isoformat(timespec="microseconds"),
                "actor": actor,
                "role": role,
                "council": council,
                "child": child,
                "view": view,
                "reason": reason,
                "outcome": outcome,
            }
            entry["digest"] = entry_digest(previous, entry).hex()
            names = list(entry)
            cursor.execute(
                f"INSERT INTO {{s}}access_log ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})",
                [entry[name] for name in names],
            )
        return entry

    def entries(
        self,
        child: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        councils: frozenset[str] | None = None,
        reasons_only: bool = False,
    ) -> list[dict[str, Any]]:
        """The entries matching every filter given, oldest first; `councils` limits them to
        those councils' children, `reasons_only` to break-glass entries (a reason given)."""
        where, params = ["1=1"], list[Any]()
        for column, value in (("child", child), ("actor", actor)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            where.append("at >= ?")
            params.append(_utc(since))
        if until is not None:
            where.append("at <= ?")
            params.append(_utc(until))
        if councils is not None:
            where.append(f"council IN ({', '.join('?' * len(councils)) or 'NULL'})")
            params += sorted(councils)
        if reasons_only:
            where.append("reason IS NOT NULL")
        return self.store.fetch(
            f"SELECT * FROM {{s}}access_log WHERE {' AND '.join(where)} ORDER BY position",
            params,
        )

    def verify(self) -> LogVerdict:
        return verify_log(self._all())

    def _all(self) -> Iterator[dict[str, Any]]:
        """Every entry in order, a page at a time."""
        after = 0
        while True:
            page = self.store.fetch(
                f"SELECT * FROM {{s}}access_log WHERE position > ? ORDER BY position LIMIT {PAGE}",
                [after],
            )
            yield from page
            if len(page) < PAGE:
                return
            after = page[-1]["position"]


def _utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
