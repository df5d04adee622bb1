"""The integrity chain, proved on a real SQLite file and a real PostgreSQL schema.

Two children's histories from the demo file are recorded with `careledger record --file`, in
three batches so that the two cases interleave in the log (NR-0202's first events, all of
NR-0205, then the rest of NR-0202). Then:

- `careledger verify` reports "intact" with the event count and the global head digest, which
  is exactly what an independent recomputation of the documented arithmetic
  (`ledger.integrity.chain`) over the raw stored rows gives; `--child` adds that case's head; the
  JSON form carries the same facts; recording more moves the head and leaves every earlier chain row
  as it was (the chain only grows).
- The database itself refuses UPDATE and DELETE on the events table and on the chain table
  (and TRUNCATE of both, on PostgreSQL), through a direct connection with the database's own
  driver (`sqlite3`, `psycopg`), not through the ledger; the rows are unchanged afterwards.
- A database administrator who first disables those triggers and then tampers with the rows
  (`tests/tamper.py`) is caught by `verify`, which names the first broken link: one changed
  byte of a stored event, a deleted event, a deleted event with its chain row, two swapped
  events, a forged event inserted with a correct hash of its own. A whole case rewritten
  consistently, with every chain row and running digest recomputed, verifies as intact, since
  the chain is public arithmetic with no secret in it; only a seal made before the rewrite,
  held outside the ledger, shows it. So does a seal when the tail of the log is removed.
- A seal still holds after later genuine records; a seal with a flipped byte, or checked
  against another council's public key, is refused.

Every check asserts what `verify` prints (the lines, the case, the event number, the log
position, the recorded and the recomputed hashes), not only its exit status.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from click.testing import CliRunner, Result

from careledger.cli.main import cli
from careledger.ledger.domain.identity import case_id
from careledger.ledger.integrity.chain import (
    GENESIS,
    ChainRow,
    StoredRow,
    chain,
    event_hash,
    next_digest,
)
from tests.envelope import data_of
from tests.tamper import Direct, direct

DEMO = Path(__file__).resolve().parents[1] / "cli" / "demo" / "demo.jsonl"
COUNCIL = "E09000099"
FIRST, SECOND, LATER = "NR-0202", "NR-0205", "NR-0204"  # 17, 12 and 18 demo lines
A, B = case_id(COUNCIL, FIRST), case_id(COUNCIL, SECOND)
SPLIT = 8  # NR-0202's first 8 lines, then all of NR-0205, then the rest of NR-0202
EVENTS = 31  # 29 lines, and each case's CaseOpened
ENV: dict[str, str | None] = {
    "CARELEDGER_ACTOR": "r.blackwood",
    "CARELEDGER_ROLE": "TM",
    "CARELEDGER_DB": None,
    "CARELEDGER_COUNCIL": None,
}
MISSING = "the event is missing: its chain row remains but the events table has no such row"
DIFFERS = "the stored event differs from what was recorded"
LINK = "the link to the case's previous event differs"

_files = itertools.count(1)


# --- helpers ------------------------------------------------------------------------------


def invoke(*args: Any) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], env=ENV)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


def demo_lines(child: str) -> list[str]:
    """The demo file's lines for one child, without the demo-only `recorded_on`."""
    lines = []
    for text in DEMO.read_text(encoding="utf-8").splitlines():
        if not text.strip():
            continue
        line = json.loads(text)
        if (line["council"], line["child"]) == (COUNCIL, child):
            line.pop("recorded_on", None)
            lines.append(json.dumps(line))
    return lines


