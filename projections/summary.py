"""The headline facts of a case, for listings: looked after since when, legal status, IRO."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.plan import Effective
from careledger.ledger.ssda903.records import from_a_return
from careledger.projections.withdrawn import withdrawn


@dataclass(frozen=True)
class CaseSummary:
    looked_after_since: date | None
    looked_after: bool
    legal_status: str | None
    iro: str | None


NOTHING_YET = CaseSummary(None, False, None, None)


def summarise(payloads: Effective) -> CaseSummary:
    """The headline facts, from a case's corrected payloads (see `ledger.domain.plan.effective`)."""
    ordered = sorted(payloads.items(), key=lambda i: (i[1][0].occurred_on, i[0]))
    in_order = [(seq, payload) for seq, (payload, _) in ordered]
    taken_back = withdrawn(in_order)
    return summarised(NOTHING_YET, (payload for seq, payload in in_order if seq not in taken_back))


def summarised(summary: CaseSummary, payloads: Iterable[p.Payload]) -> CaseSummary:
    """`summary` with later payloads taken in, in date order (none a return took back): what
    `summarise` gives for a case whose earlier payloads gave `summary`."""
    since, looked_after = summary.looked_after_since, summary.looked_after
    legal_status, iro = summary.legal_status, summary.iro
    for payload in payloads:
        if isinstance(payload, p.ChildBecameLookedAfter):
            since = since or payload.occurred_on
            looked_after = True
            legal_status = str(payload.legal_status)
        elif isinstance(payload, p.ChildCeasedToBeLookedAfter):
            looked_after = False
        elif isinstance(payload, p.LegalStatusChanged | p.PlacementChanged):
            if since is None and payload.episode is not None:
                # A return's first episode continues care: the child was already looked after
                # (see projections.followup, the continuing period).
                since, looked_after = payload.occurred_on, True
            if payload.legal_status is not None:
                legal_status = str(payload.legal_status)
        elif isinstance(payload, p.ReviewHeld) and since is None and from_a_return(payload.source):
            since, looked_after = payload.occurred_on, True  # as above: already in care
        elif isinstance(payload, p.IROAllocated):
            iro = payload.iro_name
    return CaseSummary(since, looked_after, legal_status, iro)
