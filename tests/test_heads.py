"""Signed heads (`ledger.integrity.heads`), proved on a real SQLite file and a real PostgreSQL
schema.

Two children's histories from the demo file are recorded with `careledger record --file` in
three commits (as in tests/test_integrity.py), by a recording service that holds the head key
(CARELEDGER_HEAD_KEY_FILE, made by `careledger head-key`), so each commit signs the log's head.
Then someone with write access to the database, but not the key, tampers with it directly
(`tests/tamper.py`):

- an event appended with INSERT alone (the triggers allow it), its chain row computed by the
  public arithmetic: the chain verifies, the signed head does not cover it: `verify` fails.
  The same forgery in a ledger recorded without the key verifies intact, with a warning;
- the log's last event deleted with its chain row: the last signed head lies beyond the log's
  end; deleted with its signature too, the rest of its commit is unsigned; the whole last
  commit with its signature: only a seal taken before shows it;
- a case rewritten consistently, its chain rows and digests recomputed: the signed digests
  no longer match;
- a head signed by another key (a forger's), a signature with a flipped byte, all the
  signatures deleted while the verifier holds the public key: each refused.

Recording without a key, then with one: the first signature vouches for what came before;
recording without the key is refused from then on. Keys rotate: old signatures verify with
the old public key. The heads table is append-only like the events.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from careledger.cli.main import cli
from careledger.ledger.integrity.heads import SignedHead, statement
from careledger.ledger.integrity.seal import fingerprint, raw_public_key, read_public_key
from tests.envelope import data_of
from tests.tamper import Direct, direct
from tests.test_integrity import (
    ENV,
    EVENTS,
    FIRST,
    LATER,
    SECOND,
    SPLIT,
    A,
    B,
    demo_lines,
    one_byte_changed,
    refusal,
    rewrite,
)

FORGED = (
    "1 event(s) after the last signed head (log positions {0} to {0}) carry no signature: they "
    "were written past the ledger, which signs every commit once its head is signed (a forged "
    "append)"
)


def run(
    *args: Any, key: Path | None = None, public: str | None = None, log: Path | None = None
) -> Result:
    env = ENV | {"CARELEDGER_HEAD_KEY_FILE": str(key) if key else None}
    env["CARELEDGER_HEAD_PUBLIC_KEY_FILE"] = public
    env["CARELEDGER_HEAD_LOG"] = str(log) if log else None
    return CliRunner().invoke(cli, [str(a) for a in args], env=env)


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


def failed(result: Result) -> list[str]:
    assert result.exit_code == 3, f"exit {result.exit_code}: {result.output}"  # verification failed
    return result.stdout.splitlines()


def new_key(tmp_path: Path, name: str) -> Path:
    """A head key made by `careledger head-key`; its public key is kept as NAME.pub."""
    key = tmp_path / f"{name}.key"
    made = ok(run("head-key", key))
    (tmp_path / f"{name}.pub").write_text(made.stdout, encoding="utf-8")
    assert made.stderr.startswith("key fingerprint: SHA256:")
    return key


def record(
    db: str, tmp_path: Path, lines: list[str], key: Path | None, log: Path | None = None
) -> Result:
    path = tmp_path / f"events-{len(list(tmp_path.glob('events-*')))}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return run("record", "--db", db, "--file", path, key=key, log=log)


def record_three_commits(
    db: str, tmp_path: Path, keys: list[Path | None], log: Path | None = None
) -> None:
    """NR-0202's first lines, all of NR-0205, the rest of NR-0202: one key for each commit."""
    ok(run("init", "--db", db))
    first = demo_lines(FIRST)
    for lines, key in zip((first[:SPLIT], demo_lines(SECOND), first[SPLIT:]), keys, strict=True):
        ok(record(db, tmp_path, lines, key, log))


def verify(db: str, *options: Any, key: Path | None = None, public: str | None = None) -> Result:
    return run("verify", "--db", db, *options, key=key, public=public)


def signed_line(heads: list[SignedHead], events: int) -> str:
    last = heads[-1]
    return (
        f"head: signed: {len(heads)} signature(s) by key {last.fingerprint}; the last, at log "
        f"position {last.position} ({last.signed_at}), covers all {events} events"
    )


