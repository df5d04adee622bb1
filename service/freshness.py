"""Reads never write: they answer from the projections as they stand at the read URL, and
each answer says how far behind the ledger they are (`X-Careledger-Lag`, in events not yet
applied, `Opened.lag()`). The projections are kept current where events are recorded: by
`careledger project --follow`, or, when the service catches up itself (CARELEDGER_CATCH_UP,
the single-server default), by the request that recorded them, before it answers, so that a
read that follows sees them."""

from __future__ import annotations

from careledger.service.state import ServiceState


def caught_up_after_recording(state: ServiceState) -> None:
    """Catch the projections up on the ledger's own store, one thread of this worker at a
    time (others wait, then find nothing to do); nothing when the projector does it."""
    if not state.ledger.catches_up:
        return
    with state.catching_up:
        state.ledger.catch_up_after_recording()


def lag_header(state: ServiceState) -> str:
    return str(state.reader.lag().events)
