"""`chain`, which the recorders call for every batch, must give exactly what the chain's
definitions give (`event_hash`, `next_digest`), one event at a time: `verify` recomputes
from the definitions, so any difference would read as a broken ledger."""

from __future__ import annotations

from careledger.ledger.domain.identity import case_id
from careledger.ledger.integrity.chain import (
    GENESIS,
    ChainRow,
    StoredRow,
    chain,
    event_hash,
    next_digest,
)

TOPIC = "careledger.ledger.domain.events:{}"


def _row(position: int, child: str, seq: int, kind: str, state: str) -> StoredRow:
    return StoredRow(position, case_id("E10000099", child), seq, TOPIC.format(kind), state.encode())


def _by_definition(
    rows: list[StoredRow], heads: dict[object, bytes], digest: bytes
) -> list[ChainRow]:
    heads = dict(heads)
    links = []
    for row in sorted(rows, key=lambda r: r.notification_id):
        previous = heads.get(row.case, GENESIS)
        hash_ = event_hash(row.case, row.seq, row.topic, row.state, previous)
        digest = next_digest(digest, hash_)
        heads[row.case] = hash_
        links.append(ChainRow(row.notification_id, row.case, row.seq, hash_, previous, digest))
    return links


def test_a_batch_of_interleaved_cases_continuing_earlier_ones_chains_as_defined() -> None:
    """Two children already in the ledger (their heads and the log's digest given) and a
    new one, their events interleaved as a feed delivers them, and handed over out of
    order."""
    earlier = {
        case_id("E10000099", "C0417"): bytes(range(32)),
        case_id("E10000099", "C0562"): bytes(range(32, 64)),
    }
    digest = bytes(range(64, 96))
    rows = [
        _row(41, "C0417", 7, "ReviewHeld", '{"review_id":"R3"}'),
        _row(42, "C0731", 1, "CaseOpened", '{"council":"E10000099"}'),
        _row(43, "C0562", 4, "IROAllocated", '{"iro_id":"IRO-7"}'),
        _row(44, "C0731", 2, "ChildBecameLookedAfter", '{"legal_status":"C2"}'),
        _row(45, "C0417", 8, "CarePlanSectionChanged", '{"change_id":"C9"}'),
        _row(46, "C0731", 3, "IROAllocated", '{"iro_id":"IRO-7"}'),
    ]
    shuffled = [rows[i] for i in (3, 0, 5, 1, 4, 2)]

    assert chain(shuffled, earlier, digest) == _by_definition(rows, earlier, digest)


def test_the_first_events_of_a_ledger_start_from_genesis() -> None:
    rows = [_row(1, "C0417", 1, "CaseOpened", "{}"), _row(2, "C0417", 2, "IROAllocated", "{}")]

    links = chain(rows, {}, GENESIS)

    assert links == _by_definition(rows, {}, GENESIS)
    assert links[0].previous == GENESIS
    assert links[1].previous == links[0].event_hash