@pytest.fixture
def service_key(tmp_path: Path) -> Path:
    return new_key(tmp_path, "service")


@pytest.fixture
def signed(db: str, tmp_path: Path, service_key: Path) -> str:
    record_three_commits(db, tmp_path, [service_key] * 3)
    return db


@pytest.fixture
def tables(signed: str) -> Iterator[Direct]:
    with direct(signed) as store:
        yield store


# --- the head signed as the log grows -------------------------------------------------------


def test_each_commit_signs_the_head_after_it_and_verify_checks_every_signature(
    signed: str, tables: Direct, tmp_path: Path
) -> None:
    links, heads = tables.links(), tables.heads()
    assert [(h.first, h.position, h.events) for h in heads] == [
        (links[0].notification_id, links[SPLIT].notification_id, SPLIT + 1),
        (links[SPLIT + 1].notification_id, links[SPLIT + 13].notification_id, 13),
        (links[SPLIT + 14].notification_id, links[-1].notification_id, EVENTS - SPLIT - 14),
    ]
    by_position = {link.notification_id: link.digest for link in links}
    assert all(head.digest == by_position[head.position] for head in heads)
    result = ok(verify(signed, "--head-public-key", tmp_path / "service.pub"))
    assert result.stdout.splitlines() == [
        f"intact: {EVENTS} events in 2 case(s)",
        f"global head digest: {links[-1].digest.hex()}",
        signed_line(heads, EVENTS),
    ]
    assert result.stderr == ""
    # without a public key, the signatures are checked against their own keys: a warning
    unchecked = ok(verify(signed))
    assert unchecked.stdout.splitlines()[-1] == signed_line(heads, EVENTS)
    assert "warning: checked only against the keys stored with the signatures" in unchecked.stderr


def test_a_forged_append_with_its_chain_recomputed_is_caught_by_the_signed_head(
    signed: str, tables: Direct, tmp_path: Path
) -> None:
    model = tables.event(B, 12)
    forged, link = tables.append_forged(B, model.topic, one_byte_changed(model.state))
    assert tables.enabled_triggers() == set(tables.triggers)  # INSERT alone: triggers in place
    assert failed(verify(signed, "--head-public-key", tmp_path / "service.pub")) == [
        "BROKEN",
        f"global head digest: {link.digest.hex()}",  # the chain itself still holds
        "head signatures: do NOT hold:",
        "  " + FORGED.format(forged.notification_id),
    ]
    report = data_of(verify(signed, "--format", "json").stdout)
    assert report["intact"] is False and "first_broken_link" not in report
    assert report["head"]["problems"] == [FORGED.format(forged.notification_id)]
    assert report["head"]["signed_events"] == EVENTS and report["events"] == EVENTS + 1


def test_a_forged_append_stays_caught_after_a_genuine_signed_commit(
    signed: str, tables: Direct, tmp_path: Path, service_key: Path
) -> None:
    model = tables.event(B, 12)
    forged, _ = tables.append_forged(B, model.topic, one_byte_changed(model.state))
    ok(record(signed, tmp_path, demo_lines(LATER), service_key))
    first = tables.heads()[-1].first
    assert failed(verify(signed))[2:] == [
        "head signatures: do NOT hold:",
        f"  1 event(s) between two signed commits (log positions {forged.notification_id} to "
        f"{first - 1}) carry no signature: they were written past the ledger, which signs "
        "every commit once its head is signed (a forged append)",
    ]


def test_without_a_head_key_the_same_forged_append_verifies_intact_with_a_warning(
    db: str, tmp_path: Path
) -> None:
    record_three_commits(db, tmp_path, [None] * 3)
    with direct(db) as tables:
        assert tables.heads() == []
        model = tables.event(B, 12)
        _, link = tables.append_forged(B, model.topic, one_byte_changed(model.state))
    result = ok(verify(db))
    assert result.stdout.splitlines() == [
        f"intact: {EVENTS + 1} events in 2 case(s)",
        f"global head digest: {link.digest.hex()}",
    ]
    assert result.stderr == (
        "warning: the head is not signed (recorded without CARELEDGER_HEAD_KEY_FILE): a forged "
        "append or a cut tail shows only against a seal taken before\n"
    )


