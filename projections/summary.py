"""The headline facts of a case, for listings: looked after since when, legal status, IRO."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ledger import payloads as p
from ledger.plan import Effective


@dataclass(frozen=True)
class CaseSummary:
    looked_after_since: date | None
    looked_after: bool
    legal_status: str | None
    iro: str | None


def summarise(payloads: Effective) -> CaseSummary:
    """The headline facts, from a case's corrected payloads (see `ledger.plan.effective`)."""
    since: date | None = None
    looked_after = False
    legal_status: str | None = None
    iro: str | None = None
    ordered = sorted(payloads.items(), key=lambda i: (i[1][0].occurred_on, i[0]))
    for _, (payload, _) in ordered:
        if isinstance(payload, p.ChildBecameLookedAfter):
            since = since or payload.occurred_on
            looked_after = True
            legal_status = str(payload.legal_status)
        elif isinstance(payload, p.ChildCeasedToBeLookedAfter):
            looked_after = False
        elif isinstance(payload, p.LegalStatusChanged):
            legal_status = str(payload.legal_status)
        elif isinstance(payload, p.IROAllocated):
            iro = payload.iro_name
    return CaseSummary(since, looked_after, legal_status, iro)
