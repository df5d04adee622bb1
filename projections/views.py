"""The case views: the library's tracking recorders, extended with the projection tables.

A batch of events and the tracking position of its last event are written in one
transaction, so each event is applied exactly once: a batch that was already applied fails
on the tracking row (the library raises IntegrityError) and rolls back whole.
"""

from __future__ import annotations

import base64
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteTrackingRecorder
from psycopg.sql import SQL, Literal
from pydantic_core import from_json, to_json

from careledger.ledger.domain import events as e
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.plan import Entry
from careledger.ledger.domain.vocabulary import Section
from careledger.ledger.errors import LedgerError
from careledger.ledger.store import trusted
from careledger.ledger.store.mapper import open_sealed
from careledger.projections import guard, schema
from careledger.projections.case_fold import CaseFold, Judging
from careledger.projections.case_view import CaseView, case_view, rows_after
from careledger.projections.rules import DEFAULT_PRESUMED_SIGNIFICANT

Row = dict[str, Any]
# An already-projected case's cl_cases row, its events and, if this process holds them, its
# rows by table and its computation to fold forward (`CaseViews._known_cases`).
Known = tuple[Row, list[Entry], dict[str, list[tuple[Any, ...]]] | None, CaseFold | None]
# A case as this process held it before a batch was folded into it, and its rows then.
Prior = tuple[CaseFold, dict[str, list[tuple[Any, ...]]]]
# A case, its events up to the end of a stretch of the log, how many of them (the last ones)
# are in the stretch, and those ones' payloads as stored, where known (`stored_payload`;
# `CaseViews.apply_histories`).
CaseHistory = tuple[str, list[e.CaseEvent], int, list[str | None]]
CASES_PER_LOAD = 500  # cases computed and written at a time by `apply_histories`
# The tables whose rows are computed from a case's whole history (cl_events is appended to,
# cl_cases upserted).
DERIVED = (
    *schema.FOLLOWUP_TABLES,
    "cl_current_plan",
    "cl_unapproved",
    "cl_children",
    "cl_looked_after",
)


def event_row(event: e.CaseEvent, payload: str | None = None) -> tuple[Any, ...]:
    """The event's row of cl_events: its envelope's columns and its payload as JSON.

    The payload is written by its payload class's own serializer, which writes that class's
    fields of the event in the event's order: the JSON `model_dump_json(include=...)` gave,
    without building the set of names to include for every event. `payload`: that JSON
    already taken from the stored state (`stored_payload`)."""
    if isinstance(event, e.CaseOpened):
        kind, body = (
            "CaseOpened",
            json.dumps({"council": event.council, "child_ref": event.child_ref}),
        )
    else:
        kind = type(event).__name__
        body = payload if payload is not None else _PAYLOAD_JSON[kind](event).decode()
    return (
        _case_text(event.originator_id),
        event.seq,
        kind,
        event.occurred_on.isoformat(),
        event.recorded_at.isoformat(),
        event.recorded_by.actor_id,
        str(event.recorded_by.role),
        event.source,
        body,
    )


_PAYLOAD_JSON = {
    name: payload_class.__pydantic_serializer__.to_json
    for name, payload_class in p.PAYLOADS.items()
}
# Each payload class's fields in order: the keys its events' stored state holds, envelope aside.
_PAYLOAD_FIELDS = {name: tuple(cls.model_fields) for name, cls in p.PAYLOADS.items()}
_ENVELOPE_STATE = frozenset({"originator_id", "originator_version", "recorded_at", "recorded_by"})


def stored_payload(event: e.CaseEvent, state: dict[str, Any] | None) -> str | None:
    """The payload's JSON for cl_events, written from the event's stored state rather than
    from the built event: the same text, since the state was written by the same serializer
    (`PydanticMapper.to_stored_event`), but without walking the model again. Only for a
    state the mapper vouches for as written by the class as it is today (`decoded`) and
    holding exactly the payload's fields, in their order; None otherwise (`event_row` then
    serializes the event)."""
    if state is None or isinstance(event, e.CaseOpened):
        return None
    payload = {key: value for key, value in state.items() if key not in _ENVELOPE_STATE}
    if tuple(payload) != _PAYLOAD_FIELDS.get(type(event).__name__):
        return None
    return to_json(payload).decode()


