"""Reads answer from the projections, brought up to date first as the read commands do;
each answer says how far behind the ledger they were (`X-Careledger-Lag`, in events)."""

from __future__ import annotations

from careledger.service.state import ServiceState


def caught_up(state: ServiceState) -> None:
    """Catch up, one thread of this worker at a time (others wait, then find nothing to do);
    a role that may not write the projections answers from them as they are."""
    with state.catching_up:
        state.ledger.catch_up()


def lag_header(state: ServiceState) -> str:
    return str(state.ledger.projector.status().lag)