def test_a_case_rewritten_consistently_no_longer_matches_the_heads_signed_after_it(
    signed: str, tables: Direct
) -> None:
    heads = tables.heads()
    target = tables.event(A, 5)
    assert heads[0].first <= target.notification_id <= heads[0].position
    changed = rewrite(tables, A, 5, one_byte_changed(target.state))
    digests = {link.notification_id: link.digest for link in changed}
    result = failed(verify(signed))
    assert result[0] == "BROKEN" and result[2] == "head signatures: do NOT hold:"
    assert result[3:] == [
        f"  the head signed at log position {head.position} has digest {head.digest.hex()}; "
        f"the log's there is {digests[head.position].hex()}"
        for head in heads
    ]


# --- a cut tail -------------------------------------------------------------------------------


def test_a_cut_tail_is_caught_by_the_signed_head_beyond_the_log(
    signed: str, tables: Direct
) -> None:
    links = tables.links()
    last = links[-1]
    tables.disable_triggers()
    tables.delete_event(last.case, last.seq)
    tables.delete_link(last.case, last.seq)
    assert failed(verify(signed)) == [
        "BROKEN",
        f"global head digest: {links[-2].digest.hex()}",
        "head signatures: do NOT hold:",
        f"  signed heads cover {EVENTS} events, up to log position {last.notification_id}; the "
        f"log holds {EVENTS - 1}, up to position {links[-2].notification_id}: events were "
        "removed from its tail",
    ]


def test_a_cut_tail_with_its_signature_leaves_the_rest_of_its_commit_unsigned(
    signed: str, tables: Direct
) -> None:
    links, heads = tables.links(), tables.heads()
    last = links[-1]
    tables.disable_triggers()
    tables.disable_head_triggers()
    tables.delete_event(last.case, last.seq)
    tables.delete_link(last.case, last.seq)
    tables.delete_head(heads[-1].position)
    assert failed(verify(signed))[3] == (
        f"  {EVENTS - SPLIT - 15} event(s) after the last signed head (log positions "
        f"{heads[-1].first} to {links[-2].notification_id}) carry no signature: they were "
        "written past the ledger, which signs every commit once its head is signed (a forged "
        "append)"
    )


def cut_last_commit(tables: Direct) -> list[SignedHead]:
    """The last commit's events, chain rows and signed head deleted, triggers disabled first;
    returns the heads as they were."""
    heads = tables.heads()
    tables.disable_triggers()
    tables.disable_head_triggers()
    for link in tables.links():
        if link.notification_id >= heads[-1].first:
            tables.delete_event(link.case, link.seq)
            tables.delete_link(link.case, link.seq)
    tables.delete_head(heads[-1].position)
    return heads


def test_a_whole_last_commit_cut_with_its_signature_shows_only_against_a_seal(
    signed: str, tables: Direct, tmp_path: Path
) -> None:
    seal_key = tmp_path / "council.pem"
    ok(run("seal-key", seal_key))
    seal = tmp_path / "seal.json"
    ok(run("seal", "--db", signed, "--key", seal_key, "--signed-by", "Family Court", "--out", seal))
    heads = cut_last_commit(tables)
    remaining = heads[1].position
    result = ok(verify(signed))
    assert result.stdout.splitlines()[0] == f"intact: {SPLIT + 14} events in 2 case(s)"
    assert result.stdout.splitlines()[-1] == signed_line(heads[:2], SPLIT + 14)
    assert tables.links()[-1].notification_id == remaining
    assert failed(verify(signed, "--seal", seal))[2].endswith(
        f"the seal covers {EVENTS} events; the ledger now holds {SPLIT + 14}: events were removed"
    )