def record(db: str, tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / f"events-{next(_files)}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = ok(invoke("record", "--db", db, "--file", path))
    assert result.stdout.strip() == f"recorded {len(lines)} event(s)"


def record_two_children(db: str, tmp_path: Path) -> None:
    ok(invoke("init", "--db", db))
    first = demo_lines(FIRST)
    record(db, tmp_path, first[:SPLIT])
    record(db, tmp_path, demo_lines(SECOND))
    record(db, tmp_path, first[SPLIT:])


def verify(db: str, *options: Any) -> Result:
    return invoke("verify", "--db", db, *options)


def lines_of(result: Result) -> list[str]:
    return result.stdout.splitlines()


def broken(result: Result) -> list[str]:
    assert result.exit_code == 3, f"exit {result.exit_code}: {result.output}"  # verification failed
    return lines_of(result)


def where(link: ChainRow | StoredRow, problem: str) -> str:
    """The line naming the first broken link: the child, as well as the case's id."""
    child = {A: FIRST, B: SECOND}[link.case]
    return (
        f"first broken link: child {COUNCIL}:{child}, case {link.case.hex}, event {link.seq} "
        f"(log position {link.notification_id}): {problem}"
    )


def hashes(expected: bytes, found: bytes) -> list[str]:
    return [f"  expected (recorded): {expected.hex()}", f"  found (recomputed):  {found.hex()}"]


def replay(events: list[StoredRow]) -> list[ChainRow]:
    """The chain rows the documented arithmetic gives for these rows, from nothing."""
    return chain(events, {}, GENESIS)


def seal(db: str, tmp_path: Path, name: str = "seal.json") -> Path:
    """A seal of the ledger as it is, by the council's key (`council.pem`), whose public key
    is shared as `council.pub`."""
    key = tmp_path / "council.pem"
    if not key.exists():
        made = ok(invoke("seal-key", key))
        (tmp_path / "council.pub").write_text(made.stdout, encoding="utf-8")
    out = tmp_path / name
    signed = ("--signed-by", "Family Court")
    result = ok(invoke("seal", "--db", db, "--key", key, *signed, "--out", out))
    assert result.stderr.splitlines()[0].startswith(f"sealed {EVENTS} events, digest ")
    return out


def sealed_at(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["sealed_at"])


def seal_fingerprint(path: Path) -> str:
    return str(json.loads(path.read_text(encoding="utf-8"))["key_fingerprint"])


@pytest.fixture
def ledger(db: str, tmp_path: Path) -> str:
    record_two_children(db, tmp_path)
    return db


@pytest.fixture
def tables(ledger: str) -> Iterator[Direct]:
    with direct(ledger) as store:
        yield store


# --- 1. the chain after recording ----------------------------------------------------------


def test_verify_says_intact_with_the_event_count_and_the_recomputed_global_head(
    ledger: str, tables: Direct
) -> None:
    events, links = tables.events(), tables.links()
    assert len(events) == len(links) == EVENTS
    # what the recorder stored is exactly the documented arithmetic over the raw rows
    assert links == replay(events)
    # and the two cases interleave in the log
    assert [e.case for e in events].count(A) == 18
    assert events[SPLIT + 1].case == B and events[-1].case == A
    result = ok(verify(ledger))
    assert lines_of(result) == [
        f"intact: {EVENTS} events in 2 case(s)",
        f"global head digest: {links[-1].digest.hex()}",
    ]


def test_verify_child_adds_that_case_head(ledger: str, tables: Direct) -> None:
    links = tables.links()
    head = [k for k in links if k.case == B][-1]
    assert head.seq == 13
    result = ok(verify(ledger, "--child", f"{COUNCIL}:{SECOND}"))
    # the case's own events, then the whole log's (the global head is over all of it)
    assert lines_of(result) == [
        f"intact: the case's 13 events; the log's {EVENTS}",
        f"global head digest: {links[-1].digest.hex()}",
        f"case {B.hex} head digest: {head.event_hash.hex()}",
    ]
    other = ok(verify(ledger, "--child", FIRST, "--council", COUNCIL))
    assert lines_of(other)[2] == f"case {A.hex} head digest: {links[-1].event_hash.hex()}"


def test_verify_child_of_a_child_without_a_case_is_not_intact(ledger: str) -> None:
    result = verify(ledger, "--child", f"{COUNCIL}:NR-9999")
    assert not result.stdout.startswith("intact")


UNSIGNED_HEAD = {
    "head_log_position": None,
    "signed": False,
    "holds": True,
    "signatures": 0,
    "keys": [],
    "checked_against_given_keys": False,
    "last_signed_position": None,
    "last_signed_at": None,
    "signed_events": 0,
    "events": EVENTS,
    "recorded_before_signing": 0,
    "problems": [],
    "more_problems": 0,
}


def test_verify_json_carries_the_same_facts(ledger: str, tables: Direct) -> None:
    links = tables.links()
    assert data_of(ok(verify(ledger, "--format", "json")).stdout) == {
        "intact": True,
        "events": EVENTS,
        "cases": 2,
        "global_head": links[-1].digest.hex(),
        "head": UNSIGNED_HEAD,
    }
    result = ok(verify(ledger, "--child", f"{COUNCIL}:{FIRST}", "--format", "json"))
    assert data_of(result.stdout) == {
        "intact": True,
        "events": EVENTS,
        "cases": 1,
        "global_head": links[-1].digest.hex(),
        "case": A.hex,
        "case_events": len([k for k in links if k.case == A]),
        "case_head": [k for k in links if k.case == A][-1].event_hash.hex(),
        "head": UNSIGNED_HEAD,
    }


def test_recording_more_moves_the_head_and_leaves_earlier_chain_rows_as_they_were(
    ledger: str, tables: Direct, tmp_path: Path
) -> None:
    before = tables.links()
    head_before = lines_of(ok(verify(ledger)))[1]
    later = demo_lines(LATER)
    record(ledger, tmp_path, later[:1])
    after = tables.links()
    assert after[: len(before)] == before
    assert len(after) == len(before) + 2  # CaseOpened and the line
    new = after[len(before)]
    assert new.previous == GENESIS  # a new case's chain starts afresh
    assert new.digest == next_digest(before[-1].digest, new.event_hash)
    moved = lines_of(ok(verify(ledger)))
    assert moved == [
        f"intact: {EVENTS + 2} events in 3 case(s)",
        f"global head digest: {after[-1].digest.hex()}",
    ]
    assert moved[1] != head_before
    # one more event of an existing case links to that case's previous head
    record(ledger, tmp_path, later[1:2])
    grown = tables.links()
    assert grown[: len(after)] == after
    assert grown[-1].previous == after[-1].event_hash
    assert grown == replay(tables.events())
    assert lines_of(ok(verify(ledger, "--child", f"{COUNCIL}:{LATER}")))[2] == (
        f"case {case_id(COUNCIL, LATER).hex} head digest: {grown[-1].event_hash.hex()}"
    )


# --- 2. the database refuses changes, whoever asks ------------------------------------------


def refusal(tables: Direct, action: str, table: str) -> str:
    return f"careledger: the ledger is append-only: {action} on {tables.qualified(table)}"


def attempt(tables: Direct, statement: str, *params: Any) -> str:
    before = (tables.events(), tables.links())
    with pytest.raises(tables.refused) as refused:
        tables.run(statement, *params)
    assert (tables.events(), tables.links()) == before, "a refused statement changed rows"
    return str(refused.value).splitlines()[0]


@pytest.mark.parametrize("which", ["events", "chain"])
def test_update_and_delete_are_refused_through_a_direct_connection(
    ledger: str, tables: Direct, which: str
) -> None:
    table = tables.events_table if which == "events" else tables.chain_table
    one = (tables.key(A), 3)
    update_one = (
        "UPDATE {events} SET state = ? WHERE originator_id = ? AND originator_version = ?"
        if which == "events"
        else "UPDATE {chain} SET digest = ? WHERE originator_id = ? AND originator_version = ?"
    )
    assert attempt(tables, update_one, b"{}", *one) == refusal(tables, "UPDATE", table)
    assert attempt(
        tables, f"UPDATE {table} SET originator_version = originator_version + 100"
    ) == refusal(tables, "UPDATE", table)
    assert attempt(
        tables, f"DELETE FROM {table} WHERE originator_id = ? AND originator_version = ?", *one
    ) == refusal(tables, "DELETE", table)
    assert attempt(tables, f"DELETE FROM {table}") == refusal(tables, "DELETE", table)
    assert len(tables.events()) == len(tables.links()) == EVENTS
    ok(verify(ledger))


def test_truncate_is_refused_on_postgres(postgres_db: str, tmp_path: Path) -> None:
    record_two_children(postgres_db, tmp_path)
    with direct(postgres_db) as tables:
        for table in (tables.events_table, tables.chain_table):
            assert attempt(tables, f"TRUNCATE {table}") == refusal(tables, "TRUNCATE", table)
        assert attempt(tables, f"TRUNCATE {tables.events_table}, {tables.chain_table}") == refusal(
            tables, "TRUNCATE", tables.events_table
        )
    assert lines_of(ok(verify(postgres_db)))[0] == f"intact: {EVENTS} events in 2 case(s)"


def test_init_creates_the_refusing_triggers_on_both_tables(tables: Direct) -> None:
    assert tables.enabled_triggers() == set(tables.triggers)


# --- 3. tampering, after the attacker disables the triggers ---------------------------------


def one_byte_changed(state: bytes) -> bytes:
    """The state with the last digit of its `occurred_on` date changed: one byte."""
    at = state.index(b'"occurred_on":"') + len(b'"occurred_on":"') + 9
    digit = state[at] - ord("0")
    changed = state[:at] + bytes([ord("0") + (digit + 1) % 10]) + state[at + 1 :]
    assert (
        len(changed) == len(state) and sum(x != y for x, y in zip(changed, state, strict=True)) == 1
    )
    return changed


def test_one_changed_byte_of_a_stored_event_is_named_with_both_hashes(
    ledger: str, tables: Direct
) -> None:
    target = tables.event(A, 6)
    link = tables.link(A, 6)
    tables.disable_triggers()
    changed = one_byte_changed(target.state)
    tables.set_state(A, 6, changed)
    recomputed = event_hash(A, 6, target.topic, changed, link.previous)
    head = tables.links()[-1].digest  # the log's digests are over recorded hashes: unchanged
    assert broken(verify(ledger)) == [
        "BROKEN",
        f"global head digest: {head.hex()}",
        where(link, DIFFERS),
        *hashes(link.event_hash, recomputed),
    ]
    report = data_of(verify(ledger, "--format", "json").stdout)
    assert report["intact"] is False
    assert report["first_broken_link"] == {
        "log_position": link.notification_id,
        "child": f"{COUNCIL}:{FIRST}",
        "case": A.hex,
        "event": 6,
        "problem": DIFFERS,
        "expected": link.event_hash.hex(),
        "found": recomputed.hex(),
    }
    # the case's own verify names it too, with no head (its chain is broken); the other
    # case is not blamed
    own = broken(verify(ledger, "--child", f"{COUNCIL}:{FIRST}"))
    assert own[:2] == ["BROKEN", f"global head digest: {head.hex()}"]
    assert own[2] == f"case {A.hex} head digest: none (the case's chain is broken)"
    assert own[3:] == [where(link, DIFFERS), *hashes(link.event_hash, recomputed)]
    assert lines_of(ok(verify(ledger, "--child", f"{COUNCIL}:{SECOND}"))) == [
        f"intact: the case's 13 events; the log's {EVENTS}",
        f"global head digest: {head.hex()}",
        f"case {B.hex} head digest: {tables.link(B, 13).event_hash.hex()}",
    ]


def test_a_broken_case_does_not_report_a_truncated_head_as_its_head(
    ledger: str, tables: Direct
) -> None:
    before_break = tables.link(A, 5).event_hash
    tables.disable_triggers()
    tables.set_state(A, 6, one_byte_changed(tables.event(A, 6).state))
    own = broken(verify(ledger, "--child", f"{COUNCIL}:{FIRST}"))
    assert f"head digest: {before_break.hex()}" not in own[2]


def test_a_deleted_event_is_named_as_missing(ledger: str, tables: Direct) -> None:
    link = tables.link(A, 4)
    tables.disable_triggers()
    tables.delete_event(A, 4)
    assert broken(verify(ledger)) == [
        "BROKEN",
        f"global head digest: {tables.links()[-1].digest.hex()}",
        where(link, MISSING),
    ]


def test_a_case_whose_last_event_was_deleted_is_named_with_the_missing_log_position(
    ledger: str, tables: Direct
) -> None:
    """No later event of the case names the deleted one: the log's digest breaks at the next
    row, and the position that is gone is named."""
    links = tables.links()
    case = next(c for c in (A, B) if links[-1].case != c)  # its last event is not the log's
    last = max(link.seq for link in links if link.case == case)
    gone = tables.link(case, last).notification_id
    after = next(link for link in links if link.notification_id > gone)
    tables.disable_triggers()
    tables.delete_event(case, last)
    tables.delete_link(case, last)
    problem = broken(verify(ledger))[2]
    assert problem.startswith(f"first broken link: child {COUNCIL}:")
    assert problem.endswith(
        f"(log position {after.notification_id}): the log's running digest differs from the "
        f"one recorded here: log position(s) {gone} missing just before it (deleted?)"
    )


@pytest.mark.parametrize("gone", [[5], [5, 6]])
def test_deleted_events_with_their_chain_rows_leave_a_gap_named_at_the_next_event(
    ledger: str, tables: Direct, gone: list[int]
) -> None:
    links = tables.links()
    first_gone = tables.link(B, gone[0]).notification_id
    after = tables.event(B, gone[-1] + 1)
    tables.disable_triggers()
    for seq in gone:
        tables.delete_event(B, seq)
        tables.delete_link(B, seq)
    # the running digest breaks at the same place: the next row in the log
    before = [k for k in links if k.notification_id < first_gone]
    assert before[-1].notification_id + len(gone) + 1 == after.notification_id
    head = next_digest(before[-1].digest, tables.link(B, after.seq).event_hash)
    assert broken(verify(ledger)) == [
        "BROKEN",
        f"global head digest: {head.hex()}",
        where(
            after,
            f"event {gone[0]} of the case is missing"
            if len(gone) == 1
            else f"events {gone[0]} to {gone[-1]} of the case are missing",
        ),
    ]


@pytest.mark.parametrize(
    "one, other", [((B, 6), (A, 6)), ((A, 7), (A, 3))], ids=["across cases", "within a case"]
)
def test_swapped_events_name_the_earlier_of_the_two_in_log_order(
    ledger: str, tables: Direct, one: tuple[UUID, int], other: tuple[UUID, int]
) -> None:
    x, y = tables.event(*one), tables.event(*other)
    earlier = min(x, y, key=lambda e: e.notification_id)
    later = y if earlier is x else x
    # across cases, the earlier in the log belongs to the case verify reads second
    assert earlier == tables.event(*other)
    tables.disable_triggers()
    tables.set_state(x.case, x.seq, y.state)
    tables.set_state(y.case, y.seq, x.state)
    link = tables.link(earlier.case, earlier.seq)
    recomputed = event_hash(earlier.case, earlier.seq, earlier.topic, later.state, link.previous)
    assert broken(verify(ledger)) == [
        "BROKEN",
        f"global head digest: {tables.links()[-1].digest.hex()}",
        where(link, DIFFERS),
        *hashes(link.event_hash, recomputed),
    ]


def forge(tables: Direct, case: UUID, at: int) -> tuple[StoredRow, ChainRow]:
    """Insert a forged event at version `at` of the case: its later events (and their chain
    rows) move up one version, and the forged event goes in, at the end of the log, with a
    chain row whose hash is correct for itself, linked to the case's event before it."""
    tables.disable_triggers()
    last = max(e.seq for e in tables.events() if e.case == case)
    for seq in range(last, at - 1, -1):
        tables.move(case, seq, seq + 1)
    model = tables.event(case, at + 1)  # the genuine event that was at `at`
    state = one_byte_changed(model.state)
    end = tables.links()[-1]
    previous = tables.link(case, at - 1).event_hash
    forged = StoredRow(end.notification_id + 1, case, at, model.topic, state)
    hash_ = event_hash(case, at, forged.topic, forged.state, previous)
    link = ChainRow(
        forged.notification_id, case, at, hash_, previous, next_digest(end.digest, hash_)
    )
    tables.insert_event(forged)
    tables.insert_link(link)
    return forged, link


def test_a_forged_event_with_a_correct_hash_of_its_own_breaks_the_link_after_it(
    ledger: str, tables: Direct
) -> None:
    recorded_previous = tables.link(B, 4).event_hash
    _, forged_link = forge(tables, B, 5)
    shifted = tables.link(B, 6)  # the genuine event 5, now numbered 6
    assert shifted.previous == recorded_previous
    result = broken(verify(ledger))
    # the log's running digest still holds (the forged row was appended consistently)
    assert result[:3] == [
        "BROKEN",
        f"global head digest: {forged_link.digest.hex()}",
        where(shifted, LINK),
    ]
    # the two hashes at odds: the link recorded on the shifted event's chain row (to the
    # genuine event 4) and the recomputed hash of the forged event 5 before it (which of
    # them is printed under which label: see the test below)
    assert len(result) == 5
    assert result[3].startswith("  expected (recorded): ")
    assert result[4].startswith("  found (recomputed):  ")
    assert {result[3].split()[-1], result[4].split()[-1]} == {
        recorded_previous.hex(),
        forged_link.event_hash.hex(),
    }
    report = data_of(verify(ledger, "--format", "json").stdout)
    assert report["events"] == EVENTS + 1
    link_report = report["first_broken_link"]
    assert (link_report["case"], link_report["event"], link_report["log_position"]) == (
        B.hex,
        6,
        shifted.notification_id,
    )
    assert {link_report["expected"], link_report["found"]} == {
        recorded_previous.hex(),
        forged_link.event_hash.hex(),
    }


def test_a_broken_link_prints_the_recorded_hash_as_recorded(ledger: str, tables: Direct) -> None:
    recorded_previous = tables.link(B, 4).event_hash
    _, forged_link = forge(tables, B, 5)
    assert broken(verify(ledger))[3:] == hashes(recorded_previous, forged_link.event_hash)


def rewrite(tables: Direct, case: UUID, seq: int, state: bytes) -> list[ChainRow]:
    """Change one event's state and recompute, consistently, every chain row after it: the
    case's hashes and links from that event on, and the running digest of every later row
    of the log, in log order, with `ledger.integrity.chain`'s own arithmetic."""
    tables.disable_triggers()
    tables.set_state(case, seq, state)
    old = tables.links()
    new = replay(tables.events())
    for before, after in zip(old, new, strict=True):
        if before != after:
            tables.replace_link(after)
    return [after for before, after in zip(old, new, strict=True) if before != after]


def test_a_consistently_rewritten_case_verifies_intact_but_breaks_a_seal_made_before(
    ledger: str, tables: Direct, tmp_path: Path
) -> None:
    sealed = seal(ledger, tmp_path)
    sealed_head = tables.links()[-1].digest
    target = tables.event(A, 5)
    assert target.topic == "careledger.ledger.domain.events:CarePlanAgreed"
    state = target.state.replace(b'"sections":{', b'"sections":{"x":"y",', 1)
    assert state != target.state
    changed = rewrite(tables, A, 5, state)
    # every row from the change on in the log: A's from event 5, and B's digests between
    assert [k.notification_id for k in changed] == list(range(target.notification_id, EVENTS + 1))
    assert {(k.case, k.seq) for k in changed if k.case == A} == {(A, s) for s in range(5, 19)}
    head = tables.links()[-1].digest
    assert head != sealed_head
    # Plain verify cannot tell: the chain is public arithmetic (SHA-256 over the rows, no
    # secret), so whoever can write the rows can recompute every hash and digest after them.
    assert lines_of(ok(verify(ledger))) == [
        f"intact: {EVENTS} events in 2 case(s)",
        f"global head digest: {head.hex()}",
    ]
    # A seal handed out before the rewrite pins the old digest, and it no longer holds.
    assert broken(verify(ledger, "--seal", sealed)) == [
        "BROKEN",
        f"global head digest: {head.hex()}",
        f"seal of {sealed_at(sealed)}: does NOT hold: after the {EVENTS} sealed events the "
        f"log's digest is {head.hex()}, the seal says {sealed_head.hex()}: the history "
        "before the seal was rewritten",
    ]
    report = data_of(verify(ledger, "--seal", sealed, "--format", "json").stdout)
    assert report["intact"] is False and "first_broken_link" not in report
    assert report["seal"]["holds"] is False
    assert report["seal"]["digest"] == sealed_head.hex()


def test_removing_the_tail_of_the_log_is_shown_by_a_seal(
    ledger: str, tables: Direct, tmp_path: Path
) -> None:
    sealed = seal(ledger, tmp_path)
    last = tables.links()[-1]
    tables.disable_triggers()
    tables.delete_event(last.case, last.seq)
    tables.delete_link(last.case, last.seq)
    head = tables.links()[-1].digest
    # the rows that remain are a consistent, shorter chain
    assert lines_of(ok(verify(ledger))) == [
        f"intact: {EVENTS - 1} events in 2 case(s)",
        f"global head digest: {head.hex()}",
    ]
    assert broken(verify(ledger, "--seal", sealed)) == [
        "BROKEN",
        f"global head digest: {head.hex()}",
        f"seal of {sealed_at(sealed)}: does NOT hold: the seal covers {EVENTS} events; the "
        f"ledger now holds {EVENTS - 1}: events were removed",
    ]


# --- seals ------------------------------------------------------------------------------------


def test_a_seal_still_holds_after_later_genuine_records(
    ledger: str, tables: Direct, tmp_path: Path
) -> None:
    sealed = seal(ledger, tmp_path)
    record(ledger, tmp_path, demo_lines(LATER))
    links = tables.links()
    assert len(links) == EVENTS + 19
    result = ok(verify(ledger, "--seal", sealed, "--public-key", tmp_path / "council.pub"))
    assert lines_of(result) == [
        f"intact: {EVENTS + 19} events in 3 case(s)",
        f"global head digest: {links[-1].digest.hex()}",
        f"seal of {sealed_at(sealed)} ({EVENTS} events, key {seal_fingerprint(sealed)}): holds",
    ]
    report = data_of(verify(ledger, "--seal", sealed, "--format", "json").stdout)
    assert report["seal"] == {
        "events": EVENTS,
        "digest": links[EVENTS - 1].digest.hex(),
        "sealed_at": sealed_at(sealed),
        "key_fingerprint": seal_fingerprint(sealed),
        "holds": True,
        "problem": None,
    }


def flipped(path: Path, field: str) -> Path:
    data = json.loads(path.read_text(encoding="utf-8"))
    if field == "signature":
        raw = bytearray(base64.b64decode(data["signature"]))
        raw[10] ^= 0x01
        data["signature"] = base64.b64encode(bytes(raw)).decode()
    elif field == "digest":
        raw = bytearray(bytes.fromhex(data["digest"]))
        raw[0] ^= 0x01
        data["digest"] = raw.hex()
    else:
        data["events"] += 1
    out = path.with_name(f"{field}-flipped.json")
    out.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return out


@pytest.mark.parametrize("field", ["signature", "digest", "events"])
def test_a_seal_with_a_flipped_byte_is_refused(ledger: str, tmp_path: Path, field: str) -> None:
    bad = flipped(seal(ledger, tmp_path), field)
    result = verify(ledger, "--seal", bad)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: --seal: the signature of '{bad}' does not verify\n"


def test_a_seal_checked_against_another_public_key_is_refused(ledger: str, tmp_path: Path) -> None:
    sealed = seal(ledger, tmp_path)
    other = tmp_path / "other.pub"
    made = ok(invoke("seal-key", tmp_path / "other.pem"))
    other.write_text(made.stdout, encoding="utf-8")
    other_fingerprint = made.stderr.strip().removeprefix("key fingerprint: ")
    result = verify(ledger, "--seal", sealed, "--public-key", other)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: --seal: signed with key {seal_fingerprint(sealed)}, "
        f"not the expected {other_fingerprint}\n"
    )
    # the council's own public key, as it shared it, is accepted
    own = ok(verify(ledger, "--seal", sealed, "--public-key", tmp_path / "council.pub"))
    assert lines_of(own)[-1].endswith(f"key {seal_fingerprint(sealed)}): holds")