@lru_cache(maxsize=4096)
def _case_text(case_id: UUID) -> str:
    """A case id as text (`str(UUID)` formats it anew each time; a batch repeats its cases)."""
    return str(case_id)


def entries_from(rows: Iterable[Row]) -> list[Entry]:
    """A case's events from its projection rows, as the plan and the rules read them."""
    entries = []
    for row in rows:
        payload_class = p.PAYLOADS.get(row["event_type"])
        if payload_class is None:
            continue
        # Written from a stored event: built without validating it again (`trusted`).
        payload = trusted.build(payload_class, from_json(row["payload"]))
        entries.append(Entry(row["seq"], datetime.fromisoformat(row["recorded_at"]), payload))
    return entries


def _entries(events: Iterable[e.CaseEvent]) -> list[Entry]:
    return [
        Entry(event.seq, event.recorded_at, event)
        for event in events
        if not isinstance(event, e.CaseOpened)
    ]


def batched(items: Iterable[CaseHistory], size: int) -> Iterator[list[CaseHistory]]:
    """The items in lists of `size` (the last shorter), as they come."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _by_table(
    case_rows: Iterable[dict[str, list[tuple[Any, ...]]]],
) -> dict[str, list[tuple[Any, ...]]]:
    """Cases' rows gathered by table."""
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in DERIVED}
    for found in case_rows:
        for table, table_rows in found.items():
            rows.setdefault(table, []).extend(table_rows)
    return rows


@dataclass
class Folded:
    """A case as this process last projected it: its decoded events up to `last_seq`, its
    computation (`CaseFold`), and the rows it then had in each table (once committed;
    cl_events and cl_cases aside). Kept for the next batch that touches the case, which
    then neither reads nor decodes its events again, nor reads back its rows to see which
    changed, and folds its new events into what was computed when it can."""

    last_seq: int
    entries: list[Entry]
    fold: CaseFold
    rows: dict[str, list[tuple[Any, ...]]] | None = None


def _creates_index(statement: str) -> bool:
    """Whether the statement makes what is best made after a bulk load: a secondary index,
    or a trigger (SQLite's guard: no other writer can write while the load's transaction
    holds the database)."""
    words = statement.lstrip().upper()
    return words.startswith(("CREATE INDEX", "CREATE UNIQUE INDEX", "CREATE TRIGGER"))


def _existing(events: list[e.CaseEvent]) -> bool:
    return not isinstance(events[0], e.CaseOpened)


