"""Signed heads of the log: what makes a forged append or a cut tail detectable.

The chain (`ledger.integrity.chain`) is public arithmetic: whoever can write to the database can
append an event with correct hashes, or delete the log's last events, and the chain still
verifies. So, in the transaction that stores a commit's events, the ledger signs the log's
head after them (`SignedHead`: the log positions of the commit's first and last events, how
many events it stored, the running digest after its last event, and the time) with an Ed25519
key the database does not hold (CARELEDGER_HEAD_KEY_FILE), and keeps the signature in an
append-only table beside the chain. Every event is covered by a signature the moment it exists.

`verify_heads` then proves, against the chain as stored:

- every signature verifies, by a key the verifier trusts (`trusted`);
- each signed digest is the log's running digest at the signed position;
- every event after the first signature lies in a signed commit: an event between two signed
  commits, or after the last, was written past the ledger (a forged append);
- every signed position is still in the log: a signed head beyond the log's end shows a cut
  tail.

Who holds the key and write access to the database can still rewrite everything consistently;
only a seal handed outside (`ledger.integrity.seal`), or the copy of the heads kept outside the
database (`ledger.integrity.head_log`), shows that.
"""

from __future__ import annotations

import functools
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity.chain import ChainRow
from careledger.ledger.integrity.seal import fingerprint, load_private_key, raw_public_key

KEY_SETTING = "CARELEDGER_HEAD_KEY_FILE"
_TAG = b"careledger/head/v1\x00"
_SHOWN = 5  # problems printed at most
_KEPT = 100  # problems kept at most


class SignedHead(NamedTuple):
    """One commit's signature over the log's head after it."""

    position: int  # log position of the commit's last event
    first: int  # log position of the commit's first event
    events: int  # events the commit stored
    digest: bytes  # the log's running digest after the commit's last event
    signed_at: str  # ISO 8601, UTC
    public_key: bytes  # raw Ed25519 public key (its fingerprint names it)
    signature: bytes

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


def statement(first: int, position: int, events: int, digest: bytes, signed_at: str) -> bytes:
    """What is signed: the fields, in a fixed binary form."""
    return b"".join(
        (
            _TAG,
            first.to_bytes(8, "big"),
            position.to_bytes(8, "big"),
            events.to_bytes(8, "big"),
            digest,
            signed_at.encode(),
        )
    )


class HeadSigner:
    """The recording service's key, read once."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self.key = key
        self.public_key = raw_public_key(key.public_key())

    def sign(self, rows: list[ChainRow]) -> SignedHead:
        """The head after a commit's chain rows (in log order)."""
        first, last = rows[0].notification_id, rows[-1].notification_id
        signed_at = datetime.now(UTC).isoformat()
        message = statement(first, last, len(rows), rows[-1].digest, signed_at)
        return SignedHead(
            last, first, len(rows), rows[-1].digest, signed_at, self.public_key,
            self.key.sign(message),
        )  # fmt: skip


def signer_from(path: str | None) -> HeadSigner | None:
    """The signer of the key file the settings name (CARELEDGER_HEAD_KEY_FILE), or None when
    there is none. The file must be readable by its owner only: a key that the database's
    other users can read signs nothing they could not sign themselves."""
    if not path:
        return None
    try:
        mode = Path(path).stat().st_mode
    except OSError as error:
        raise LedgerError(f"{KEY_SETTING}: cannot read '{path}' ({error})") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerError(
            f"{KEY_SETTING}: '{path}' is readable by others (mode {stat.S_IMODE(mode):o}); "
            "make it owner-only (chmod 600)"
        )
    return HeadSigner(load_private_key(Path(path), KEY_SETTING))


# --- verification ------------------------------------------------------------------------


class HeadSource(Protocol):
    def has_heads_table(self) -> bool: ...

    def iter_orphan_heads(self) -> Iterator[SignedHead]: ...

    def iter_chain_heads(self) -> Iterator[tuple[int, bytes, SignedHead | None]]: ...