def test_a_whole_last_commit_cut_with_its_signature_is_caught_by_the_head_log_outside(
    db: str, tmp_path: Path, service_key: Path
) -> None:
    outside = tmp_path / "outside" / "heads.jsonl"
    outside.parent.mkdir()
    record_three_commits(db, tmp_path, [service_key] * 3, outside)
    assert outside.stat().st_mode & 0o777 == 0o600
    written = [json.loads(line) for line in outside.read_text(encoding="utf-8").splitlines()]
    with direct(db) as tables:
        heads = tables.heads()
        assert [line["position"] for line in written] == [head.position for head in heads]
        assert [line["signature"] for line in written] == [
            base64.b64encode(head.signature).decode() for head in heads
        ]
        assert ok(verify(db, "--head-log", outside)).stdout.splitlines()[-1] == (
            f"head log outside the database: its latest head, at log position "
            f"{heads[-1].position}, holds"
        )
        cut_last_commit(tables)
        end = tables.links()[-1].notification_id
    assert ok(verify(db)).stdout.splitlines()[-1] == signed_line(heads[:2], SPLIT + 14)
    assert failed(verify(db, "--head-log", outside))[2:] == [
        "head signatures: do NOT hold:",
        f"  the head log outside the database names log position {heads[-1].position} (signed "
        f"{heads[-1].signed_at}); the log ends at position {end}: events were removed from its "
        "tail",
    ]
    # the recording service's setting is verify's default
    assert failed(run("verify", "--db", db, log=outside))[2] == "head signatures: do NOT hold:"


def test_a_history_rewritten_consistently_no_longer_matches_the_head_log_outside(
    db: str, tmp_path: Path, service_key: Path
) -> None:
    """Even re-signed by whoever holds the key, the rewritten log's digest differs from the
    one the head log kept; here the heads table is left as it was, and the file is checked."""
    outside = tmp_path / "heads.jsonl"
    record_three_commits(db, tmp_path, [service_key] * 3, outside)
    with direct(db) as tables:
        last = tables.heads()[-1]
        changed = rewrite(tables, A, 5, one_byte_changed(tables.event(A, 5).state))
    rewritten = changed[-1].digest
    assert failed(verify(db, "--head-log", outside))[-1] == (
        f"  the head log outside the database names log position {last.position} with digest "
        f"{last.digest.hex()}; the log's there is {rewritten.hex()}"
    )


def test_a_head_log_without_a_head_key_is_refused_and_nothing_recorded(
    sqlite_db: str, tmp_path: Path
) -> None:
    ok(run("init", "--db", sqlite_db))
    refused = record(sqlite_db, tmp_path, demo_lines(SECOND), None, tmp_path / "heads.jsonl")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: CARELEDGER_HEAD_LOG: keeps signed heads, so it needs CARELEDGER_HEAD_KEY_FILE; "
        "nothing recorded\n"
    )
    with direct(sqlite_db) as tables:
        assert tables.events() == []


# --- keys ------------------------------------------------------------------------------------


def forger_signs(tables: Direct, key: Ed25519PrivateKey, first: int, position: int) -> str:
    """The forger's own head over an appended event, signed correctly with the forger's key."""
    digest = next(link for link in tables.links() if link.notification_id == position).digest
    at = "2026-01-05T10:00:00+00:00"
    signature = key.sign(statement(first, position, 1, digest, at))
    public = raw_public_key(key.public_key())
    tables.insert_head(SignedHead(position, first, 1, digest, at, public, signature))
    return fingerprint(public)


def test_a_forged_append_signed_by_another_key_is_refused(
    signed: str, tables: Direct, tmp_path: Path, service_key: Path
) -> None:
    model = tables.event(B, 12)
    forged, _ = tables.append_forged(B, model.topic, one_byte_changed(model.state))
    position = forged.notification_id
    forger = forger_signs(tables, Ed25519PrivateKey.generate(), position, position)
    service = tables.heads()[0].fingerprint
    refused = (
        f"  the head signed at log position {position} (2026-01-05T10:00:00+00:00) is signed "
        f"by key {forger}, not by a key given ({service})"
    )
    assert failed(verify(signed, "--head-public-key", tmp_path / "service.pub"))[2:] == [
        "head signatures: do NOT hold:",
        refused,
    ]
    # the recording service's own key, when this machine has it, is the key expected
    assert failed(verify(signed, key=service_key))[2:] == ["head signatures: do NOT hold:", refused]
    # with no key to check against, the forger's signature verifies: a warning says so
    unchecked = ok(verify(signed))
    assert "warning: checked only against the keys stored with the signatures" in unchecked.stderr


