"""`Idempotency-Key`: a client that retries a POST (its connection dropped before the answer
came) records its events once. The key is kept per principal in the store, with a digest of
the request's body: the same key with the same body is answered as the first time; with
another body it is refused, since the client has mixed up two requests.

A key is reserved before recording and completed with the answer after it. A request that
is refused (nothing recorded) releases its key; a worker that dies between recording and
completing leaves the key reserved, and a retry is told so rather than recording again."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from careledger.service.problems import Problem
from careledger.service.tables import ServiceTables

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200


@dataclass(frozen=True)
class Replay:
    """The answer a completed request with the same key and body was given."""

    status: int
    body: dict[str, Any]


class IdempotencyKeys:
    def __init__(self, tables: ServiceTables) -> None:
        self.tables = tables

    def reserve(self, principal: str, key: str, body: bytes) -> Replay | None:
        """None: the key is now this request's, to record and `complete`. A Replay: it was
        answered before. Refused (a problem naming the header) when the key came with
        another body, or its first request has not finished."""
        check_key(key)
        digest = hashlib.sha256(body).hexdigest()
        reserved = self.tables.run(
            "INSERT INTO {s}careledger_idempotency VALUES (?, ?, ?, NULL, NULL, ?) "
            "ON CONFLICT (principal, idempotency_key) DO NOTHING",
            (principal, key, digest, datetime.now(UTC).isoformat()),
        )
        if reserved:
            return None
        rows = self.tables.fetch(
            "SELECT body_digest, status, response FROM {s}careledger_idempotency "
            "WHERE principal = ? AND idempotency_key = ?",
            (principal, key),
        )
        if not rows:  # released between the two statements: the first request was refused
            return self.reserve(principal, key, body)
        first = rows[0]
        if first["body_digest"] != digest:
            raise Problem(
                422, "Unprocessable Content",
                "this key was used before with another request body; use a new key for a "
                "new request", HEADER,
            )  # fmt: skip
        if first["status"] is None:
            raise Problem(
                409, "Conflict",
                "a request with this key has not finished (or its worker stopped while "
                "recording): look at the child's history before sending it again", HEADER,
            )  # fmt: skip
        return Replay(int(first["status"]), json.loads(first["response"]))

    def complete(self, principal: str, key: str, status: int, body: dict[str, Any]) -> None:
        self.tables.run(
            "UPDATE {s}careledger_idempotency SET status = ?, response = ? "
            "WHERE principal = ? AND idempotency_key = ?",
            (status, json.dumps(body), principal, key),
        )

    def release(self, principal: str, key: str) -> None:
        self.tables.run(
            "DELETE FROM {s}careledger_idempotency WHERE principal = ? AND idempotency_key = ? "
            "AND status IS NULL",
            (principal, key),
        )


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Problem(
            400, "Bad Request",
            f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters", HEADER,
        )  # fmt: skip
