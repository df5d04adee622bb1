"""Who is acting: a person signed in (a local account, or through the council's identity
provider) or a system presenting an API token. The principal is made by `careledger.access`
from what sign-in proved, never from what a request says, so `recorded_by` is who signed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Principal:
    name: str  # who: becomes recorded_by.actor_id when recording
    role: str  # one of `careledger.access.policy.ROLES`
    councils: frozenset[str]  # councils it belongs to (an inspector: those it inspects)
    court: str | None = None  # a court clerk's court
    kind: Literal["person", "system"] = "person"