def test_a_seal_checked_for_one_child_still_recomputes_every_case(
    ledger: str, tables: Direct, tmp_path: Path
) -> None:
    """A seal speaks for the whole ledger: `verify --child B --seal` must not say it holds
    while case A has a changed byte (the log pass alone trusts A's recorded hashes)."""
    sealed = seal(ledger, tmp_path)
    tables.disable_triggers()
    tables.set_state(A, 6, one_byte_changed(tables.event(A, 6).state))
    result = verify(ledger, "--child", f"{COUNCIL}:{SECOND}", "--seal", sealed)
    lines = broken(result)
    assert lines[0] == "BROKEN"
    named = f"first broken link: child {COUNCIL}:{FIRST}, case {A.hex}, event 6"
    assert any(line.startswith(named) for line in lines)
    assert lines[-1] == (
        f"seal of {sealed_at(sealed)}: does NOT hold: the chain is broken: see the first "
        "broken link"
    )


def test_a_state_turned_into_text_is_named_as_changed_not_a_crash(
    sqlite_db: str, tmp_path: Path
) -> None:
    record_two_children(sqlite_db, tmp_path)
    with direct(sqlite_db) as tables:
        tables.disable_triggers()
        tables.run(
            "UPDATE stored_events SET state = CAST(state AS TEXT) || ' ' "
            "WHERE originator_id = ? AND originator_version = 6",
            A.hex,
        )
    lines = broken(verify(sqlite_db))
    assert lines[2].startswith(f"first broken link: child {COUNCIL}:{FIRST}, case {A.hex}, event 6")
    assert lines[2].endswith(DIFFERS)
