"""`Idempotency-Key`: a client that retries a POST (its connection dropped before the answer
came) records its events once. The key is kept per principal in the store, with a digest of
the request's body: the same key with the same body is answered as the first time; with
another body it is refused, since the client has mixed up two requests.

The key and its answer are kept in the very transaction that records the events
(`ledger.store.alongside`): they are stored together or not at all. A refused request (nothing
recorded) keeps no key; a worker that stops mid-request leaves neither events nor key, and
the retry records them. Two requests with the same key race to that transaction: the table's
unique key lets one keep it; the other's events are rolled back and it is answered as the
first was. A retry is not looked up before recording (that would cost every keyed request a
round trip to the store): it meets its earlier self as a refusal by the ledger (its events are
there already) or by the key's table, and is then answered from the key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from careledger.ledger.store.alongside import Alongside
from careledger.service.problems import Problem
from careledger.service.tables import ServiceTables

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
TABLE = "careledger_idempotency"


@dataclass(frozen=True)
class Replay:
    """The answer a completed request with the same key and body was given."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class KeyedRequest:
    """A request sent with a key: who sent it (keys are kept per principal), the key, and
    the digest of its media type and body."""

    principal: str
    key: str
    digest: str

    @classmethod
    def of(cls, principal: str, key: str, body: bytes) -> KeyedRequest:
        check_key(key)
        return cls(principal, key, hashlib.sha256(body).hexdigest())

    def answered(self, status: int, answer: dict[str, Any]) -> Alongside:
        """The key's row with its answer, to keep in the events' transaction."""
        now = datetime.now(UTC).isoformat()
        return Alongside(
            TABLE, (self.principal, self.key, self.digest, status, json.dumps(answer), now)
        )


class IdempotencyKeys:
    def __init__(self, tables: ServiceTables) -> None:
        self.tables = tables

    def answered_before(self, request: KeyedRequest) -> Replay | None:
        """The answer kept for this key, if it was used before: a Replay for the same body;
        refused (a problem naming the header) for another body, or for a key a worker of an
        earlier version reserved and never completed."""
        rows = self.tables.fetch(
            "SELECT body_digest, status, response FROM {s}careledger_idempotency "
            "WHERE principal = ? AND idempotency_key = ?",
            (request.principal, request.key),
        )
        if not rows:
            return None
        first = rows[0]
        if first["body_digest"] != request.digest:
            raise Problem(
                422, "Unprocessable Content",
                "this key was used before with another request body; use a new key for a "
                "new request", HEADER,
            )  # fmt: skip
        if first["status"] is None:
            raise Problem(
                409, "Conflict",
                "a request with this key did not finish (its worker stopped while recording): "
                "look at the child's history before sending it again", HEADER,
            )  # fmt: skip
        return Replay(int(first["status"]), json.loads(first["response"]))


def check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Problem(
            400, "Bad Request",
            f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters", HEADER,
        )  # fmt: skip
