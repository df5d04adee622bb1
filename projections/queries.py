"""What the reports ask of the case views. Every answer comes from projection tables; the plan
on a past date is folded from the case's projected events, never replayed from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from careledger.ledger.domain.identity import case_id
from careledger.ledger.domain.plan import plan_as_of
from careledger.ledger.errors import CaseNotFound
from careledger.projections.describe import describe
from careledger.projections.rules import FlagKind
from careledger.projections.views import CaseViews, Row, entries_from


@dataclass(frozen=True)
class Child:
    council: str
    child_ref: str

    @property
    def case_id(self) -> UUID:
        return case_id(self.council, self.child_ref)


def require_case(views: CaseViews, child: Child) -> Row:
    rows = views.fetch("SELECT * FROM {s}cl_cases WHERE case_id=?", (str(child.case_id),))
    if not rows:
        raise CaseNotFound(child.council, child.child_ref)
    return rows[0]


def child_of_case(views: CaseViews, case_hex: str) -> Child | None:
    """The child whose case id is `case_hex` (32 hex digits, as a chronology's stamp names
    it), if the views know the case."""
    rows = views.fetch(
        "SELECT council, child_ref FROM {s}cl_cases WHERE case_id=?", (str(UUID(case_hex)),)
    )
    return Child(rows[0]["council"], rows[0]["child_ref"]) if rows else None


def cases(views: CaseViews) -> list[Row]:
    # Sorted here, not by the database: collations differ between SQLite and PostgreSQL.
    rows = views.fetch("SELECT * FROM {s}cl_cases")
    return sorted(rows, key=lambda r: (r["council"], r["child_ref"]))


def plan(
    views: CaseViews, child: Child, on: date | None = None, recorded_on: datetime | None = None
) -> list[Row]:
    """The plan in force on `on`, as the ledger knew it on `recorded_on` (both default: now)."""
    require_case(views, child)
    if on is None and recorded_on is None:
        rows = views.fetch(
            "SELECT * FROM {s}cl_current_plan WHERE case_id=? ORDER BY section",
            (str(child.case_id),),
        )
        return [_plan_row(r) for r in rows]
    sections = plan_as_of(entries_from(views.case_rows(child.case_id)), on, recorded_on)
    return [
        {
            "section": str(s.section),
            "content": s.content,
            "since": s.since.isoformat(),
            "decided_by": f"{s.decided_by.name} ({s.decided_by.role})",
            "authority": s.authority,
            "event": s.seq,
            "corrected_by": ",".join(map(str, s.corrected_by)),
        }
        for s in sections.values()
    ]


def _plan_row(row: Row) -> Row:
    return {
        "section": row["section"],
        "content": row["content"],
        "since": row["since"],
        "decided_by": f"{row['decided_by']} ({row['decided_role']})",
        "authority": row["authority"],
        "event": row["seq"],
        "corrected_by": row["corrected_by"],
    }


def history(views: CaseViews, child: Child) -> list[Row]:
    """Every event of the case in the order recorded, with what it changed and any later
    correction of it: nothing is hidden, a corrected event is shown with its correction."""
    require_case(views, child)
    rows = views.case_rows(child.case_id)
    entries = {entry.seq: entry for entry in entries_from(rows)}
    corrected_by: dict[int, list[int]] = {}
    for entry in entries.values():
        target = getattr(entry.payload, "corrects_seq", None)
        if target is not None:
            corrected_by.setdefault(target, []).append(entry.seq)
    result = []
    for row in rows:
        found = entries.get(row["seq"])
        what = describe(found.payload) if found else "case opened"
        result.append(
            {
                "event": row["seq"],
                "type": row["event_type"],
                "occurred_on": row["occurred_on"],
                "recorded_at": row["recorded_at"],
                "recorded_by": f"{row['recorded_by']} ({row['recorded_role']})",
                "source": row["source"],
                "what": what,
                "corrected_by": ",".join(map(str, corrected_by.get(row["seq"], []))),
            }
        )
    return result


def unapproved(views: CaseViews, child: Child | None = None) -> list[Row]:
    where, params = ("WHERE case_id=?", (str(child.case_id),)) if child else ("", ())
    if child:
        require_case(views, child)
    rows = views.fetch("SELECT * FROM {s}cl_unapproved " + where, params)
    if child is None:  # both texts of a change are for the child's page, not the listing
        rows = [row for row in rows if row["kind"] != FlagKind.CONTENT_DIFFERS]
    rows.sort(key=lambda r: (r["council"], r["child_ref"], r["occurred_on"], r["seq"], r["kind"]))
    return [
        {
            "council": r["council"],
            "child": r["child_ref"],
            "event": r["seq"],
            "section": r["section"],
            "occurred_on": r["occurred_on"],
            "decided_by": (
                f"{r['decided_by']} ({r['decided_role']})" if r["decided_by"] else "not recorded"
            ),
            "kind": r["kind"],
            "why": r["why"],
            "rule": r["rule"],
        }
        for r in rows
    ]


def jsonable(rows: list[Row]) -> list[dict[str, Any]]:
    return [dict(r) for r in rows]
