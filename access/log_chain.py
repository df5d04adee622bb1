"""The access log's hash chain, as the ledger's log (`careledger.ledger.integrity.chain`):
each entry's digest is SHA-256 over the previous entry's digest and the entry's fields, so
changing, removing or inserting an entry breaks every digest after it. The fields are hashed
in a fixed order, each with its length, so no two entries hash the same bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from careledger.ledger.integrity.chain import GENESIS

_TAG = b"careledger/access-log/v1\x00"
FIELDS = ("position", "at", "actor", "role", "council", "child", "view", "reason", "outcome")


def entry_digest(previous: bytes, entry: Mapping[str, Any]) -> bytes:
    """The running digest after `entry`, chained to the previous entry's."""
    parts = [_TAG, previous]
    for name in FIELDS:
        value = entry[name]
        data = b"\x00" if value is None else b"\x01" + str(value).encode()
        parts += [len(data).to_bytes(8, "big"), data]
    return hashlib.sha256(b"".join(parts)).digest()


@dataclass(frozen=True)
class LogVerdict:
    entries: int
    head: bytes
    problem: str | None = None  # the first break, with its position
    signatures: int = 0  # signed heads (`careledger.access.log_heads`), where the chain holds
    signed_to: int | None = None  # the last signed position still in the log
    heads_table: bool = True  # False: a ledger made before the table of signed heads

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_log(entries: Iterable[Mapping[str, Any]]) -> LogVerdict:
    """Recompute every digest from the stored entries, in order; positions run 1, 2, 3...
    (a gap is an entry removed)."""
    digest, count = GENESIS, 0
    for entry in entries:
        count += 1
        if entry["position"] != count:
            return LogVerdict(
                count - 1,
                digest,
                f"access log entry {count} is missing (next is {entry['position']})",
            )
        digest = entry_digest(digest, entry)
        if digest.hex() != entry["digest"]:
            return LogVerdict(
                count - 1,
                digest,
                f"access log entry {count} differs from what was recorded (its digest was "
                f"{entry['digest']}, recomputed {digest.hex()})",
            )
    return LogVerdict(count, digest)