@dataclass
class HeadVerdict:
    signatures: int = 0  # signed heads found
    keys: list[str] = field(default_factory=list)  # fingerprints, in order of first use
    key_bytes: list[bytes] = field(default_factory=list)  # the same keys, raw
    last: SignedHead | None = None  # the last signed head still in the log
    last_events: int = 0  # events in the log up to and including the last signed head
    before_signing: int = 0  # events recorded before the first signature (it vouches for them)
    problems: list[str] = field(default_factory=list)  # the first `_KEPT`
    more_problems: int = 0  # and how many more: memory stays flat however many there are
    trusted: bool = False  # were signatures checked against keys the verifier gave?

    def add(self, problem: str) -> None:
        if len(self.problems) < _KEPT:
            self.problems.append(problem)
        else:
            self.more_problems += 1

    @property
    def signed(self) -> bool:
        return self.signatures > 0

    @property
    def holds(self) -> bool:
        return not self.problems


@dataclass
class _Walk:
    """Where the walk along the log is: events seen, and the run since the last head."""

    events: int = 0
    run: int = 0
    run_start: int | None = None
    run_end: int | None = None
    outside_digest: bytes | None = None  # the log's digest at the head kept outside


def verify_heads(
    source: HeadSource, trusted: Iterable[bytes] = (), outside: SignedHead | None = None
) -> HeadVerdict:
    """Every signed head against the chain as stored (whose digests `ledger.integrity.verify`
    proves).
    With `trusted` keys, a head signed by any other key is refused, and a log with no signed
    head at all is a problem: the verifier expected signatures. `outside` is the latest head
    from a copy kept outside the database (`ledger.integrity.head_log`): the log must still reach
    it."""
    keys = set(trusted)
    verdict = HeadVerdict(trusted=bool(keys))
    expected = bool(keys) or outside is not None
    if not source.has_heads_table():
        _no_heads(verdict, expected, "the ledger has no table of signed heads")
        return verdict
    orphans = list(source.iter_orphan_heads())  # read first: a commit after it is in both
    bad = [problem for head in orphans if (problem := _check_signature(head, keys, verdict))]
    walk = _Walk()
    for position, digest, head in source.iter_chain_heads():
        _step(walk, position)
        if head is not None:
            _check_head(head, digest, keys, walk, verdict)
        if outside is not None and position == outside.position:
            walk.outside_digest = digest
    _check_end(walk, orphans, verdict, bad)
    if outside is not None:
        _check_outside(outside, walk, keys, verdict)
    if not verdict.signed:
        _no_heads(verdict, expected, "no signed head")
    return verdict


def _step(walk: _Walk, position: int) -> None:
    walk.events += 1
    walk.run += 1
    walk.run_start = position if walk.run_start is None else walk.run_start
    walk.run_end = position


def _check_head(
    head: SignedHead, digest: bytes, keys: set[bytes], walk: _Walk, verdict: HeadVerdict
) -> None:
    """One signed head met at its position in the log: its signature, its digest, and the
    run of events since the previous head, which its commit must account for."""
    problem = _check_signature(head, keys, verdict)
    if problem:
        verdict.add(problem)
    elif head.digest != digest:
        verdict.add(
            f"the head signed at log position {head.position} has digest {head.digest.hex()}; "
            f"the log's there is {digest.hex()}"
        )
    unsigned = walk.run - head.events
    if unsigned < 0:
        verdict.add(
            f"the head signed at log position {head.position} covers {head.events} events; "
            f"the log holds {walk.run} there: events were removed"
        )
    elif unsigned and verdict.last is None:
        verdict.before_signing = unsigned
    elif unsigned:
        verdict.add(_slipped(unsigned, walk.run_start, head.first - 1))
    verdict.last, verdict.last_events = head, walk.events
    walk.run, walk.run_start = 0, None


def _check_signature(head: SignedHead, keys: set[bytes], verdict: HeadVerdict) -> str | None:
    verdict.signatures += 1
    if head.public_key not in verdict.key_bytes:
        verdict.key_bytes.append(head.public_key)
        verdict.keys.append(head.fingerprint)
    return _signature_problem(head, keys)


