"""The SQL the drift report's measures share: which rows were the record on the date, one
statement for a measure's totals and the rows it finds, and a GROUP BY's pick of the latest
row's value."""

from __future__ import annotations

from typing import NamedTuple


def known(alias: str) -> str:
    """The row was the record at the end of :recorded (the report's --as-recorded-on)."""
    return f"{alias}.known_from <= :recorded AND :recorded < {alias}.known_until"


class Tallied(NamedTuple):
    """A `totals_and_hits` statement, the names of the values of each row it finds, and the
    order to find them in."""

    sql: str
    columns: tuple[str, ...]
    order: str


def totals_and_hits(base: str, columns: str, hit: str, order: str, counted: str = "1") -> Tallied:
    """One statement for what a measure counts per group and the rows it finds: `base`, a
    SELECT with a `grp` column, is read once, and each group comes back as one row: its
    total (the sum of `counted`, one per row unless given) and, as a JSON array, the
    `columns` (a comma-separated list of base's columns) of each of its rows meeting `hit`.

    The table is read once for both, not once for the total and again for the rows. The
    rows found travel as one JSON value per group, decoded in C, where a row per finding
    had the server keep every row read (a CTE used twice) to list a few of them, and
    Python build a dict for each (benchmarks/NOTES.md has the figures).

    `order` (base's columns) is the order of the measure's findings (`worst_first`) as near
    as SQL can put it, where the store can order an aggregate (PostgreSQL). The report
    still sorts them, whatever order they come in; a list already in order is sorted in
    one pass."""
    names = tuple(c.strip() for c in columns.split(","))
    return Tallied(
        f"""SELECT grp, SUM({counted}) AS total,
          {{json_agg}}({{json_array}}({", ".join(names)}){{order}}) FILTER (WHERE {hit}) AS hits
        FROM ({base}) b GROUP BY grp""",
        names,
        order,
    )


def by_key(key: str, value: str, pick: str = "MAX", width: int = 20) -> str:
    """In a GROUP BY, `value` of the row with the greatest (or, with MIN, the least) `key`.

    The key must be text of a fixed `width` characters; the value is put after it, the MAX
    taken, and the value cut off again: one hash aggregate over the rows, where a window
    function sorts them all (at 80,000 children, the sort of every allocation was the
    report's slowest step). A NULL value stays NULL: "-" stands for it, "+" marks a value."""
    found = f"SUBSTR({pick}({key} || COALESCE('+' || {value}, '-')), {width + 1})"
    return f"CASE WHEN {found} = '-' THEN NULL ELSE SUBSTR({found}, 2) END"


def ordinal(number: str) -> str:
    """A non-negative number below 10**9 as 10 characters that sort as the numbers do."""
    return f"CAST(1000000000 + {number} AS TEXT)"
