"""The IRO manager's report of challenges (IRO Handbook ch.6): each challenge, of one child,
council or IRO, and only the open ones if asked, as it stood at the end of a day (of what
had been recorded by the end of another: `projections.challenges`); and how
challenges went per IRO and per council. The statistics count every challenge of the child,
council or IRO, open or not: a resolved challenge is what they measure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.challenges import Row, listing, load, statistics_rows
from careledger.projections.queries import Child
from careledger.projections.views import CaseViews


@dataclass(frozen=True)
class ChallengeReport:
    as_of: date
    challenges: list[Row]  # one listing per challenge shown
    per_iro: list[Row]
    per_council: list[Row]
    protocol: DisputeProtocol  # the timescales they were judged by


def challenge_report(
    views: CaseViews,
    as_of: date,
    protocol: DisputeProtocol,
    child: Child | None = None,
    council: str | None = None,
    iro: str | None = None,
    only_open: bool = False,
    as_recorded_on: date | None = None,
) -> ChallengeReport:
    """The report on `as_of`, of what was recorded by the end of `as_recorded_on` (None:
    everything recorded); `iro` is the IRO's name, in any case."""
    found = load(views, as_of, child, as_recorded_on)
    if iro is not None:
        found = [state for state in found if state.iro.casefold() == iro.strip().casefold()]
    if council is not None and child is None:
        found = [state for state in found if state.council == council]
    shown = [state for state in found if state.is_open or not only_open]
    return ChallengeReport(
        as_of,
        [listing(state, protocol, as_of) for state in shown],
        statistics_rows(found, protocol, "iro", as_of),
        statistics_rows(found, protocol, "council", as_of),
        protocol,
    )
