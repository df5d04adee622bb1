"""The access log: who read which child's record, in which view, when, why (where a reason
is required), and whether they were allowed. A council answers a subject access request
("who has looked at my file?") from it, and `careledger verify` checks its chain.

Appending takes the log's one lock row first (`UPDATE access_log_lock`): on PostgreSQL a row
lock held to the end of the transaction, on SQLite the database's write lock, taken before the
last entry is read. So API workers appending at once queue, and each entry chains to the one
before it; the position's primary key would refuse a fork in any case. A process holding the
head key signs, in the same transaction, the log's head after its entry
(`careledger.access.log_heads`), so that a cut tail shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from careledger.access import log_heads
from careledger.access.log_chain import LogVerdict, entry_digest, verify_log
from careledger.access.log_heads import LogHead
from careledger.access.store import AccessStore
from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity.chain import GENESIS
from careledger.ledger.integrity.head_log import HeadLog, head_log_at
from careledger.ledger.integrity.heads import KEY_SETTING, HeadSigner, signer_from

ALLOWED, REFUSED = "allowed", "refused"
PAGE = 5_000


class AccessLog:
    def __init__(
        self, store: AccessStore, head_key_file: str | None = None, head_log: str | None = None
    ) -> None:
        self.store = store
        self.head_key_file, self.head_log_file = head_key_file, head_log
        self._signer: HeadSigner | None = None
        self._head_log: HeadLog | None = None
        self._resolved = False

    def _signing(self) -> HeadSigner | None:
        """The head key (CARELEDGER_HEAD_KEY_FILE), read at the first append, and the copy
        outside the database (CARELEDGER_HEAD_LOG); without a key, appends are unsigned
        (`careledger.access.log_heads`)."""
        if not self._resolved:
            signer = signer_from(self.head_key_file)
            if signer is not None and not self.store.has_table("access_log_heads"):
                raise LedgerError(
                    f"{KEY_SETTING}: this ledger has no table for the access log's signed "
                    "heads; run 'careledger init' (safe to repeat) to add it; nothing read"
                )
            self._head_log = head_log_at(self.head_log_file) if signer is not None else None
            self._signer, self._resolved = signer, True
        return self._signer

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
        signer = self._signing()
        head: LogHead | None = None
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
            if signer is not None:
                head = log_heads.sign(signer, entry["position"], entry["digest"])
                cursor.execute(
                    "INSERT INTO {s}access_log_heads "
                    "(position, digest, signed_at, public_key, signature) VALUES (?,?,?,?,?)",
                    head.row(),
                )
        if head is not None and self._head_log is not None:
            self._head_log.append_fields(
                log_heads.fields(head), f"the access log's entries up to {head.position}"
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

    def verify(self, trusted: Iterable[bytes] = (), outside: LogHead | None = None) -> LogVerdict:
        """The chain recomputed, then the signed heads against it (`log_heads.check_heads`);
        a ledger made before the heads' table has none to check, and says so."""
        verdict = verify_log(self._all())
        if not verdict.intact:
            return verdict
        if not self.store.has_table("access_log_heads"):
            return replace(verdict, heads_table=False)
        check = log_heads.check_heads(
            self._heads(),
            self._end(),
            trusted,
            None if outside is None else (outside, self._digest_at(outside.position)),
        )
        problem = check.problems[0] if check.problems else None
        return replace(verdict, problem=problem, signatures=check.signatures, signed_to=check.last)

    def _end(self) -> int:
        row = self.store.fetch("SELECT max(position) AS position FROM {s}access_log")
        return int(row[0]["position"] or 0)

    def _digest_at(self, position: int) -> str | None:
        rows = self.store.fetch("SELECT digest FROM {s}access_log WHERE position = ?", [position])
        return str(rows[0]["digest"]) if rows else None

    def _heads(self) -> Iterator[tuple[LogHead, str | None]]:
        """Every signed head in order, with the log's digest at its position, a page at a
        time."""
        after = 0
        while True:
            page = self.store.fetch(
                "SELECT h.position, h.digest, h.signed_at, h.public_key, h.signature, "
                "l.digest AS logged FROM {s}access_log_heads h LEFT JOIN {s}access_log l "
                f"ON l.position = h.position WHERE h.position > ? ORDER BY h.position "
                f"LIMIT {PAGE}",
                [after],
            )
            for row in page:
                yield log_heads.head_of(row), row["logged"]
            if len(page) < PAGE:
                return
            after = page[-1]["position"]

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
