"""Seals and court chronologies made by an earlier careledger still verify, on a SQLite file
and on PostgreSQL; and the digests new ones carry are RFC 8785's, rebuilt here as the README
tells a verifier in another language to rebuild them.

The files in tests/data/earlier_versions were written by careledger before its digests were
RFC 8785's: the chronology of a child (NR-0901, whose social worker is Siân Pritchard and
whose IRO is Zoë Ó Briain) in four forms of version 2, and a seal of version 1 signed by
Siân Pritchard. Python's json.dumps escaped their letters past ASCII, RFC 8785 does not: the
two rules give these rows different digests, so each file verifies only if its own version's
rule is used. The history was recorded with the clock fixed, in one batch: recorded so again
here, it gives the very stored bytes, chain and digests the files name.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from careledger.api import opened, read_seal
from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity import seal as sealing
from careledger.projections.chronology import FORMAT, SECOND_FORMAT, Row, content_digest
from tests.test_integrity import invoke, ok

EARLIER = Path(__file__).resolve().parent / "data" / "earlier_versions"
CHILD = "E10000099:NR-0901"
RECORDED_AT = datetime(2024, 9, 2, 16, 0, tzinfo=UTC)  # as when the files were made


@pytest.fixture
def ledger(db: str) -> str:
    """The child's history, recorded as it was when the earlier files were made."""
    text = (EARLIER / "history.jsonl").read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line]
    with opened(db, create_tables=True) as recording:
        recording.ledger.clock = lambda: RECORDED_AT
        recording.record(lines, actor="lcs-feed", role="SW")
    return db


def canonical(value: object) -> bytes:
    """RFC 8785 for what the seal and the chronology hash (objects with ASCII keys, strings,
    integers, null, lists), written without the rfc8785 package: keys sorted, no
    whitespace, UTF-8, only the escapes JSON requires."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize("form", ["md", "csv", "json", "html"])
def test_a_chronology_exported_before_rfc_8785_still_matches_the_ledger(
    ledger: str, form: str
) -> None:
    verified = ok(invoke("verify-export", "--db", ledger, EARLIER / f"chronology-2.{form}"))
    assert verified.stdout.startswith("MATCHES the ledger\n")
    assert f"unedited: the {form.upper()} file is exactly what the ledger gives" in verified.stdout


def test_the_earlier_exports_digest_is_not_rfc_8785s_so_its_own_rule_is_the_one_used() -> None:
    exported = json.loads((EARLIER / "chronology-2.json").read_text(encoding="utf-8"))
    assert exported["format"] == SECOND_FORMAT
    rows = [Row(**row) for row in exported["rows"]]
    assert content_digest(rows, SECOND_FORMAT) == exported["content_digest"]
    assert content_digest(rows, FORMAT) != exported["content_digest"]


def test_an_edited_row_of_an_earlier_export_is_found(ledger: str, tmp_path: Path) -> None:
    exported = json.loads((EARLIER / "chronology-2.json").read_text(encoding="utf-8"))
    exported["rows"][3]["decided_by"] = "Siân Pritchard (TM)"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(exported, indent=2, ensure_ascii=False) + "\n", "utf-8")
    result = invoke("verify-export", "--db", ledger, edited)
    assert result.exit_code == 3, result.output  # verification failed
    assert "DIFFERENT: the file's rows were edited (first at row 4)" in result.stdout


def test_an_export_naming_a_version_not_yet_made_is_refused(ledger: str, tmp_path: Path) -> None:
    text = (EARLIER / "chronology-2.md").read_text(encoding="utf-8")
    later = tmp_path / "later.md"
    later.write_text(text.replace(f"{SECOND_FORMAT} case=", "careledger-chronology/9 case="))
    result = invoke("verify-export", "--db", ledger, later)
    assert result.exit_code == 1
    assert "careledger-chronology/9, a version of the chronology's forms" in result.output


def test_a_seal_made_before_rfc_8785_still_holds(ledger: str) -> None:
    verified = ok(
        invoke(
            "verify", "--db", ledger, "--seal", EARLIER / "seal-1.json",
            "--public-key", EARLIER / "seal-1.pub",
        )
    )  # fmt: skip
    assert "(6 events, key SHA256:27caa6df7de195677f7271b72a9d435a): holds" in verified.stdout
    seal = read_seal(EARLIER / "seal-1.json", EARLIER / "seal-1.pub")
    assert (seal.format, seal.sealed_by) == (sealing.FIRST_FORMAT, "Siân Pritchard")
    with opened(ledger, check_policy=False) as o:
        assert o.verify(seal=seal).seal_problem is None


@pytest.mark.parametrize(
    ("field", "value"),
    [("sealed_by", "Sian Pritchard"), ("format", sealing.FORMAT), ("events", 7)],
)
def test_an_earlier_seal_with_a_field_changed_does_not_verify(
    tmp_path: Path, field: str, value: object
) -> None:
    """Relabelled as the later version, the same fields are signed in another form: the
    version a seal names is the rule its signature is checked by."""
    data = json.loads((EARLIER / "seal-1.json").read_text(encoding="utf-8"))
    data[field] = value
    changed = tmp_path / "seal.json"
    changed.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(LedgerError, match="does not verify"):
        read_seal(changed)


def test_a_new_seal_signs_the_rfc_8785_form_of_its_fields(ledger: str, tmp_path: Path) -> None:
    key = tmp_path / "council.key"
    sealing.new_key(key)
    at = datetime(2026, 1, 30, 9, 15, tzinfo=UTC)
    with opened(ledger, check_policy=False) as o:
        made = o.seal(key, "Siân Pritchard", sealed_at=at)
    fields = {
        "format": "careledger-seal/2",
        "events": 6,
        "digest": made.digest.hex(),
        "sealed_at": "2026-01-30T09:15:00+00:00",
        "sealed_by": "Siân Pritchard",
    }
    statement = canonical(fields)
    assert "Siân".encode() in statement
    Ed25519PublicKey.from_public_bytes(made.public_key).verify(made.signature, statement)
    written = tmp_path / "seal.json"
    written.write_text(made.to_json(), encoding="utf-8")
    assert read_seal(written).format == sealing.FORMAT


def test_a_new_chronologys_content_digest_is_sha256_of_its_rows_in_rfc_8785(
    ledger: str, tmp_path: Path
) -> None:
    path = tmp_path / "chronology.json"
    ok(invoke("chronology", "--db", ledger, CHILD, "--format", "json", "--out", path))
    made = json.loads(path.read_text(encoding="utf-8"))
    assert made["format"] == "careledger-chronology/3"
    digest = hashlib.sha256(canonical(made["rows"])).hexdigest()
    assert made["content_digest"] == digest
    assert made["stamp"].endswith(f" content={digest}")
    verified = ok(invoke("verify-export", "--db", ledger, path))
    assert verified.stdout.startswith("MATCHES the ledger\n")