class CaseViews(TrackingRecorder):
    """SQL shared by both stores; subclasses say how to name tables and mark parameters."""

    datastore: Any
    schema_prefix = ""
    marker = "?"

    presumed_significant = DEFAULT_PRESUMED_SIGNIFICANT
    short_breaks = True
    entries_cache_size = 1_000  # cases whose decoded events are kept between batches
    cipher: Any = None  # the ledger's cipher, when encryption at rest is on
    # Opened for reading: its connections refuse every write, temporary tables included
    # (`ledger.store.read_only`; a hot standby refuses them anyway).
    read_only = False
    report_lanes = 1  # connections a report may read on at once (projections.drift)
    # The drift report's rows found come back as JSON (projections.drift.sql.totals_and_hits):
    # the store's aggregate of JSON arrays (with FILTER: SQLite 3.30+) and its array of values.
    json_agg, json_array = "json_group_array", "json_array"
    ordered_json_agg = False  # ORDER BY inside an aggregate: SQLite 3.44+ only

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cases: OrderedDict[str, Folded] = OrderedDict()

    if TYPE_CHECKING:  # provided by the library's tracking recorders of each store

        def _insert_tracking(self, cursor: Any, tracking: Tracking) -> None: ...

    def q(self, sql: str) -> str:
        return sql.replace("{s}", self.schema_prefix).replace("?", self.marker)

    def start_report(self, cursor: Any, snapshot: str | None) -> str | None:
        """Begin a report's (read-only) transaction; returns the snapshot that the report's
        other lanes are to read, if the store can share one."""
        return None

    def view_statements(self) -> list[str]:
        return [self.q(statement) for statement in schema.CREATE]

    def apply_batch(
        self,
        events: Sequence[e.CaseEvent],
        tracking: Tracking,
        payloads: Sequence[str | None] | None = None,
    ) -> None:
        """Apply events (in notification order) and record `tracking`, atomically;
        `payloads`, if given, are the events' payloads as stored, where known
        (`stored_payload`).

        Each touched case is recomputed once per batch, and each table is read and written
        with a few statements per batch (`_replace_rows`): round trips, not rows, are what a
        batch costs on PostgreSQL.
        The cases are read and judged before the writing transaction opens, so no transaction
        stays idle while Python works (PostgreSQL ends a session idle in a transaction after
        a few seconds). Exactly-once still holds: the tracking row is written first in the
        writing transaction, so a batch applied twice fails there and rolls back whole."""
        by_case: dict[str, list[e.CaseEvent]] = {}
        for event in events:
            by_case.setdefault(str(event.originator_id), []).append(event)
        existing = [c for c, evs in by_case.items() if _existing(evs)]
        with self.datastore.transaction(commit=False) as cursor:
            self._by_key(cursor)
            known = self._known_cases(cursor, existing)
        computed = [self._case_view(case_id, new, known) for case_id, new in by_case.items()]
        views = [view for view, _ in computed]
        case_rows = {view.case_id: self._case_rows(view, prior) for view, prior in computed}
        payloads = payloads if payloads is not None else [None] * len(events)
        event_rows = [
            self._storable(self._sealed(event_row(event, payload)))
            for event, payload in zip(events, payloads, strict=True)
        ]
        with self.datastore.transaction(commit=True) as cursor:
            self._insert_tracking(cursor, tracking)
            self._by_key(cursor)
            cursor.executemany(
                self.q("INSERT INTO {s}cl_policy VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
                list(self.policy().items()),
            )
            if not events:
                return
            self._insert_rows(cursor, "cl_events", event_rows)
            self._write(cursor, views, case_rows, existing, known)
        for view in views:  # what the case's rows now are, once they are committed
            folded = self._cases.get(view.case_id)
            if folded is not None and folded.last_seq == view.last_seq:
                folded.rows = case_rows[view.case_id]

    def apply_histories(
        self,
        histories: Iterable[CaseHistory],
        tracking: Tracking,
        fresh: bool = False,
        progress: Callable[[], None] | None = None,
    ) -> None:
        """Apply a stretch of the log case by case, each case computed once, and record
        `tracking` (its last position), in one transaction.

        `histories` gives each case the stretch touches, in turn, with all its events up to
        the stretch's end and how many of them are in the stretch (the last ones): a case
        seen before is computed afresh from its whole history and its rows replaced. Only a
        few hundred cases are held at once, so memory does not grow with the log.
        `fresh` (a rebuild): the tables are dropped and created empty in the same
        transaction, their secondary indexes (and SQLite's guard triggers) only after every
        row is in (building an index once costs less than keeping it in order row by row),
        and the tracking position
        forgotten; readers see the old views until the new ones are committed.
        `progress` is called after each chunk of cases."""
        with self.datastore.transaction(commit=True) as cursor:
            indexes: list[str] = []
            if fresh:
                indexes = self._recreate(cursor, tracking.application_name)
            else:
                self._insert_tracking(cursor, tracking)
                self._by_key(cursor)
            for chunk in batched(histories, CASES_PER_LOAD):
                self._load(cursor, chunk)
                if progress:
                    progress()
            for statement in indexes:
                cursor.execute(statement)
            if fresh:
                self._analyze(cursor)
            cursor.executemany(
                self.q("INSERT INTO {s}cl_policy VALUES (?, ?) ON CONFLICT (name) DO NOTHING"),
                list(self.policy().items()),
            )
            if fresh:
                self._insert_tracking(cursor, tracking)

    def _analyze(self, cursor: Any) -> None:
        """Statistics for the planner on tables made anew (a store that keeps them)."""

    def _recreate(self, cursor: Any, application_name: str) -> list[str]:
        """Drop and create the tables (without their secondary indexes) and forget the
        tracking position; returns the statements that create the indexes."""
        self._cases.clear()
        for table in (*schema.TABLES, "cl_policy"):
            cursor.execute(self.q(f"DROP TABLE IF EXISTS {{s}}{table}"))
        statements = self.view_statements()
        indexes = [s for s in statements if _creates_index(s)]
        for statement in statements:
            if not _creates_index(statement):
                cursor.execute(statement)
        cursor.execute(
            self.q(f"DELETE FROM {self.tracking_table} WHERE application_name=?"),
            (application_name,),
        )
        return indexes

    def _load(self, cursor: Any, chunk: Sequence[CaseHistory]) -> None:
        """Write a chunk of cases' rows: their new events, and every other row afresh."""
        views = [self._whole_case(case_id, events) for case_id, events, _, _ in chunk]
        rows = self._rows(views)
        rows["cl_cases"] = [self._storable(view.case_row()) for view in views]
        seen = [case_id for case_id, events, new, _ in chunk if new < len(events)]
        if seen:
            among, ids = self._among(seen)
            for table in rows:
                cursor.execute(self.q(f"DELETE FROM {{s}}{table} WHERE case_id {among}"), ids)
            for case_id in seen:
                self._cases.pop(case_id, None)
        rows["cl_events"] = [
            self._storable(self._sealed(event_row(event, payload)))
            for _, case_events, new, payloads in chunk
            if new
            for event, payload in zip(case_events[-new:], payloads, strict=True)
        ]
        for table, found in rows.items():
            if found:
                self._insert_rows(cursor, table, found)

    def _whole_case(self, case_id: str, events: list[e.CaseEvent]) -> CaseView:
        first = events[0]
        if not isinstance(first, e.CaseOpened):
            raise LedgerError(f"case {case_id} has no CaseOpened event: its history is incomplete")
        entries = _entries(events)
        fold = CaseFold.of(entries, self.judging)
        return case_view(case_id, first.council, first.child_ref, events[-1].seq, fold)

    def _known_cases(self, cursor: Any, case_ids: list[str]) -> dict[str, Known]:
        """Each already-projected case's row, its events before this batch and, when this
        process wrote them, its other rows.

        A case's events are read and decoded again only when this process has not already
        got them up to the case's `last_seq`: a log that interleaves many children would
        otherwise decode each child's whole history once per batch."""
        if not case_ids:
            return {}
        among, ids = self._among(case_ids)
        cursor.execute(self.q(f"SELECT * FROM {{s}}cl_cases WHERE case_id {among}"), ids)
        known: dict[str, Known] = {}
        stale: list[str] = []
        for row in cursor.fetchall():
            cached = self._cases.get(row["case_id"])
            if cached is not None and cached.last_seq == row["last_seq"]:
                known[row["case_id"]] = (row, cached.entries, cached.rows, cached.fold)
            else:
                known[row["case_id"]] = (row, [], None, None)
                stale.append(row["case_id"])
        if stale:
            among, ids = self._among(stale)
            cursor.execute(
                self.q(f"SELECT * FROM {{s}}cl_events WHERE case_id {among} ORDER BY seq"), ids
            )
            rows: dict[str, list[Row]] = {case_id: [] for case_id in stale}
            for row in cursor.fetchall():
                rows[row["case_id"]].append(self._opened(dict(row)))
            for case_id, case_rows in rows.items():
                known[case_id] = (known[case_id][0], entries_from(case_rows), None, None)
        return known

    def _remember(self, case_id: str, last_seq: int, entries: list[Entry], fold: CaseFold) -> None:
        """Keep a case's decoded events and computation for the next batch (the least
        recently used cases are forgotten beyond `entries_cache_size`); its rows are added
        once written."""
        self._cases[case_id] = Folded(last_seq, entries, fold)
        self._cases.move_to_end(case_id)
        while len(self._cases) > self.entries_cache_size:
            self._cases.popitem(last=False)

    def _case_view(
        self, case_id: str, new: list[e.CaseEvent], known: dict[str, Known]
    ) -> tuple[CaseView, Prior | None]:
        """The case's plan, flags and summary, from its earlier rows and this batch's events;
        with, when the batch was folded into the case as this process held it, that case
        and its rows (`case_view.rows_after`)."""
        first = new[0]
        before: CaseFold | None = None
        held = None
        if isinstance(first, e.CaseOpened):
            council, child_ref = first.council, first.child_ref
            earlier: list[Entry] = []
        else:
            case, earlier, held, before = known[case_id]
            council, child_ref = case["council"], case["child_ref"]
        later = _entries(new)
        entries = earlier + later
        prior: Prior | None = None
        if before is not None and before.takes(later):
            fold = before.folded(later, self.judging)
            prior = (before, held) if held is not None else None
        else:
            fold = CaseFold.of(entries, self.judging)
        self._remember(case_id, new[-1].seq, entries, fold)  # checked against last_seq when used
        return case_view(case_id, council, child_ref, new[-1].seq, fold), prior

    @property
    def judging(self) -> Judging:
        return Judging(self.presumed_significant, self.short_breaks)

    def _rows(self, views: list[CaseView]) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of these cases, by table: computed before the transaction opens."""
        return _by_table(self._case_rows(view) for view in views)

    def _case_rows(
        self, view: CaseView, prior: Prior | None = None
    ) -> dict[str, list[tuple[Any, ...]]]:
        """The case's rows, by table (cl_events and cl_cases aside), as the store holds them.
        A new projection table of a case's facts belongs here (and in DERIVED): a batch
        (`_write`) and a stretch (`_load`) both write what this returns, and nothing else.
        `prior`: the case as held before a batch folded into it, and its rows then."""
        found = rows_after(view, *prior, self._storable) if prior is not None else None
        if found is None:
            rows = view.followup_rows()
            rows["cl_unapproved"] = view.flag_rows()
            found = {table: [self._storable(row) for row in got] for table, got in rows.items()}
        mine = {
            "cl_current_plan": view.plan_rows(),
            "cl_children": [view.child_row()],
            "cl_looked_after": view.looked_after_rows(),
        }
        return found | {table: [self._storable(row) for row in got] for table, got in mine.items()}

    def _storable(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """The row as the store can hold it (`PostgresCaseViews`: without NUL)."""
        return row

    def _write(
        self,
        cursor: Any,
        views: list[CaseView],
        case_rows: dict[str, dict[str, list[tuple[Any, ...]]]],
        existing: list[str],
        known: dict[str, Known],
    ) -> None:
        """Write the batch's rows; `existing` are the cases projected before this batch (a
        case opened in it has no rows yet to compare with). A case whose rows this process
        wrote last (`Folded.rows`) is compared with those, not read back, and a table whose
        rows a fold kept as they were (the same list) is left alone."""
        written = {case_id: known[case_id][2] for case_id in existing}
        unknown = [case_id for case_id, rows in written.items() if rows is None]
        for table in DERIVED:
            found: list[tuple[Any, ...]] = []
            before: list[tuple[Any, ...]] = []
            for case_id, rows in case_rows.items():
                held = written.get(case_id)
                if held is not None and held[table] is rows[table]:
                    continue
                found += rows[table]
                before += held[table] if held is not None else []
            if found or before or unknown:
                self._replace_rows(cursor, table, unknown, found, before)
        cursor.executemany(
            self.q(
                "INSERT INTO {s}cl_cases VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (case_id) DO UPDATE "
                "SET looked_after_since=excluded.looked_after_since, "
                "looked_after=excluded.looked_after, legal_status=excluded.legal_status, "
                "iro=excluded.iro, last_seq=excluded.last_seq"
            ),
            [self._storable(view.case_row()) for view in views],
        )

    def _replace_rows(
        self,
        cursor: Any,
        table: str,
        case_ids: list[str],
        rows: list[tuple[Any, ...]],
        known: list[tuple[Any, ...]],
    ) -> None:
        """Make `table`'s rows of the batch's cases exactly `rows`, touching only the rows
        that differ: `known` are the rows some of them are known to have, the others'
        (`case_ids`) are read. A new event changes few of a case's rows; deleting and
        inserting them all left nine dead rows for each live one after a rebuild of 80,000
        children (a table ten times its size to scan until a vacuum)."""
        before = list(known)
        if case_ids:
            among, ids = self._among(case_ids)
            cursor.execute(self.q(f"SELECT * FROM {{s}}{table} WHERE case_id {among}"), ids)
            before += [tuple(r.values() if isinstance(r, dict) else r) for r in cursor.fetchall()]
        wanted, had = set(rows), set(before)
        gone = [row for row in before if row not in wanted]
        added = [row for row in rows if row not in had]
        key = schema.KEY_POSITIONS[table]
        if gone:
            where = " AND ".join(f"{schema.COLUMNS[table][i]}=?" for i in key)
            cursor.executemany(
                self.q(f"DELETE FROM {{s}}{table} WHERE {where}"),
                [tuple(row[i] for i in key) for row in gone],
            )
        if added:
            self._insert_rows(cursor, table, added)

    def _among(self, case_ids: list[str]) -> tuple[str, list[Any]]:
        """`case_id` among these: the condition and its parameters."""
        return f"IN ({','.join('?' * len(case_ids))})", case_ids

    def _by_key(self, cursor: Any) -> None:
        """Ready a transaction of `apply_batch`, whose every read is by case id."""

    def _insert_rows(self, cursor: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
        """Append rows to a table, in its columns' order."""
        values = ",".join("?" * len(rows[0]))
        cursor.executemany(self.q(f"INSERT INTO {{s}}{table} VALUES ({values})"), rows)

    def policy(self) -> dict[str, str]:
        """The settings the views are judged under, by the name of their setting."""
        return {
            "presumed_significant": ",".join(sorted(map(str, self.presumed_significant))),
            "short_breaks_timetable": str(self.short_breaks).lower(),
            "views_schema": schema.VERSION,
        }

    def can_write(self) -> bool:
        """Whether this connection may write the views (on SQLite, the projector's always may)."""
        return not self.read_only

    def replayed_to(self) -> datetime | None:
        """On a streaming replica, when the newest transaction it has replayed was committed
        on the primary; None elsewhere (SQLite has no replicas)."""
        return None

    def adopt_policy(self, recorded: dict[str, str]) -> None:
        """Judge under the settings `policy()` recorded (a rebuild to compare with the views)."""
        if "presumed_significant" in recorded:
            names = recorded["presumed_significant"].split(",")
            self.presumed_significant = frozenset(Section(name) for name in names if name)
        if "short_breaks_timetable" in recorded:
            self.short_breaks = recorded["short_breaks_timetable"] == "true"

    def recorded_policy(self) -> dict[str, str]:
        """The settings the views were built under (empty before their first batch)."""
        return {r["name"]: r["value"] for r in self.fetch("SELECT * FROM {s}cl_policy")}

    def check_policy(self) -> None:
        """Refuse to extend views built under other settings, or by another version."""
        built = self.recorded_policy()
        if built and built.get("views_schema") != schema.VERSION:
            raise LedgerError(
                "the projections were built by another version of careledger: run "
                "'careledger projections rebuild'"
            )
        for name, value in self.policy().items():
            if name in built and built[name] != value:
                raise LedgerError(
                    f"CARELEDGER_{name.upper()} is '{value}' but the projections were "
                    f"built with '{built[name]}': run 'careledger projections rebuild'"
                )

    def reset(self, application_name: str) -> None:
        """Drop and recreate every projection table (so a new version's shapes apply) and
        forget the tracking position, atomically: the next catch-up rebuilds from the first
        event."""
        self._cases.clear()
        with self.datastore.transaction(commit=True) as cursor:
            for table in (*schema.TABLES, "cl_policy"):
                cursor.execute(self.q(f"DROP TABLE IF EXISTS {{s}}{table}"))
            for statement in self.view_statements():
                cursor.execute(statement)
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
        rows = self.fetch(
            "SELECT * FROM {s}cl_events WHERE case_id=? ORDER BY seq", (str(case_id),)
        )
        return [self._opened(row) for row in rows]

    def _sealed(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """With encryption at rest on, the projected payload is encrypted with the ledger's
        cipher too (the last column of cl_events)."""
        if self.cipher is None:
            return row
        sealed = base64.b64encode(self.cipher.encrypt(row[-1].encode())).decode()
        return (*row[:-1], sealed)

    def _opened(self, row: Row) -> Row:
        row["payload"] = self.open_payload(row["payload"])
        return row

    def open_payload(self, payload: str) -> str:
        """A projected payload as JSON text, decrypted when encryption at rest is on."""
        if self.cipher is not None or not payload.startswith('{"'):
            data = payload.encode() if payload.startswith('{"') else base64.b64decode(payload)
            return open_sealed(self.cipher, data).decode()
        return payload


class SQLiteCaseViews(CaseViews, SQLiteTrackingRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return super().construct_create_table_statements() + self.view_statements()

    def view_statements(self) -> list[str]:
        """With the triggers that keep every writer but the projector out (`guard`): a
        rebuild drops the tables, and their triggers with them."""
        return super().view_statements() + guard.sqlite_triggers()

    @property
    def tracking_table(self) -> str:
        return "tracking"


class PostgresCaseViews(CaseViews, PostgresTrackingRecorder):
    marker = "%s"
    report_lanes = 2
    json_agg, json_array = "json_agg", "json_build_array"
    ordered_json_agg = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schema_prefix = f'"{self.datastore.schema}".'
        self.sql_create_statements.extend(SQL(s) for s in self.view_statements())  # type: ignore[misc]

    def _analyze(self, cursor: Any) -> None:
        """Tables made anew by a rebuild have no statistics until autovacuum gets to them (a
        minute or more later; never, where it is off), and until then the planner guesses:
        at 80,000 children the drift report's permanence statement, planned as a nested
        loop over the guessed few rows, ran for more than 50 s instead of a quarter of a second.
        PostgreSQL's advice after a bulk load is to ANALYZE: done here, in the rebuild's
        transaction, the new tables are read with their statistics from the moment they
        are committed."""
        for table in schema.TABLES:
            cursor.execute(self.q(f"ANALYZE {{s}}{table}"))

    def _storable(self, row: tuple[Any, ...]) -> tuple[Any, ...]:
        """A PostgreSQL text column cannot hold NUL: each is written as U+FFFD. New input
        with a NUL is refused (`ledger.domain.fields`), but a ledger recorded before that
        was refused may hold one in an event, and its projections must still be written:
        history is never edited, so `careledger projections rebuild` writes them this way."""
        if any(value.__class__ is str and "\x00" in value for value in row):
            return tuple(
                value.replace("\x00", "\ufffd") if value.__class__ is str else value
                for value in row
            )
        return row

    def _among(self, case_ids: list[str]) -> tuple[str, list[Any]]:
        """One array parameter, not one per case: the statement's text is the same for every
        batch, so psycopg parses it once and, once it has been run a few times, has the
        server prepare it."""
        return "= ANY(?)", [case_ids]

    def _by_key(self, cursor: Any) -> None:
        """A batch reads its cases' rows by case id, a few hundred ids at a time. The views'
        tables are rebuilt from empty and have no statistics until they are analysed, and
        the planner then judged such an IN list to match much of a table: it scanned the
        whole table, in each of a batch's dozen reads, at a cost that grows with the ledger.
        The primary keys begin with the case id, so the index is always the better way."""
        cursor.execute("SET LOCAL enable_seqscan = off")

    def _insert_rows(self, cursor: Any, table: str, rows: list[tuple[Any, ...]]) -> None:
        """COPY, not INSERT: psycopg's executemany sends one statement per row (pipelined,
        but each still bound, sent and acknowledged), and a rebuild inserts a dozen rows for
        each event. In the batch's transaction, as the inserts were."""
        with cursor.copy(self.q(f"COPY {{s}}{table} FROM STDIN")) as copy:
            for row in rows:
                copy.write_row(row)

    def view_statements(self) -> list[str]:
        """Text columns compare byte by byte (COLLATE "C"), as SQLite's do. They hold ISO
        dates, codes and ids, which sort alike either way in UTF-8; a server's own collation
        (even C.UTF-8) compares through the C library's strcoll, and the drift report makes
        millions of date comparisons."""
        return [s.replace(" TEXT", ' TEXT COLLATE "C"') for s in super().view_statements()]

    def start_report(self, cursor: Any, snapshot: str | None) -> str | None:
        """Every lane reads the first lane's snapshot (exported by it, imported by the others),
        so a report on several connections sees the views exactly as one transaction would.
        A report aggregates and joins hundreds of thousands of rows: with the server's default
        4 MB of work_mem the planner would sort on disk instead of hashing in memory."""
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if snapshot is not None:
            cursor.execute(SQL("SET TRANSACTION SNAPSHOT {0}").format(Literal(snapshot)))
        cursor.execute("SET LOCAL work_mem = '64MB'")
        # The report analyses its temporary table of children only for the planner's sake (how
        # many, and that each appears once): a sample of 3,000 rows tells it that, and costs
        # far less than the default 30,000 (benchmarks/NOTES.md).
        cursor.execute("SET LOCAL default_statistics_target = 10")
        if snapshot is None:
            cursor.execute("SELECT pg_export_snapshot() AS snapshot")
            snapshot = str(cursor.fetchone()["snapshot"])
        return snapshot

    @property
    def tracking_table(self) -> str:
        return f'"{self.datastore.schema}"."{self.tracking_table_name}"'

    def replayed_to(self) -> datetime | None:
        """A hot standby's last replayed commit (`pg_last_xact_replay_timestamp`); None on a
        primary. An idle primary commits nothing, so on a replica that is current this time
        can be old: the events' count (`projections.lag`) says what the answers lack."""
        rows = self.fetch(
            "SELECT pg_is_in_recovery() AS standby, pg_last_xact_replay_timestamp() AS replayed"
        )
        replayed = rows[0]["replayed"] if rows[0]["standby"] else None
        return replayed if isinstance(replayed, datetime) else None

    def can_write(self) -> bool:
        """Only the projector's role may write the views (`ledger.store.roles`); a batch writes the
        tracking row first. Never on a hot standby, nor when opened for reading."""
        if self.read_only:
            return False
        rows = self.fetch(
            "SELECT has_table_privilege(?, 'INSERT') AND NOT pg_is_in_recovery() AS allowed",
            (self.tracking_table,),
        )
        return bool(rows[0]["allowed"])
