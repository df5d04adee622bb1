"""`careledger verify`: recompute the integrity chain from the raw stored rows.

Two streaming passes, so memory stays flat however large the ledger grows:

1. case by case, in sequence order: every event must have its chain row (and every chain row
   its event), sequence numbers run 1, 2, 3... without a gap, and each event's hash, recomputed
   from the row as stored now and the previous event's recomputed hash, must equal the hash
   recorded when it was stored;
2. the log in notification order: the running digest, recomputed over the event hashes that
   pass 1 proved, must equal each recorded digest; a seal's digest must be met after as
   many events as it sealed.

The break reported is the earliest in the log's order among those found, with what was
recorded and what was found. Nothing is trusted from a stored summary: a hand-edited row is
found by recomputing its hash.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from careledger.ledger.errors import ChainBroken
from careledger.ledger.integrity.chain import (
    GENESIS,
    ChainRow,
    RawChain,
    RawLink,
    StoredRow,
    event_hash,
    hash_event,
    next_digest,
)


class ChainSource(Protocol):
    def iter_case_rows(self, case: UUID | None = None) -> Iterator[RawLink]: ...

    def iter_orphans(self, case: UUID | None = None) -> Iterator[RawChain]: ...

    def iter_chain(self) -> Iterator[tuple[int, bytes, bytes]]: ...

    def chain_row_at(self, position: int) -> RawChain: ...


@dataclass(frozen=True)
class Break:
    """The first broken link: where, what is wrong, what the chain recorded (`expected`)
    and what recomputing from the stored rows gives (`found`)."""

    position: int  # notification id (log position) of the event concerned
    case: UUID
    seq: int
    problem: str
    expected: str | None = None
    found: str | None = None


@dataclass(frozen=True)
class SealPoint:
    """What a seal says: after `events` events of the log, the digest was `digest`."""

    events: int
    digest: bytes


@dataclass
class Verdict:
    events: int = 0
    cases: int = 0
    head: bytes = GENESIS  # the log's running digest after its last event
    case_head: bytes | None = None  # with --child: that case's last event hash, if intact
    case_events: int = 0  # with --child: that case's events
    first_break: Break | None = None
    seal_problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_break is None and self.seal_problem is None


def verify(source: ChainSource, case: UUID | None = None, seal: SealPoint | None = None) -> Verdict:
    """With `case`, that case's chain; the log's digest always. A seal speaks for the whole
    ledger, so with one every case is recomputed, whatever `case` says."""
    verdict = Verdict()
    breaks = [_orphan(row) for row in itertools.islice(source.iter_orphans(case), 1)]
    found = _check_cases(source.iter_case_rows(case), verdict, case)
    breaks += [found] if found else []
    if seal is not None and case is not None:
        everything = Verdict()
        breaks += [_orphan(row) for row in itertools.islice(source.iter_orphans(), 1)]
        found = _check_cases(source.iter_case_rows(), everything, None)
        breaks += [found] if found else []
    log_break = _check_log(source, verdict, seal)
    breaks += [log_break] if log_break else []
    verdict.first_break = min(breaks, key=lambda b: (b.position, b.seq), default=None)
    return verdict


def _orphan(row: RawChain) -> Break:
    return Break(
        row[0],
        UUID(bytes=row[1]),
        row[2],
        "the event is missing: its chain row remains but the events table has no such row",
    )


def _check_cases(
    rows: Iterable[RawLink],
    verdict: Verdict,
    only: UUID | None,
    hashes: dict[int, bytes] | None = None,
) -> Break | None:
    """Pass 1. Returns the break earliest in the log among those found (one per case at
    most: after a break, a case's later links cannot be judged). The loop stays on plain
    tuples; a Break is built only where a link fails."""
    first: Break | None = None
    current = b""
    previous, expected, broken = GENESIS, 1, False
    for row in rows:
        case, seq, nid, topic, state, link_nid, recorded, link_previous = row
        if case != current:
            current, previous, expected, broken = case, GENESIS, 1, False
            verdict.cases += 1
        if only is not None:
            verdict.case_events += 1
        if broken:
            continue
        if (
            link_nid is None
            or seq != expected
            or nid != link_nid
            or link_previous != previous
            or (recomputed := hash_event(case, seq, topic or "", state or b"", previous))
            != recorded
        ):
            found = _check_link(*_typed(row), previous, expected)
            assert isinstance(found, Break)
            broken = True
            verdict.case_head = None
            if first is None or (found.position, found.seq) < (first.position, first.seq):
                first = found
            continue
        previous, expected = recomputed, expected + 1
        if only is not None and first is None:
            verdict.case_head = recomputed
        if hashes is not None:
            hashes[seq] = recomputed
    return first


def _typed(row: RawLink) -> tuple[StoredRow, ChainRow | None]:
    """A failing link, as rows that `_check_link` can explain."""
    case, seq, nid, topic, state, link_nid, recorded, link_previous = row
    key = UUID(bytes=case)
    assert nid is not None and topic is not None and state is not None
    stored = StoredRow(nid, key, seq, topic, state)
    if link_nid is None:
        return stored, None
    assert recorded is not None and link_previous is not None
    return stored, ChainRow(link_nid, key, seq, recorded, link_previous, b"")


def _check_link(
    stored: StoredRow | None, link: ChainRow | None, previous: bytes, expected_seq: int
) -> Break | bytes:
    """The event's recomputed hash, or what is wrong with it."""
    if stored is None:
        assert link is not None
        return Break(
            link.notification_id,
            link.case,
            link.seq,
            "the event is missing: its chain row remains but the events table has no such row",
        )
    if link is None:
        return Break(
            stored.notification_id,
            stored.case,
            stored.seq,
            "the event has no chain row: it was not recorded through the ledger",
        )
    if stored.seq != expected_seq:
        return Break(
            stored.notification_id,
            stored.case,
            stored.seq,
            _missing(expected_seq, stored.seq - 1),
        )
    if stored.notification_id != link.notification_id:
        return Break(
            stored.notification_id,
            stored.case,
            stored.seq,
            "the event is not at the log position recorded for it",
            str(link.notification_id),
            str(stored.notification_id),
        )
    if link.previous != previous:
        return Break(
            stored.notification_id,
            stored.case,
            stored.seq,
            "the link to the case's previous event differs",
            link.previous.hex(),
            previous.hex(),
        )
    recomputed = event_hash(stored.case, stored.seq, stored.topic, stored.state, previous)
    if recomputed != link.event_hash:
        return Break(
            stored.notification_id,
            stored.case,
            stored.seq,
            "the stored event differs from what was recorded",
            link.event_hash.hex(),
            recomputed.hex(),
        )
    return recomputed


def _missing(first: int, last: int) -> str:
    if first == last:
        return f"event {first} of the case is missing"
    return f"events {first} to {last} of the case are missing"


def _gap(before: int, position: int) -> str:
    """Log positions missing just before a broken digest: what a deleted event (a case's last,
    which no later event of its case names) leaves. A position can also be missing because a
    save failed, but then the digest after it holds."""
    if position <= before + 1:
        return ""
    missing = f"{before + 1}" if position == before + 2 else f"{before + 1} to {position - 1}"
    return f": log position(s) {missing} missing just before it (deleted?)"


def _check_log(source: ChainSource, verdict: Verdict, seal: SealPoint | None) -> Break | None:
    """Pass 2: the running digest in the log's order, and the seal."""
    digest = GENESIS
    events, sealed, before = 0, seal.events if seal is not None else -1, 0
    for nid, hash_, recorded in source.iter_chain():
        digest = next_digest(digest, hash_)
        events += 1
        if digest != recorded:
            verdict.events, verdict.head = events, digest
            _, case, seq, _, _ = source.chain_row_at(nid)
            return Break(
                nid,
                UUID(bytes=case),
                seq,
                "the log's running digest differs from the one recorded here" + _gap(before, nid),
                bytes(recorded).hex(),
                digest.hex(),
            )
        before = nid
        if events == sealed and seal is not None and digest != seal.digest:
            verdict.seal_problem = (
                f"after the {seal.events} sealed events the log's digest is {digest.hex()}, "
                f"the seal says {seal.digest.hex()}: the history before the seal was rewritten"
            )
    verdict.events, verdict.head = events, digest
    if seal is not None and events < seal.events:
        verdict.seal_problem = (
            f"the seal covers {seal.events} events; the ledger now holds {events}: "
            "events were removed"
        )
    return None


def case_hashes(source: ChainSource, case: UUID) -> dict[int, bytes]:
    """Each event's hash in one case's chain, recomputed from the stored rows; refuses when
    the case's chain is broken (a court document is never produced from a broken chain)."""
    return case_events(source, case)[0]


def case_events(source: ChainSource, case: UUID) -> tuple[dict[int, bytes], list[StoredRow]]:
    """One case's verified chain: each event's recomputed hash, and the very stored rows that
    were hashed, for a court document to be read from (never from a projection)."""
    rows = list(source.iter_case_rows(case))
    hashes: dict[int, bytes] = {}
    found = _check_cases(rows, Verdict(), case, hashes)
    orphan = next(iter(source.iter_orphans(case)), None)
    if orphan is not None:
        found = _orphan(orphan)
    if found is not None:
        raise ChainBroken(
            f"the chain of this case is broken at event {found.seq}: {found.problem}; "
            "run 'careledger verify'"
        )
    stored = [StoredRow(r[2] or 0, case, r[1], r[3] or "", r[4] or b"") for r in rows]
    return hashes, stored
