"""`careledger seal`: a small signed statement of the ledger's digest and event count, to hand
to someone outside the council (a court, an inspector, the IRO service). Later, `careledger
verify --seal FILE` proves the ledger still holds, unchanged, everything it held when sealed.

Signed with Ed25519 (the `cryptography` package). The seal carries its public key; whoever
holds a seal should also hold the council's public key (or its fingerprint, printed with
every seal) from another channel, and pass it to `verify --public-key`, so that a seal forged
with another key is refused.

What is signed (the statement) is the seal's fields `format`, `events`, `digest` (hex),
`sealed_at` (ISO 8601) and `sealed_by` as one JSON object in RFC 8785's canonical form (the
JSON Canonicalization Scheme: keys sorted, no whitespace, strings as UTF-8 with only the
escapes JSON requires), so that a verifier in any language can rebuild the bytes. Seals of
the first version signed Python's `json.dumps(sort_keys=True, separators=(",", ":"))` of the
same fields (every character past ASCII escaped as \\uXXXX); they still verify.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity.verify import SealPoint
from careledger.ledger.private_files import open_private

FIRST_FORMAT = "careledger-seal/1"  # the statement as Python's json.dumps wrote it
FORMAT = "careledger-seal/2"  # the statement in RFC 8785's canonical form
FORMATS = (FIRST_FORMAT, FORMAT)


@dataclass(frozen=True)
class Seal:
    events: int
    digest: bytes
    sealed_at: datetime
    sealed_by: str
    public_key: bytes  # raw Ed25519 public key
    signature: bytes
    format: str = FORMAT  # which version's statement was signed (FORMATS)

    @property
    def point(self) -> SealPoint:
        return SealPoint(self.events, self.digest)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def statement(self) -> bytes:
        return statement(self.events, self.digest, self.sealed_at, self.sealed_by, self.format)

    def to_json(self) -> str:
        data = {
            "format": self.format,
            "events": self.events,
            "digest": self.digest.hex(),
            "sealed_at": self.sealed_at.isoformat(),
            "sealed_by": self.sealed_by,
            "public_key": base64.b64encode(self.public_key).decode(),
            "key_fingerprint": self.fingerprint,
            "signature": base64.b64encode(self.signature).decode(),
        }
        return json.dumps(data, indent=2) + "\n"


def statement(
    events: int, digest: bytes, sealed_at: datetime, sealed_by: str, version: str = FORMAT
) -> bytes:
    """What is signed: the fields, in the canonical form of the seal's version."""
    body: dict[str, str | int] = {
        "format": version,
        "events": events,
        "digest": digest.hex(),
        "sealed_at": sealed_at.isoformat(),
        "sealed_by": sealed_by,
    }
    if version == FIRST_FORMAT:
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return rfc8785.dumps(body)


def fingerprint(public_key: bytes) -> str:
    return "SHA256:" + hashlib.sha256(public_key).hexdigest()[:32]


def new_key(path: Path, setting: str = "PATH", force: bool = False) -> bytes:
    """Write a new private key (PEM, PKCS8, owner-only) and return its raw public key. A key
    is never overwritten; a symbolic link is followed only with `force`."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with open_private(path, setting, force=force, exclusive=True) as file:
        file.write(pem)
    return raw_public_key(key.public_key())


def sign(key_path: Path, events: int, digest: bytes, sealed_at: datetime, by: str) -> Seal:
    key = load_private_key(key_path)
    signature = key.sign(statement(events, digest, sealed_at, by))
    return Seal(events, digest, sealed_at, by, raw_public_key(key.public_key()), signature)


def read_seal(path: Path, expected_key: bytes | None = None) -> Seal:
    """A seal from its file, its signature checked (against `expected_key` if given)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") not in FORMATS:
            raise ValueError(f"not a careledger seal ({' or '.join(FORMATS)})")
        seal = Seal(
            int(data["events"]),
            bytes.fromhex(data["digest"]),
            datetime.fromisoformat(data["sealed_at"]),
            str(data["sealed_by"]),
            base64.b64decode(data["public_key"]),
            base64.b64decode(data["signature"]),
            data["format"],
        )
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LedgerError(f"--seal: '{path}' is not a readable seal ({error})") from None
    if expected_key is not None and expected_key != seal.public_key:
        raise LedgerError(
            f"--seal: signed with key {seal.fingerprint}, not the expected "
            f"{fingerprint(expected_key)}"
        )
    try:
        Ed25519PublicKey.from_public_bytes(seal.public_key).verify(seal.signature, seal.statement())
    except (InvalidSignature, ValueError):
        raise LedgerError(f"--seal: the signature of '{path}' does not verify") from None
    return seal


def read_public_key(path: Path, setting: str = "--public-key") -> bytes:
    """A public key from a PEM file, or the public half of a private key file."""
    try:
        data = path.read_bytes()
        if b"PRIVATE KEY" in data:
            return raw_public_key(load_private_key(path, setting).public_key())
        key = serialization.load_pem_public_key(data)
    except (OSError, ValueError) as error:
        raise LedgerError(f"{setting}: '{path}' is not a readable key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LedgerError(f"{setting}: '{path}' is not an Ed25519 key")
    return raw_public_key(key)


def public_pem(raw: bytes) -> str:
    key = Ed25519PublicKey.from_public_bytes(raw)
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_private_key(path: Path, setting: str = "--key") -> Ed25519PrivateKey:
    """An Ed25519 private key from a PEM file; errors name `setting`, where it was given."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        raise LedgerError(f"{setting}: '{path}' is not a readable private key ({error})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerError(f"{setting}: '{path}' is not an Ed25519 private key")
    return key


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
