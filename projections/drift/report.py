"""What a drift report is made of: the measures and how they are described, the counts per
group, and the findings (the children, or IROs, behind each count)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.views import Row


class By(StrEnum):
    COUNCIL = "council"
    IRO = "iro"
    TEAM = "team"


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    counts: str  # what one count is, and of what
    rule: str
    status: str  # as docs/rules.md marks the rule


@dataclass(frozen=True)
class Correction:
    """A kind of record the council is to put right, counted in the report's data-quality
    section (`careledger inconsistencies` lists the children)."""

    key: str
    title: str
    rule: str


class Finding(NamedTuple):
    """One row behind a count: a child (or, for caseload, an IRO) and why it counts. (A
    named tuple: a report at 80,000 children builds 100,000 of them, and a frozen
    dataclass takes four times as long to build.)"""

    measure: str
    group: str
    subject: str  # "COUNCIL:REF", or the IRO's name for caseload
    on: str | None  # the date it concerns (due date, review date...)
    days: int | None  # how late, or how many
    detail: str
    weight: int = 1  # how many records it stands for (late records of one child)
    owner: str | None = None  # a recommendation's owner


@dataclass(frozen=True)
class Count:
    measure: str
    group: str
    count: int
    of: int

    @property
    def rate(self) -> float:
        return self.count / self.of if self.of else 0.0


@dataclass
class Report:
    as_of: date
    window_from: date  # the previous 12 months: after this date, up to as_of
    by: By | None
    settings: DriftSettings
    protocol: DisputeProtocol = field(default_factory=DisputeProtocol)
    counts: list[Count] = field(default_factory=list)
    findings: dict[str, list[Finding]] = field(default_factory=dict)
    trend: list[tuple[date, dict[str, Count]]] = field(default_factory=list)
    # Records to put right (TO_PUT_RIGHT): a count per kind and group, `of` unused (0).
    to_put_right: list[Count] = field(default_factory=list)
    # Only what was recorded by the end of this day counts (None: everything recorded).
    as_recorded_on: date | None = None

    def summary(self) -> list[Count]:
        """Every measure's count per group, worst rate first."""
        return sorted(self.counts, key=lambda c: (-c.rate, -c.count, c.measure, c.group))


def worst_first(finding: Finding) -> tuple[int, str, str, str, str]:
    """The order findings are listed in, whichever plan the database chose: the most days
    (late, overdue, or a caseload's children) first, then by group, child and date."""
    return (-(finding.days or 0), finding.group, finding.subject, finding.on or "", finding.detail)


Counted = tuple[list[Count], list[Finding]]  # what a measure gives: counts, and findings


def child(row: Row) -> str:
    return f"{row['council']}:{row['child_ref']}"


def counts(measure: str, numerators: dict[str, int], of: dict[str, int]) -> list[Count]:
    """Each group's count of `of`, in the groups' order."""
    return [Count(measure, grp, numerators.get(grp, 0), n) for grp, n in sorted(of.items())]


def tally(findings: Sequence[Finding]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for finding in findings:
        totals[finding.group] += finding.weight
    return totals
