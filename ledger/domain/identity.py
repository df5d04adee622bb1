"""A child's case is identified by the council's code and the council's own child reference."""

from __future__ import annotations

from functools import lru_cache
from uuid import UUID, uuid5

# Fixed for all time: changing it would give every case a new id.
CASE_NAMESPACE = UUID("6f1c0e1e-3b0f-5a52-9a57-0c8a2f6d1c11")


def uncached_case_id(council: str, child_ref: str) -> UUID:
    """The same (council, child) pair always maps to the same case; two councils never
    collide, because the council's code is part of the name hashed."""
    return uuid5(CASE_NAMESPACE, f"{council.strip().upper()}\x1f{child_ref.strip()}")


# A bulk record asks for each child's id once per event; an import, which meets each child
# once, uses `uncached_case_id` so that its memory does not grow with the return.
case_id = lru_cache(maxsize=100_000)(uncached_case_id)
