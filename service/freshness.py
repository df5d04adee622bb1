"""Reads never write: they answer from the projections as they stand at the read URL, and
each answer says how far behind the ledger they are (`X-Careledger-Lag`, in events not yet
applied, `Opened.lag()`). The projections are kept current where events are recorded: by
`careledger project --follow`, or, when the service catches up itself (CARELEDGER_CATCH_UP,
the single-server default), by the request that recorded them, before it answers, so that a
read that follows sees them."""

from __future__ import annotations

from careledger.service.state import ServiceState


def caught_up_after_recording(state: ServiceState) -> None:
    """Catch the projections up on the ledger's own store through the log position the
    request's events reached, one thread of this worker at a time; nothing when the
    projector does it.

    A request whose events an earlier catch-up of this worker already applied answers at
    once. Otherwise the thread applies every event recorded so far, for the requests
    recorded beside its own: under load one catch-up serves many requests, not each its own
    few events (every catch-up costs a dozen statements, whatever it applies)."""
    if not state.ledger.catches_up:
        return
    recorded_to = state.ledger.recorded_to()  # this request's events are committed
    if state.caught_up_to >= recorded_to:
        return
    with state.catching_up:
        if state.caught_up_to >= recorded_to:
            return
        newest = state.ledger.recorded_to()
        if state.ledger.catch_up_after_recording(through=newest):
            state.caught_up_to = newest


def lag_header(state: ServiceState) -> str:
    return str(state.reader.lag().events)
