"""The projection tables. Plain SQL that SQLite and PostgreSQL both accept; dates are ISO text
so that they sort and compare alike on both."""

from __future__ import annotations

import re

# Raised when a table changes shape: views built under another version are refused until
# `careledger projections rebuild` drops and recreates them.
# 3: challenge tables, cl_reviews.prior_recorded_on; 4: cl_children; 5: periods ended by the
# 18th birthday (cl_periods.ended_by, cl_children.period_until); 6: cl_looked_after
VERSION = "6"

# The follow-up tables hold each case's facts from `projections.followup`; every row
# says from which day (known_from) until which day (known_until, exclusive) it was the record,
# and the fact's own recording date, so a report as of a past date reads what was known then.
FOLLOWUP_TABLES = (
    "cl_periods",
    "cl_reviews",
    "cl_recommendations",
    "cl_allocations",
    "cl_lags",
    "cl_permanence",
    "cl_challenges",
    "cl_challenge_steps",
)
TABLES = (
    "cl_events",
    "cl_cases",
    "cl_current_plan",
    "cl_unapproved",
    *FOLLOWUP_TABLES,
    "cl_children",
    "cl_looked_after",
)

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
    """CREATE TABLE IF NOT EXISTS {s}cl_periods (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        period_no INTEGER NOT NULL, started_on TEXT NOT NULL, start_recorded_on TEXT NOT NULL,
        regime TEXT NOT NULL, ended_on TEXT, end_recorded_on TEXT, ended_by TEXT,
        PRIMARY KEY (case_id, known_from, period_no))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_reviews (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        period_no INTEGER NOT NULL, review_no INTEGER NOT NULL, due_on TEXT NOT NULL,
        held_on TEXT, held_recorded_on TEXT, review_id TEXT, days_late INTEGER,
        participation TEXT, child_seen INTEGER, not_seen_reason TEXT, chair TEXT,
        prior_recorded_on TEXT, PRIMARY KEY (case_id, known_from, period_no, review_no))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_recommendations (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        recommendation_id TEXT NOT NULL, review_id TEXT NOT NULL, text TEXT NOT NULL,
        owner TEXT NOT NULL, owner_role TEXT NOT NULL, made_on TEXT NOT NULL,
        made_recorded_on TEXT NOT NULL, due_on TEXT NOT NULL, closed_on TEXT,
        closed_recorded_on TEXT, closed_how TEXT,
        PRIMARY KEY (case_id, known_from, recommendation_id))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_allocations (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        kind TEXT NOT NULL, number INTEGER NOT NULL, person_id TEXT NOT NULL,
        name TEXT NOT NULL, team TEXT, from_on TEXT NOT NULL, recorded_on TEXT NOT NULL,
        changed INTEGER NOT NULL, PRIMARY KEY (case_id, known_from, kind, number))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_lags (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        seq INTEGER NOT NULL, event_type TEXT NOT NULL, occurred_on TEXT NOT NULL,
        recorded_on TEXT NOT NULL, working_days INTEGER NOT NULL,
        PRIMARY KEY (case_id, known_from, seq))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_permanence (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        seq INTEGER NOT NULL, occurred_on TEXT NOT NULL, recorded_on TEXT NOT NULL,
        PRIMARY KEY (case_id, known_from, seq))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_challenges (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        challenge_id TEXT NOT NULL, subject TEXT NOT NULL, about TEXT, concern TEXT NOT NULL,
        remedy_sought TEXT, raised_by TEXT NOT NULL, raised_role TEXT NOT NULL,
        raised_on TEXT NOT NULL, recorded_on TEXT NOT NULL, stage INTEGER NOT NULL,
        PRIMARY KEY (case_id, known_from, challenge_id))""",
    """CREATE TABLE IF NOT EXISTS {s}cl_challenge_steps (
        case_id TEXT NOT NULL, known_from TEXT NOT NULL, known_until TEXT NOT NULL,
        challenge_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
        occurred_on TEXT NOT NULL, recorded_on TEXT NOT NULL, stage INTEGER NOT NULL,
        by_name TEXT, by_role TEXT, text TEXT, outcome TEXT, link TEXT,
        PRIMARY KEY (case_id, known_from, seq))""",
    # Each child's IRO, team and open period as the latest records have them, from the day
    # they all hold (projections.followup.Standing): the drift report's children on that
    # day or later, without working them out again from every allocation and period.
    """CREATE TABLE IF NOT EXISTS {s}cl_children (
        case_id TEXT NOT NULL, council TEXT NOT NULL, child_ref TEXT NOT NULL, iro TEXT,
        team TEXT, period_no INTEGER, settled_on TEXT NOT NULL, period_until TEXT,
        PRIMARY KEY (case_id))""",
    """CREATE INDEX IF NOT EXISTS cl_children_settled ON {s}cl_children (settled_on)""",
    # Each child's spans of dates looked after, in one period of care and with one IRO, as
    # the latest records have them (projections.looked_after): the drift report's trend
    # reads the spans that reach into its months (until_on after its first month end),
    # instead of working every child's out from the periods and allocations at each request.
    """CREATE TABLE IF NOT EXISTS {s}cl_looked_after (
        case_id TEXT NOT NULL, council TEXT NOT NULL, from_on TEXT NOT NULL,
        until_on TEXT NOT NULL, period_no INTEGER NOT NULL, iro TEXT,
        PRIMARY KEY (case_id, from_on))""",
    """CREATE INDEX IF NOT EXISTS cl_looked_after_until ON {s}cl_looked_after (until_on)""",
    # The policy the views were built under: judging some cases under one setting and some
    # under another would give flags that a rebuild does not reproduce.
    """CREATE TABLE IF NOT EXISTS {s}cl_policy (name TEXT PRIMARY KEY, value TEXT NOT NULL)""",
)


def _shapes() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[int, ...]]]:
    """Each table's columns in order, and the positions of its primary key's columns, read
    from its CREATE statement (a key of one column may be declared with the column)."""
    columns: dict[str, tuple[str, ...]] = {}
    keys: dict[str, tuple[int, ...]] = {}
    for statement in CREATE:
        table = re.search(r"CREATE TABLE IF NOT EXISTS \{s\}(\w+) \(", statement)
        if table is None:
            continue
        key = re.search(r"PRIMARY KEY \(([^)]*)\)", statement) or re.search(
            r"(\w+) \w+ PRIMARY KEY", statement
        )
        assert key is not None, f"{table[1]} has no primary key"
        names = tuple(re.findall(r"(\w+) (?:TEXT|INTEGER)\b", statement))
        columns[table[1]] = names
        keys[table[1]] = tuple(names.index(name.strip()) for name in key[1].split(","))
    return columns, keys


COLUMNS, KEY_POSITIONS = _shapes()
