"""A copy of the signed heads kept outside the database (CARELEDGER_HEAD_LOG), for the one case
the heads table cannot show: the log's tail deleted together with its signatures. The access
log's signed heads (`careledger.access.log_heads`) are kept in the same file, each line marked
`"log": "access-log"`.

After each commit has been committed, the recording service appends that commit's signed head
to the file, one JSON line. Appended after the commit, never before: a line in the file always
names events that were stored. (A crash between the commit and the write leaves the file one
head behind, which verify reads as an earlier head: nothing is claimed that was not stored.)
`verify --head-log FILE` checks the file's latest head against the log: its signature, and
that the log still reaches it with the same digest.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from careledger.ledger.errors import LedgerError
from careledger.ledger.integrity.heads import SignedHead

SETTING = "CARELEDGER_HEAD_LOG"


class HeadLog:
    """The file, tried at a process's first commit (so a file that cannot be written stops
    the commit, before anything is stored); created owner-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            os.close(self._open())
        except OSError as error:
            raise LedgerError(
                f"{SETTING}: cannot open '{path}' to append ({error}); nothing recorded"
            ) from None

    def _open(self) -> int:
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def append(self, head: SignedHead) -> None:
        self.append_fields(_fields(head), f"the events up to log position {head.position}")

    def append_fields(self, data: dict[str, Any], what: str) -> None:
        """One line, written with a single append, so concurrent writers do not interleave;
        `what` names what the line signs, should it not be written."""
        line = json.dumps(data, separators=(",", ":")) + "\n"
        try:
            descriptor = self._open()
            try:
                os.write(descriptor, line.encode())
            finally:
                os.close(descriptor)
        except OSError as error:
            raise LedgerError(
                f"{SETTING}: {what} are recorded and signed, but '{self.path}' could not be "
                f"written ({error})"
            ) from None


def head_log_at(path: str | None) -> HeadLog | None:
    """The copy the settings name (CARELEDGER_HEAD_LOG), if any."""
    return HeadLog(Path(path)) if path else None


def latest(path: Path, option: str = "--head-log") -> SignedHead | None:
    """The ledger's head at the highest log position in the file (writers may append out of
    order)."""
    found = latest_line(path, None, option)
    try:
        return None if found is None else _head(found)
    except (ValueError, KeyError, TypeError) as error:
        raise LedgerError(
            f"{option}: '{path}' holds a line that is not a signed head ({error})"
        ) from None


def latest_line(path: Path, log: str | None, option: str = "--head-log") -> dict[str, Any] | None:
    """The line at the highest position among those of one log: the ledger's (`log` None:
    lines without a "log" field), or another's kept in the same file (the access log's,
    `careledger.access.log_heads`)."""
    found: dict[str, Any] | None = None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise LedgerError(f"{option}: cannot read '{path}' ({error})") from None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
            position = int(data["position"])
        except (ValueError, KeyError, TypeError) as error:
            raise LedgerError(
                f"{option}: '{path}' line {number} is not a signed head ({error})"
            ) from None
        if data.get("log") == log and (found is None or position > int(found["position"])):
            found = data
    return found


def _fields(head: SignedHead) -> dict[str, Any]:
    return {
        "position": head.position,
        "first_position": head.first,
        "events": head.events,
        "digest": head.digest.hex(),
        "signed_at": head.signed_at,
        "public_key": base64.b64encode(head.public_key).decode(),
        "signature": base64.b64encode(head.signature).decode(),
    }


def _head(data: dict[str, Any]) -> SignedHead:
    return SignedHead(
        int(data["position"]),
        int(data["first_position"]),
        int(data["events"]),
        bytes.fromhex(data["digest"]),
        str(data["signed_at"]),
        base64.b64decode(data["public_key"], validate=True),
        base64.b64decode(data["signature"], validate=True),
    )
