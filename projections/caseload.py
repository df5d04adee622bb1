"""An IRO's caseload: the children looked after whose IRO they are now (Children Act 1989
s.25A: each looked-after child has one IRO, who must be told of every significant change to
the child's plan). Read from the allocations as the ledger knows them today."""

from __future__ import annotations

from datetime import date

from careledger.projections.followup import FOREVER
from careledger.projections.queries import Child
from careledger.projections.views import CaseViews


def caseload(views: CaseViews, iro: str, on: date) -> list[Child]:
    """The looked-after children whose latest IRO allocation in force on `on` names `iro`
    (the person id an `IROAllocated` records, which is the IRO's sign-in name). A child
    allocated to someone else since is no longer theirs."""
    rows = views.fetch(
        "SELECT c.council, c.child_ref, a.case_id, a.person_id, a.from_on, a.number "
        "FROM {s}cl_allocations a JOIN {s}cl_cases c ON c.case_id = a.case_id "
        "WHERE a.kind = 'iro' AND a.known_until = ? AND a.from_on <= ? AND c.looked_after = 1 "
        "AND a.case_id IN (SELECT case_id FROM {s}cl_allocations "
        "WHERE kind = 'iro' AND person_id = ? AND known_until = ?)",
        (FOREVER, on.isoformat(), iro, FOREVER),
    )
    latest: dict[str, dict[str, object]] = {}
    for row in rows:
        held = latest.get(row["case_id"])
        if held is None or (row["from_on"], row["number"]) > (held["from_on"], held["number"]):
            latest[row["case_id"]] = row
    children = [
        Child(str(row["council"]), str(row["child_ref"]))
        for row in latest.values()
        if row["person_id"] == iro
    ]
    # Sorted here, not by the database: collations differ between SQLite and PostgreSQL.
    return sorted(children, key=lambda child: (child.council, child.child_ref))
