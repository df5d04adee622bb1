"""The children a drift report counts: a temporary table of every child's IRO, social
worker's team and period of care on the date, and the children looked after per group."""

from __future__ import annotations

from careledger.projections.drift.sql import by_key, known, ordinal

# Each child's IRO and social worker's team: the allocation starting last (the last
# recorded, on the same day); and the latest period of care open on the date (:d), of the
# records made by the end of :recorded. Worked out from the records for the children whose
# latest records were not all in force on the date and known by then (`unsettled`: every
# child, for a date long past); the others' are read as the projection settled them
# (projections.followup.Standing). :settled is the earlier of :d and :recorded.
ALLOCATION_KEY = f"a.from_on || {ordinal('a.number')}"


def children_from_records(unsettled: str) -> str:
    """The SELECT of the children's rows worked out from the allocations and periods, for
    the children of cl_children `c` meeting the condition `unsettled`."""
    return f"""
SELECT c.case_id, c.council, c.child_ref, al.iro, al.team, pe.period_no
FROM {{s}}cl_children c
LEFT JOIN (
  SELECT a.case_id,
    {by_key(f"CASE WHEN a.kind = 'iro' THEN {ALLOCATION_KEY} END", "a.name")} AS iro,
    {by_key(f"CASE WHEN a.kind = 'sw' THEN {ALLOCATION_KEY} END", "a.team")} AS team
  FROM {{s}}cl_allocations a
  WHERE {known("a")} AND a.from_on <= :d AND a.recorded_on <= :recorded
    AND a.case_id IN (SELECT c.case_id FROM {{s}}cl_children c WHERE {unsettled})
  GROUP BY a.case_id
) al ON al.case_id = c.case_id
LEFT JOIN (
  SELECT pe.case_id, MAX(pe.period_no) AS period_no FROM {{s}}cl_periods pe
  WHERE {known("pe")} AND pe.started_on <= :d AND pe.start_recorded_on <= :recorded
    AND (pe.ended_on IS NULL OR pe.ended_on > :d OR pe.end_recorded_on > :recorded)
    AND pe.case_id IN (SELECT c.case_id FROM {{s}}cl_children c WHERE {unsettled})
  GROUP BY pe.case_id
) pe ON pe.case_id = c.case_id
WHERE {unsettled}"""


CREATE_CHILDREN = "CREATE TEMP TABLE tmp_children AS"
SETTLED_CHILDREN = f"""
{CREATE_CHILDREN}
SELECT c.case_id, c.council, c.child_ref, c.iro, c.team,
  CASE WHEN c.period_until <= :d THEN NULL ELSE c.period_no END AS period_no
FROM {{s}}cl_children c WHERE c.settled_on <= :settled"""
CHILDREN = f"""{SETTLED_CHILDREN}
UNION ALL {children_from_records("c.settled_on > :settled")}"""
# The planner knows nothing of a new temporary table until it is indexed and analysed:
# without this PostgreSQL scans it once per review row.
CHILDREN_INDEXED = (
    "CREATE UNIQUE INDEX tmp_children_case ON tmp_children (case_id)",
    "ANALYZE tmp_children",
)

# The children looked after on the date, per group: the "of" of the measures of now.
COHORT = (
    "SELECT {group} AS grp, COUNT(*) AS n FROM tmp_children g "
    "WHERE g.period_no IS NOT NULL GROUP BY grp"
)