def test_a_head_with_a_flipped_byte_of_its_signature_is_refused(
    signed: str, tables: Direct
) -> None:
    head = tables.heads()[1]
    tables.disable_head_triggers()
    tables.delete_head(head.position)
    signature = bytes([head.signature[0] ^ 1]) + head.signature[1:]
    tables.insert_head(head._replace(signature=signature))
    assert failed(verify(signed))[2:] == [
        "head signatures: do NOT hold:",
        f"  the head signed at log position {head.position} ({head.signed_at}): the signature "
        "does not verify",
    ]


def test_signatures_all_deleted_are_caught_when_the_verifier_holds_the_public_key(
    signed: str, tables: Direct, tmp_path: Path
) -> None:
    tables.disable_head_triggers()
    for head in tables.heads():
        tables.delete_head(head.position)
    assert failed(verify(signed, "--head-public-key", tmp_path / "service.pub"))[2:] == [
        "head signatures: do NOT hold:",
        "  no signed head, though a head public key or head log was given: the signatures were "
        "removed, or the ledger never signed its head",
    ]
    assert "warning: the head is not signed" in ok(verify(signed)).stderr


def test_a_rotated_key_leaves_the_old_signatures_verifiable_with_the_old_public_key(
    db: str, tmp_path: Path
) -> None:
    old, new = new_key(tmp_path, "old"), new_key(tmp_path, "new")
    record_three_commits(db, tmp_path, [old, old, new])
    both = ("--head-public-key", tmp_path / "old.pub", "--head-public-key", tmp_path / "new.pub")
    with direct(db) as tables:
        heads = tables.heads()
    assert [h.fingerprint for h in heads][1:] == [heads[0].fingerprint, heads[2].fingerprint]
    assert ok(verify(db, *both)).stdout.splitlines()[-1] == (
        f"head: signed: 3 signature(s) by key {heads[0].fingerprint}, {heads[2].fingerprint}; "
        f"the last, at log position {heads[2].position} ({heads[2].signed_at}), covers all "
        f"{EVENTS} events"
    )
    listed = f"{tmp_path / 'old.pub'}:{tmp_path / 'new.pub'}"
    assert ok(verify(db, public=listed)).stdout == ok(verify(db, *both)).stdout
    only_new = failed(verify(db, "--head-public-key", tmp_path / "new.pub"))
    assert only_new[2:] == [
        "head signatures: do NOT hold:",
        *(
            f"  the head signed at log position {h.position} ({h.signed_at}) is signed by key "
            f"{h.fingerprint}, not by a key given ({heads[2].fingerprint})"
            for h in heads[:2]
        ),
    ]


def test_verify_prints_the_first_five_problems_and_how_many_more(
    signed: str, tmp_path: Path, service_key: Path
) -> None:
    later = demo_lines(LATER)
    for part in range(4):
        ok(record(signed, tmp_path, later[part * 4 : part * 4 + 4], service_key))
    other = new_key(tmp_path, "other")
    assert other.exists()
    result = failed(verify(signed, "--head-public-key", tmp_path / "other.pub"))
    assert len(result) == 2 + 1 + 5 + 1
    assert all(
        line.endswith(" not by a key given (" + fingerprint_of(tmp_path / "other.pub") + ")")
        for line in result[3:8]
    )
    assert result[8] == "  and 2 more"
    report = data_of(
        verify(signed, "--head-public-key", tmp_path / "other.pub", "--format", "json").stdout
    )
    assert len(report["head"]["problems"]) == 7 and report["head"]["more_problems"] == 0


def fingerprint_of(public: Path) -> str:
    return fingerprint(read_public_key(public))


# --- recording without a key, then with one ----------------------------------------------------


