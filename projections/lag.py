"""How far the projections are behind the ledger: what an answer read from them may lack.

Every report is read from the projections, which hold the events up to the newest one they
have applied. When one projector process keeps them current (`careledger project
--follow`), or they are read on a streaming replica, that may be short of the newest event
recorded: an answer says by how much, so that nobody takes a report for the whole record
when a decision made minutes ago is not in it yet (an unapproved change not yet flagged, a
review not yet counted).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from careledger.ledger.application import CareLedger
from careledger.projections.views import CaseViews


@dataclass(frozen=True)
class Lag:
    """`events`: recorded but not yet applied (0: the projections hold every event the
    database they are read from holds); `position` and `newest`: the log positions of the
    newest event applied and of the newest recorded; `projected_to`: when the newest event
    applied was recorded; `behind_since`: when the oldest event not yet applied was recorded
    (None when caught up); `replayed_to`: read on a streaming replica, when the newest
    transaction it has replayed was committed on the primary (None elsewhere)."""

    events: int
    position: int
    newest: int
    projected_to: datetime | None
    behind_since: datetime | None
    replayed_to: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 text."""
        return {
            "events": self.events,
            "position": self.position,
            "newest": self.newest,
            "projected_to": _iso(self.projected_to),
            "behind_since": _iso(self.behind_since),
            "replayed_to": _iso(self.replayed_to),
        }

    def described(self) -> str:
        """One line for a person: nothing behind, or how many events since when."""
        if not self.events:
            return "the projections hold every event recorded"
        since = f", recorded since {_iso(self.behind_since)}" if self.behind_since else ""
        return f"the projections are {self.events} event(s) behind the ledger{since}"


def lag_of(ledger: CareLedger, views: CaseViews) -> Lag:
    """The views' lag, read where they are read (on a replica: against the events the
    replica holds, and the time of its last replayed commit)."""
    position = views.max_tracking_id(ledger.name) or 0
    newest = ledger.recorder.max_notification_id() or 0
    events = ledger.store_recorder.events_after(position) if newest > position else 0
    return Lag(
        events=events,
        position=position,
        newest=newest,
        projected_to=_recorded_at(ledger, position, inclusive=True) if position else None,
        behind_since=_recorded_at(ledger, position, inclusive=False) if events else None,
        replayed_to=views.replayed_to(),
    )


def _recorded_at(ledger: CareLedger, position: int, inclusive: bool) -> datetime | None:
    """When the event at `position` (or the first after it) was recorded."""
    found = ledger.recorder.select_notifications(
        start=position, limit=1, inclusive_of_start=inclusive
    )
    if not found:
        return None
    recorded_at = getattr(ledger.mapper.to_domain_event(found[0]), "recorded_at", None)
    return recorded_at if isinstance(recorded_at, datetime) else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
