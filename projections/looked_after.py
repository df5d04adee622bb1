"""The spans of dates on which a child was looked after, as the case's latest records have
them: each span in one period of care and with one IRO (or none recorded), so that the drift
report's trend reads them from the projection instead of working them out from every
period and allocation at each request.

A date is in a span exactly when the report on that date, of everything recorded, finds the
child looked after in the span's period of care with the span's IRO (`projections.drift.
children`): from the day the latest records all hold (`Standing.settled_on`) the child's
standing, until the day its open period ends (`Standing.period_until`); before that day, the
latest numbered period of care holding the date (begun by then, not yet ended), and the IRO
allocation starting last by then (the last recorded, on the same day)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import NamedTuple

from careledger.projections.followup import FOREVER, Allocation, Standing, Version


class Span(NamedTuple):
    """Dates from `from_on` up to the day before `until_on` (ISO; FOREVER: no end yet)."""

    from_on: str
    until_on: str
    period_no: int
    iro: str | None


def spans(latest: Version, now: Standing) -> list[Span]:
    """The child's spans looked after, in date order; adjacent spans of the same period and
    IRO are one."""
    found = [*_before_settled(latest, now)]
    until = now.period_until or FOREVER
    if now.period is not None and now.settled_on < until:
        found.append(Span(now.settled_on, until, now.period, now.iro))
    return _joined(found)


def _before_settled(latest: Version, now: Standing) -> Iterator[Span]:
    """The spans before the day the latest records all hold: the dates are cut at every
    period's start and end (each end no later than that day), each piece taken by the
    greatest numbered period holding it, and cut again where an IRO's allocation starts."""
    periods = []
    for period in latest.facts.periods:
        start = period.started_on.isoformat()
        end = period.ended_on.isoformat() if period.ended_on else FOREVER
        end = min(end, now.settled_on)
        if start < end:
            periods.append((period.number, start, end))
    bounds = sorted({day for _, start, end in periods for day in (start, end)})
    iros = sorted(
        (a for a in latest.facts.allocations if a.kind == "iro"),
        key=lambda a: (a.from_on, a.number),
    )
    for first, end in pairwise(bounds):
        holding = [number for number, start, stop in periods if start <= first < stop]
        if not holding:
            continue
        cuts = sorted(_between(iros, first, end))
        for piece_first, piece_end in pairwise([first, *cuts, end]):
            yield Span(piece_first, piece_end, max(holding), _iro_on(iros, piece_first))


def _between(iros: list[Allocation], first: str, end: str) -> set[str]:
    """The days strictly after `first` and before `end` on which an allocation starts."""
    return {day for a in iros if first < (day := a.from_on.isoformat()) < end}


def _iro_on(iros: list[Allocation], day: str) -> str | None:
    """The IRO of the allocation starting last by `day` (`iros` in order of start, then
    number): the last one started by then."""
    name = None
    for allocation in iros:
        if allocation.from_on.isoformat() > day:
            break
        name = allocation.name
    return name


def _joined(found: list[Span]) -> list[Span]:
    """Spans that meet, of the same period and IRO, as one."""
    joined: list[Span] = []
    for span in found:
        last = joined[-1] if joined else None
        if last and last.until_on == span.from_on and last[2:] == span[2:]:
            joined[-1] = last._replace(until_on=span.until_on)
        else:
            joined.append(span)
    return joined
