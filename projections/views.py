"""The case views: the library's tracking recorders, extended with the projection tables.

A batch of events and the tracking position of its last event are written in one
transaction, so each event is applied exactly once: a batch that was already applied fails
on the tracking row (the library raises IntegrityError) and rolls back whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL

from ledger import events as e
from ledger import payloads as p
from ledger.plan import Entry, plan_as_of
from projections import schema
from projections.rules import DEFAULT_PRESUMED_SIGNIFICANT, judge
from projections.summary import summarise

Row = dict[str, Any]


def event_row(event: e.CaseEvent) -> tuple[Any, ...]:
    if isinstance(event, e.CaseOpened):
        kind, body = (
            "CaseOpened",
            json.dumps({"council": event.council, "child_ref": event.child_ref}),
        )
    else:
        kind = type(event).__name__
        body = event.model_dump_json(include=e.payload_fields(event))
    return (
        str(event.originator_id),
        event.seq,
        kind,
        event.occurred_on.isoformat(),
        event.recorded_at.isoformat(),
        event.recorded_by.actor_id,
        str(event.recorded_by.role),
        event.source,
        body,
    )


def entries_from(rows: Iterable[Row]) -> list[Entry]:
    """A case's events from its projection rows, as the plan and the rules read them."""
    entries = []
    for row in rows:
        payload_class = p.PAYLOADS.get(row["event_type"])
        if payload_class is None:
            continue
        payload = payload_class.model_validate_json(row["payload"])
        entries.append(Entry(row["seq"], datetime.fromisoformat(row["recorded_at"]), payload))
    return entries


class CaseViews(TrackingRecorder):
    """SQL shared by both stores; subclasses say how to name tables and mark parameters."""

    datastore: Any
    schema_prefix = ""
    marker = "?"

    presumed_significant = DEFAULT_PRESUMED_SIGNIFICANT

    if TYPE_CHECKING:  # provided by the library's tracking recorders of each store

        def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None: ...

    def q(self, sql: str) -> str:
        return sql.replace("{s}", self.schema_prefix).replace("?", self.marker)

    def view_statements(self) -> list[str]:
        return [self.q(statement) for statement in schema.CREATE]

    def apply_batch(self, events: Sequence[e.CaseEvent], tracking: Tracking) -> None:
        """Apply events (in notification order) and record `tracking`, atomically."""
        with self.datastore.transaction(commit=True) as cursor:
            self._insert_tracking(cursor, tracking)
            if not events:
                return
            cursor.executemany(
                self.q("INSERT INTO {s}cl_events VALUES (?,?,?,?,?,?,?,?,?)"),
                [event_row(event) for event in events],
            )
            by_case: dict[str, list[e.CaseEvent]] = {}
            for event in events:
                by_case.setdefault(str(event.originator_id), []).append(event)
            for case_id, case_events in by_case.items():
                self._refresh_case(cursor, case_id, case_events)

    def _refresh_case(self, cursor: Any, case_id: str, new: list[e.CaseEvent]) -> None:
        """Recompute the case's current plan, flags and summary from its events: those of
        this batch as they are, the earlier ones from the case's rows."""
        first = new[0]
        if isinstance(first, e.CaseOpened):
            council, child_ref = first.council, first.child_ref
            earlier: list[Entry] = []
            cursor.execute(
                self.q("INSERT INTO {s}cl_cases VALUES (?,?,?,NULL,0,NULL,NULL,1)"),
                (case_id, council, child_ref),
            )
        else:
            council, child_ref, earlier = self._earlier(cursor, case_id, first.seq)
        entries = earlier + [
            Entry(event.seq, event.recorded_at, event)
            for event in new
            if not isinstance(event, e.CaseOpened)
        ]
        for table in ("cl_current_plan", "cl_unapproved"):
            cursor.execute(self.q(f"DELETE FROM {{s}}{table} WHERE case_id=?"), (case_id,))
        plan = plan_as_of(entries)
        cursor.executemany(
            self.q("INSERT INTO {s}cl_current_plan VALUES (?,?,?,?,?,?,?,?,?)"),
            [
                (
                    case_id,
                    str(s.section),
                    s.content,
                    s.since.isoformat(),
                    s.decided_by.name,
                    str(s.decided_by.role),
                    s.authority,
                    s.seq,
                    ",".join(map(str, s.corrected_by)),
                )
                for s in plan.values()
            ],
        )
        cursor.executemany(
            self.q("INSERT INTO {s}cl_unapproved VALUES (?,?,?,?,?,?,?,?,?,?,?)"),
            [
                (
                    case_id,
                    f.seq,
                    str(f.kind),
                    council,
                    child_ref,
                    str(f.section),
                    f.occurred_on.isoformat(),
                    f.decided_by.name,
                    str(f.decided_by.role),
                    f.why,
                    f.rule,
                )
                for f in judge(entries, self.presumed_significant)
            ],
        )
        summary = summarise(entries)
        cursor.execute(
            self.q(
                "UPDATE {s}cl_cases SET looked_after_since=?, looked_after=?, legal_status=?, "
                "iro=?, last_seq=? WHERE case_id=?"
            ),
            (
                summary.looked_after_since.isoformat() if summary.looked_after_since else None,
                int(summary.looked_after),
                summary.legal_status,
                summary.iro,
                new[-1].seq,
                case_id,
            ),
        )

    def _earlier(self, cursor: Any, case_id: str, before: int) -> tuple[str, str, list[Entry]]:
        cursor.execute(
            self.q("SELECT council, child_ref FROM {s}cl_cases WHERE case_id=?"), (case_id,)
        )
        case = cursor.fetchone()
        cursor.execute(
            self.q("SELECT * FROM {s}cl_events WHERE case_id=? AND seq<? ORDER BY seq"),
            (case_id, before),
        )
        return case["council"], case["child_ref"], entries_from(cursor.fetchall())

    def reset(self, application_name: str) -> None:
        """Empty every projection table and forget the tracking position, atomically, so the
        next catch-up rebuilds from the first event."""
        with self.datastore.transaction(commit=True) as cursor:
            for table in schema.TABLES:
                cursor.execute(self.q(f"DELETE FROM {{s}}{table}"))
            cursor.execute(
                self.q(f"DELETE FROM {self.tracking_table} WHERE application_name=?"),
                (application_name,),
            )

    @property
    def tracking_table(self) -> str:
        raise NotImplementedError

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self.q(sql), params)
            return [dict(row) for row in cursor.fetchall()]

    def case_rows(self, case_id: UUID) -> list[Row]:
        return self.fetch(
            "SELECT * FROM {s}cl_events WHERE case_id=? ORDER BY seq", (str(case_id),)
        )


class SQLiteCaseViews(CaseViews, SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + self.view_statements()

    @property
    def tracking_table(self) -> str:
        return "tracking"


class PostgresCaseViews(CaseViews, PostgresTrackingRecorder):
    marker = "%s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema_prefix = f'"{self.datastore.schema}".'
        self.sql_create_statements.extend(SQL(s) for s in self.view_statements())  # type: ignore[misc]

    @property
    def tracking_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'
