"""The projection tables. Plain SQL that SQLite and PostgreSQL both accept; dates are ISO text
so that they sort and compare alike on both."""

from __future__ import annotations

TABLES = ("cl_events", "cl_cases", "cl_current_plan", "cl_unapproved")

CREATE = (
    """CREATE TABLE IF NOT EXISTS {s}cl_events (
        case_id TEXT NOT NULL, seq INTEGER NOT NULL, event_type TEXT NOT NULL,
        occurred_on TEXT NOT NULL, recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL, recorded_role TEXT NOT NULL, source TEXT NOT NULL,
        payload TEXT NOT NULL, PRIMARY KEY (case_id, seq))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_cases (
        case_id TEXT PRIMARY KEY, council TEXT NOT NULL, child_ref TEXT NOT NULL,
        looked_after_since TEXT, looked_after INTEGER NOT NULL, legal_status TEXT,
        iro TEXT, last_seq INTEGER NOT NULL)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS cl_cases_child ON {s}cl_cases (council, child_ref)""",
    """CREATE TABLE IF NOT EXISTS {s}cl_current_plan (
        case_id TEXT NOT NULL, section TEXT NOT NULL, content TEXT NOT NULL,
        since TEXT NOT NULL, decided_by TEXT NOT NULL, decided_role TEXT NOT NULL,
        authority TEXT NOT NULL, seq INTEGER NOT NULL, corrected_by TEXT NOT NULL,
        PRIMARY KEY (case_id, section))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_unapproved (
        case_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        council TEXT NOT NULL, child_ref TEXT NOT NULL, section TEXT NOT NULL,
        occurred_on TEXT NOT NULL, decided_by TEXT NOT NULL, decided_role TEXT NOT NULL,
        why TEXT NOT NULL, rule TEXT NOT NULL, PRIMARY KEY (case_id, seq, kind, section))""",
    # The policy the views were built under: judging some cases under one setting and some
    # under another would give flags that a rebuild does not reproduce.
    """CREATE TABLE IF NOT EXISTS {s}cl_policy (name TEXT PRIMARY KEY, value TEXT NOT NULL)""",
)