def _signature_problem(head: SignedHead, keys: set[bytes]) -> str | None:
    where = f"the head signed at log position {head.position} ({head.signed_at})"
    message = statement(head.first, head.position, head.events, head.digest, head.signed_at)
    return signature_problem(where, head.public_key, head.signature, message, keys)


def signature_problem(
    where: str, public_key: bytes, signature: bytes, message: bytes, keys: set[bytes]
) -> str | None:
    """What is wrong with a signature (`where` names what it signs): a key not among `keys`
    (where any are given), or a signature that does not verify; None when it holds."""
    if keys and public_key not in keys:
        given = ", ".join(sorted(fingerprint(key) for key in keys))
        return f"{where} is signed by key {fingerprint(public_key)}, not by a key given ({given})"
    try:
        _public_key(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return f"{where}: the signature does not verify"
    return None


@functools.lru_cache(maxsize=16)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    """Loaded once per key: a ledger has few keys and, recorded one event at a time, as many
    signatures as events."""
    return Ed25519PublicKey.from_public_bytes(raw)


def _check_end(
    walk: _Walk, orphans: list[SignedHead], verdict: HeadVerdict, bad: list[str]
) -> None:
    """After the log's last event: signed heads that name no event in the log (a cut tail,
    when they lie beyond its end), and events after the last signed head."""
    end = walk.run_end if walk.run_end is not None else 0
    past_end = [head for head in orphans if head.position > end]
    inside = [head for head in orphans if head.position <= end]
    for problem in bad:
        verdict.add(problem)
    for head in inside:
        verdict.add(
            f"the head signed at log position {head.position} names no event in the log: "
            "events were removed"
        )
    if past_end:
        signed = verdict.last_events + sum(head.events for head in past_end)
        verdict.add(
            f"signed heads cover {signed} events, up to log position {past_end[-1].position}; "
            f"the log holds {walk.events}, up to position {end}: events were removed from its "
            "tail"
        )
    elif walk.run and verdict.last is not None:
        verdict.add(_slipped(walk.run, walk.run_start, walk.run_end, after=True))


def _check_outside(
    outside: SignedHead, walk: _Walk, keys: set[bytes], verdict: HeadVerdict
) -> None:
    """The head kept outside the database: a cut tail shows even with its signatures gone."""
    end = walk.run_end if walk.run_end is not None else 0
    where = f"the head log outside the database names log position {outside.position}"
    problem = _signature_problem(outside, keys)
    if problem:
        verdict.add(f"in the head log outside the database, {problem}")
    elif outside.position > end:
        verdict.add(
            f"{where} (signed {outside.signed_at}); the log ends at position {end}: events "
            "were removed from its tail"
        )
    elif walk.outside_digest is None:
        verdict.add(f"{where}, which holds no event: events were removed")
    elif walk.outside_digest != outside.digest:
        verdict.add(
            f"{where} with digest {outside.digest.hex()}; the log's there is "
            f"{walk.outside_digest.hex()}"
        )


def _slipped(count: int, first: int | None, last: int | None, after: bool = False) -> str:
    where = "after the last signed head" if after else "between two signed commits"
    return (
        f"{count} event(s) {where} (log positions {first} to {last}) carry no signature: "
        "they were written past the ledger, which signs every commit once its head is signed "
        "(a forged append)"
    )


def _no_heads(verdict: HeadVerdict, expected: bool, what: str) -> None:
    """A log without a signed head: a problem when the verifier gave a key or a head log (it
    expected signatures: they may have been deleted with the tail), otherwise a warning."""
    if expected:
        verdict.add(
            f"{what}, though a head public key or head log was given: the signatures were "
            "removed, or the ledger never signed its head"
        )


def shown(problems: list[str], more: int = 0) -> list[str]:
    """The first problems, and how many more there are."""
    if len(problems) <= _SHOWN and not more:
        return problems
    return [*problems[:_SHOWN], f"and {len(problems) + more - _SHOWN} more"]
