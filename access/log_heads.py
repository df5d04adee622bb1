"""Signed heads of the access log: what makes its cut tail detectable.

The access log's chain (`careledger.access.log_chain`) is public arithmetic, as the ledger's
is: whoever can write to the database can delete the log's last entries, and what remains
still verifies. So, as the ledger signs its head at each commit (`ledger.integrity.heads`), a
process that holds the ledger's head key (CARELEDGER_HEAD_KEY_FILE: the recording service)
signs, in the transaction that appends an entry, the log's head after it: the entry's
position, its digest and the time. The signature and its public key go into
`access_log_heads`, append-only like the log. With CARELEDGER_HEAD_LOG the head is also
appended, after the commit, to the copy kept outside the database (`ledger.integrity.head_log`).

`check_heads` then proves, against the log as stored: every signature verifies (by a key the
verifier trusts, where it gave any); each signed digest is the log's digest at the signed
position; every signed position is still in the log (a signed head beyond the log's end shows
a cut tail); and the latest head kept outside the database is still reached.

A process without the key (a read command run by a council's administrator, whose machine
the key is kept from) still logs its reads, unsigned: a read is never served unlogged, and
the key never leaves the recording service. Such entries are protected by the chain and by
the next signed head after them, not by a signature of their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from careledger.ledger.integrity.heads import HeadSigner, signature_problem
from careledger.ledger.integrity.seal import fingerprint

_TAG = b"careledger/access-log-head/v1\x00"
KIND = "access-log"  # how the head log outside the database marks the access log's heads


class LogHead(NamedTuple):
    """One append's signature over the access log's head after it."""

    position: int  # the entry's position in the access log
    digest: str  # the log's digest after the entry (hex, as the log keeps it)
    signed_at: str  # ISO 8601, UTC
    public_key: bytes  # raw Ed25519 public key
    signature: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def row(self) -> tuple[int, str, str, str, str]:
        """As `access_log_heads` keeps it (text both stores take alike)."""
        return (
            self.position, self.digest, self.signed_at, self.public_key.hex(),
            self.signature.hex(),
        )  # fmt: skip


def statement(position: int, digest: str, signed_at: str) -> bytes:
    """What is signed: the fields, in a fixed binary form, under a tag of its own (a signed
    head of the ledger is never one of the access log's)."""
    return b"".join((_TAG, position.to_bytes(8, "big"), bytes.fromhex(digest), signed_at.encode()))


def sign(signer: HeadSigner, position: int, digest: str) -> LogHead:
    signed_at = datetime.now(UTC).isoformat()
    signature = signer.key.sign(statement(position, digest, signed_at))
    return LogHead(position, digest, signed_at, signer.public_key, signature)


def head_of(row: dict[str, Any]) -> LogHead:
    """A head from its stored row (`access_log_heads`) or its line in the head log."""
    return LogHead(
        int(row["position"]),
        str(row["digest"]),
        str(row["signed_at"]),
        bytes.fromhex(str(row["public_key"])),
        bytes.fromhex(str(row["signature"])),
    )


def fields(head: LogHead) -> dict[str, Any]:
    """Its line in the head log outside the database."""
    position, digest, signed_at, public_key, signature = head.row()
    return {
        "log": KIND, "position": position, "digest": digest, "signed_at": signed_at,
        "public_key": public_key, "signature": signature,
    }  # fmt: skip


@dataclass
class HeadCheck:
    """What the signed heads say of the access log."""

    signatures: int = 0
    last: int | None = None  # the last signed position still in the log
    problems: list[str] = field(default_factory=list)


def check_heads(
    heads: Iterable[tuple[LogHead, str | None]],
    end: int,
    trusted: Iterable[bytes] = (),
    outside: tuple[LogHead, str | None] | None = None,
) -> HeadCheck:
    """Each signed head in position order, with the digest the log holds at its position
    (None where the log has no such entry); `end` is the log's last position; `outside`, the
    latest head of the copy outside the database, with the log's digest there."""
    keys, check = set(trusted), HeadCheck()
    beyond: list[LogHead] = []
    for head, digest in heads:
        check.signatures += 1
        problem = _signature_problem(head, keys)
        if problem:
            check.problems.append(problem)
        elif digest is None and head.position > end:
            beyond.append(head)
        elif digest is None:
            check.problems.append(
                f"the access log's head signed at entry {head.position} names no entry in the "
                "log: entries were removed"
            )
        elif digest != head.digest:
            check.problems.append(
                f"the access log's head signed at entry {head.position} has digest "
                f"{head.digest}; the log's there is {digest}"
            )
        else:
            check.last = head.position
    if beyond:
        check.problems.append(
            f"the access log's heads are signed up to entry {beyond[-1].position}; the log ends "
            f"at entry {end}: entries were removed from its tail"
        )
    if outside is not None:
        check.problems += _outside_problems(*outside, end, keys)
    return check


def _outside_problems(head: LogHead, digest: str | None, end: int, keys: set[bytes]) -> list[str]:
    where = f"the head log outside the database names access log entry {head.position}"
    problem = _signature_problem(head, keys)
    if problem:
        return [f"in the head log outside the database, {problem}"]
    if head.position > end:
        return [
            f"{where} (signed {head.signed_at}); the log ends at entry {end}: entries were "
            "removed from its tail"
        ]
    if digest is None:
        return [f"{where}, which the log does not hold: entries were removed"]
    if digest != head.digest:
        return [f"{where} with digest {head.digest}; the log's there is {digest}"]
    return []


def _signature_problem(head: LogHead, keys: set[bytes]) -> str | None:
    where = f"the access log's head signed at entry {head.position} ({head.signed_at})"
    try:
        message = statement(head.position, head.digest, head.signed_at)
    except ValueError:  # a digest that is not hex: not what careledger signed
        return f"{where}: the signature does not verify"
    return signature_problem(where, head.public_key, head.signature, message, keys)
