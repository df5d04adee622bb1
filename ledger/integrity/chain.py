"""The ledger's integrity chain: what is hashed, and how.

Each stored event gets `event_hash = SHA-256(tag, case, sequence, topic, stored state, the
case's previous event_hash)`, so each case is a hash chain; and the ledger keeps a running
digest over every event in its global order (the notification log), `digest = SHA-256(tag,
previous digest, event_hash)`. The stored state is hashed as stored (encrypted, when
encryption at rest is on), so the chain verifies without the key and any change to a stored
row, a byte of its state included, breaks it. The ledger computes both when it records; no
caller supplies them.
"""

from __future__ import annotations

import hashlib
from operator import itemgetter
from typing import NamedTuple
from uuid import UUID

GENESIS = bytes(32)  # the "previous" hash of a case's first event and of the first digest
_EVENT_TAG = b"careledger/event/v1\x00"
_DIGEST_TAG = b"careledger/log/v1\x00"


def event_hash(case: UUID, seq: int, topic: str, state: bytes, previous: bytes) -> bytes:
    """The hash of one stored event, chained to the case's previous event's hash."""
    return hash_event(case.bytes, seq, topic, state, previous)


def hash_event(case: bytes, seq: int, topic: str, state: bytes, previous: bytes) -> bytes:
    """`event_hash` with the case as its 16 bytes (verify's inner loop calls this)."""
    topic_bytes = topic.encode()
    return hashlib.sha256(
        b"".join(
            (
                _EVENT_TAG,
                case,
                seq.to_bytes(8, "big"),
                len(topic_bytes).to_bytes(4, "big"),
                topic_bytes,
                len(state).to_bytes(8, "big"),
                state,
                previous,
            )
        )
    ).digest()


def next_digest(previous: bytes, hash_: bytes) -> bytes:
    """The running digest of the log after one more event."""
    return hashlib.sha256(_DIGEST_TAG + previous + hash_).digest()


# As the recorders stream them for verify: plain tuples, cheap in a loop over millions.
# (case bytes, seq, log position, topic, state, chain position, event hash, previous)
RawLink = tuple[
    bytes, int, int | None, str | None, bytes | None, int | None, bytes | None, bytes | None
]
# (log position, case bytes, seq, event hash, digest)
RawChain = tuple[int, bytes, int, bytes, bytes]


class ChainRow(NamedTuple):
    """What the ledger stores beside each event, in the same transaction. (Named tuples: a
    bulk record makes two of these per event.)"""

    notification_id: int
    case: UUID
    seq: int
    event_hash: bytes
    previous: bytes  # the case's previous event_hash (GENESIS for its first event)
    digest: bytes  # the log's running digest up to and including this event


class StoredRow(NamedTuple):
    """An event as stored, for hashing."""

    notification_id: int
    case: UUID
    seq: int
    topic: str
    state: bytes


def chain(rows: list[StoredRow], case_heads: dict[UUID, bytes], digest: bytes) -> list[ChainRow]:
    """Chain rows for newly stored events, in notification order, from each case's previous
    head and the log's previous digest.

    A bulk record chains thousands of events at once, most of them in runs of one case: the
    loop keys its heads by the case's 16 bytes (a UUID's hash is computed in Python, every
    time) and reuses the bytes of the case just seen."""
    heads = {case.bytes: head for case, head in case_heads.items()}
    result = []
    case: UUID | None = None
    case_bytes = prefix = b""
    topics: dict[str, bytes] = {}  # each topic as hashed: its length, then its bytes
    sha256, digest_tag = hashlib.sha256, _DIGEST_TAG
    for row in sorted(rows, key=itemgetter(0)):
        if row.case is not case:
            case, case_bytes = row.case, row.case.bytes
            prefix = _EVENT_TAG + case_bytes
        previous = heads.get(case_bytes, GENESIS)
        topic = topics.get(row.topic)
        if topic is None:
            encoded = row.topic.encode()
            topic = topics[row.topic] = len(encoded).to_bytes(4, "big") + encoded
        state = row.state
        hash_ = sha256(
            b"".join(
                (
                    prefix,
                    row.seq.to_bytes(8, "big"),
                    topic,
                    len(state).to_bytes(8, "big"),
                    state,
                    previous,
                )
            )
        ).digest()
        digest = sha256(digest_tag + digest + hash_).digest()
        heads[case_bytes] = hash_
        result.append(ChainRow(row.notification_id, case, row.seq, hash_, previous, digest))
    return result