def test_recording_without_a_key_then_with_one_and_never_again_without(
    db: str, tmp_path: Path, service_key: Path
) -> None:
    record_three_commits(db, tmp_path, [None, None, service_key])
    with direct(db) as tables:
        heads, before = tables.heads(), len(tables.events())
    assert len(heads) == 1 and heads[0].events == EVENTS - SPLIT - 14
    result = ok(verify(db, "--head-public-key", tmp_path / "service.pub"))
    assert result.stdout.splitlines()[2:] == [
        signed_line(heads, EVENTS),
        f"  the first {SPLIT + 14} events were recorded before signing began: the first "
        "signature vouches for them",
    ]
    refused = record(db, tmp_path, demo_lines(LATER), None)
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: CARELEDGER_HEAD_KEY_FILE: this ledger's head is signed, so it records only "
        "with the head key; nothing recorded\n"
    )
    with direct(db) as tables:
        assert len(tables.events()) == before and tables.heads() == heads


def test_head_key_never_overwrites_a_key(tmp_path: Path, service_key: Path) -> None:
    before = service_key.read_bytes()
    refused = run("head-key", service_key)
    assert refused.exit_code == 1
    assert refused.stderr == f"error: PATH: '{service_key}' exists; a key is never overwritten\n"
    assert service_key.read_bytes() == before
    assert service_key.stat().st_mode & 0o777 == 0o600


def test_a_head_key_readable_by_others_is_refused_and_nothing_recorded(
    sqlite_db: str, tmp_path: Path, service_key: Path
) -> None:
    ok(run("init", "--db", sqlite_db))
    service_key.chmod(0o644)
    refused = record(sqlite_db, tmp_path, demo_lines(SECOND), service_key)
    assert refused.exit_code == 1
    assert refused.stderr == (
        f"error: CARELEDGER_HEAD_KEY_FILE: '{service_key}' is readable by others (mode 644); "
        "make it owner-only (chmod 600)\n"
    )
    with direct(sqlite_db) as tables:
        assert tables.events() == [] and tables.heads() == []


# --- the heads table is append-only ---------------------------------------------------------------


def test_update_and_delete_of_a_signed_head_are_refused(tables: Direct) -> None:
    heads = tables.heads()
    for statement_, action in (
        ("UPDATE {0} SET events = events + 1", "UPDATE"),
        ("DELETE FROM {0}", "DELETE"),
    ):
        with pytest.raises(tables.refused) as error:
            tables.run(statement_.format(tables.heads_table))
        assert str(error.value).splitlines()[0] == refusal(tables, action, tables.heads_table)
    if tables.kind == "postgres":
        with pytest.raises(tables.refused) as error:
            tables.run(f"TRUNCATE {tables.heads_table}")
        assert str(error.value).splitlines()[0] == refusal(tables, "TRUNCATE", tables.heads_table)
    assert tables.heads() == heads


def test_a_ledger_made_before_the_heads_table_is_signed_only_after_init_again(
    db: str, tmp_path: Path, service_key: Path
) -> None:
    ok(run("init", "--db", db))
    with direct(db) as tables:
        tables.run(f"DROP TABLE {tables.heads_table}")
    refused = record(db, tmp_path, demo_lines(SECOND), service_key)
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: CARELEDGER_HEAD_KEY_FILE: this ledger has no table of signed heads; run "
        "'careledger init' (safe to repeat) to add it; nothing recorded\n"
    )
    with direct(db) as tables:
        assert tables.events() == [] and tables.links() == []
    ok(record(db, tmp_path, demo_lines(SECOND), None))
    assert "warning: the head is not signed" in ok(verify(db)).stderr
    ok(run("init", "--db", db))
    ok(record(db, tmp_path, demo_lines(FIRST), service_key))
    with direct(db) as tables:
        heads, links = tables.heads(), tables.links()
    assert [(h.first, h.position) for h in heads] == [
        (links[13].notification_id, links[-1].notification_id)
    ]
    result = ok(verify(db, "--head-public-key", tmp_path / "service.pub"))
    assert result.stdout.splitlines()[2:] == [
        signed_line(heads, len(links)),
        "  the first 13 events were recorded before signing began: the first signature "
        "vouches for them",
    ]
