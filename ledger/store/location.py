"""Where the ledger is kept: a SQLite file (the default) or a PostgreSQL database, chosen by a
single location string, turned here into the library's persistence settings."""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse, urlsplit, urlunsplit

from careledger.ledger.errors import LedgerError

RECORDERS = "careledger.ledger.store.recorders"
DEFAULT_DB = "./careledger.db"


@dataclass(frozen=True)
class Store:
    location: str  # as it may be shown: a URL's password masked
    env: dict[str, str]
    head_key_file: str | None = None  # signs the log's head at each commit (integrity.heads)
    head_log: str | None = None  # a copy of the signed heads outside the database

    @property
    def is_postgres(self) -> bool:
        return self.env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"


def store_for(
    location: str | None,
    *,
    create_tables: bool = False,
    cipher_key: str | None = None,
    cipher_key_file: str | None = None,
    head_key_file: str | None = None,
    head_log: str | None = None,
) -> Store:
    """`location` is a SQLite file path or a `postgresql://user[:pw]@host[:port]/db[?schema=s]`
    URL. Tables are created only when asked (`careledger init`): concurrent DDL at start-up
    races on PostgreSQL. The key and files come from the settings (`careledger.api`)."""
    location = location or DEFAULT_DB
    heads = {"head_key_file": head_key_file, "head_log": head_log}
    cipher = cipher_env(cipher_key, cipher_key_file)
    common = {"CREATE_TABLE": "yes" if create_tables else "no"} | cipher
    if location.startswith(("postgresql://", "postgres://")):
        recorder = {"APPLICATION_RECORDER_TOPIC": f"{RECORDERS}:PostgresLedgerRecorder"}
        return Store(masked(location), common | recorder | _postgres_env(location), **heads)
    if "://" in location:
        raise LedgerError(
            f"--db: '{masked(location)}' is neither a SQLite file path nor a postgresql:// URL"
        )
    path = Path(location)
    if path.is_dir():
        raise LedgerError(f"--db: '{location}' is a directory; give the ledger's file in it")
    if not create_tables and not path.exists():
        raise LedgerError(f"--db: no ledger at '{location}'; run 'careledger init' first")
    return Store(
        location,
        common
        | {
            # The library's SQLite, keeping its prepared statements (see the module).
            "PERSISTENCE_MODULE": "careledger.ledger.store.sqlite_persistence:LedgerSQLiteFactory",
            "SQLITE_DBNAME": str(path),
            "APPLICATION_RECORDER_TOPIC": f"{RECORDERS}:SQLiteLedgerRecorder",
        },
        **heads,
    )


def masked(location: str) -> str:
    """The location as it may be printed: a URL's password replaced by ***."""
    try:
        parts = urlsplit(location)
        password = parts.password
    except ValueError:
        return re.sub(r"(://[^/@:]*:)[^/]*@", r"\1***@", location)
    if not password:
        return location
    user, _, host = parts.netloc.rpartition("@")
    netloc = f"{user.partition(':')[0]}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def cipher_env(key: str | None, path: str | None) -> dict[str, str]:
    """Encryption at rest, off unless a key is given: CARELEDGER_CIPHER_KEY (base64
    of a 16, 24 or 32 byte AES key) or CARELEDGER_CIPHER_KEY_FILE (a file holding that). The
    library's cipher (AES-GCM, via `cryptography`) then encrypts every stored event's state;
    the integrity chain hashes the stored bytes, so it verifies without the key."""
    if key and path:
        raise LedgerError(
            "CARELEDGER_CIPHER_KEY and CARELEDGER_CIPHER_KEY_FILE: give one, not both"
        )
    if path:
        try:
            key = Path(path).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise LedgerError(
                f"CARELEDGER_CIPHER_KEY_FILE: cannot read '{path}' ({error})"
            ) from None
    if not key:
        return {}
    try:
        size = len(base64.b64decode(key, validate=True))
    except binascii.Error:
        size = -1
    if size not in (16, 24, 32):
        setting = "CARELEDGER_CIPHER_KEY_FILE" if path else "CARELEDGER_CIPHER_KEY"
        raise LedgerError(f"{setting}: not the base64 of a 16, 24 or 32 byte key")
    return {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher", "CIPHER_KEY": key}


def new_cipher_key() -> str:
    """A new random 32-byte key, base64."""
    return base64.b64encode(os.urandom(32)).decode()


def _postgres_env(url: str) -> dict[str, str]:
    parts = urlparse(url)
    dbname = parts.path.lstrip("/")
    if not dbname or not parts.hostname:
        raise LedgerError(f"--db: '{masked(url)}' needs a host and a database name")
    schema = parse_qs(parts.query).get("schema", ["public"])[0]
    try:
        port = parts.port or 5432
    except ValueError:
        raise LedgerError(f"--db: '{masked(url)}' has a port that is not a number") from None
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # The library's stored-function insert would bypass the integrity chain.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }
