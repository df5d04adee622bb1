"""The README's table "Who may read and record what", cell by cell, against `Access` on a
real ledger of the demo's case histories. The cases are generated from the table, and what
each cell's words allow is said here, apart from the code: change a cell and these tests
change with it; change the code alone and they fail."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from careledger.access import AccessRefused, Principal, ReasonRequired
from careledger.access.policy import POLICY, ROLES, Rights, Scope
from careledger.api import Opened
from tests.access_histories import COURT, HOME, OTHER, demo_ledger, person
from tests.conftest import postgres_url

README = Path(__file__).resolve().parents[1] / "README.md"
COLUMNS = (
    "a child's record",
    "a child's chronology",
    "aggregate reports",
    "records events",
    "access log",
)


def readme_table() -> dict[str, dict[str, str]]:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- access-policy:start -->\n", 1)[1].split("<!-- access-policy:end", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["role", *COLUMNS]
    table = {}
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        role = re.fullmatch(r"`(\w+)`", cells[0])
        assert role, f"not a role: {cells[0]}"
        table[role.group(1)] = dict(zip(COLUMNS, cells[1:], strict=True))
    return table


TABLE = readme_table()
CELLS = [(role, column, cell) for role, row in TABLE.items() for column, cell in row.items()]

# The children the reads are tried on, as the demo's histories have them for B-IRO-14 at
# E09000099 (README's words in brackets).
PAST_IRO = f"{HOME}:NR-0205"  # B-IRO-14 was the IRO, then was replaced ("allocated ... before")
NEVER_THEIRS = f"{HOME}:NR-0201"  # their council, another IRO's child
ELSEWHERE = f"{OTHER}:NR-0101"  # another council's child
NO_SUCH = f"{HOME}:NR-9999"  # their council's code, no such child
CHILDREN = (PAST_IRO, NEVER_THEIRS, ELSEWHERE, NO_SUCH)


def may_read(cell: str, child: str, reason: str | None) -> bool | str:
    """What the cell's words say of reading `child`: True, False, or "reason" (asked for
    one)."""
    own = child.startswith(f"{HOME}:")
    if cell == "no":
        return False
    if cell == "every council":
        return True
    if cell == "their council":
        return own
    if cell == "allocated to them, now or before":
        return child == PAST_IRO
    if cell == "councils inspected, with a reason":
        return (reason is not None or "reason") if own else False
    if cell == "shared with their court":
        return child == PAST_IRO  # the one child whose chronology is shared with the court
    raise AssertionError(f"the README's table has words the tests do not know: {cell!r}")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Opened]:
    """The demo's histories, once per store for the whole module, with NR-0205's chronology
    of 2025 shared with the court until next month."""
    if request.param == "sqlite":
        db = str(tmp_path_factory.mktemp("policy") / "careledger.db")
        yield from _shared(db)
        return
    admin = request.getfixturevalue("postgres_admin")
    schema = f"cl_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    parts = urlsplit(postgres_url())
    try:
        yield from _shared(urlunsplit((*parts[:3], f"schema={schema}", "")))
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _shared(db: str) -> Iterator[Opened]:
    with demo_ledger(db) as o:
        soon = date.today() + timedelta(days=30)
        o.access.shares.add(PAST_IRO, COURT, date(2025, 1, 1), date(2025, 12, 31), soon, "admin")
        yield o


def test_the_table_has_a_row_for_every_role_the_code_knows() -> None:
    assert list(TABLE) == list(ROLES)


@pytest.mark.parametrize("role", list(TABLE))
def test_the_code_holds_the_readme_row(role: str) -> None:
    assert POLICY[role] == Rights(*(Scope(TABLE[role][column]) for column in COLUMNS))


def _read(o: Opened, who: Principal, child: str, view: str, reason: str | None) -> bool | str:
    before = len(o.access.access_log.entries(child=child))
    try:
        o.access.check_child(who, child, view, reason)
        outcome: bool | str = True
    except ReasonRequired:
        outcome = "reason"
    except AccessRefused as refusal:
        assert str(refusal) == "not found or not allowed"  # the same for a child not there
        outcome = False
    after = o.access.access_log.entries(child=child)
    assert len(after) == before + 1
    last = after[-1]
    assert (last["actor"], last["role"], last["view"]) == (who.name, who.role, view)
    assert last["outcome"] == ("allowed" if outcome is True else "refused")
    assert last["reason"] == (None if outcome == "reason" else reason)
    return outcome


CHILD_CELLS = [c for c in CELLS if c[1] in ("a child's record", "a child's chronology")]


@pytest.mark.parametrize(("role", "column", "cell"), CHILD_CELLS)
@pytest.mark.parametrize("reason", [None, "Ofsted ILACS inspection: sample of care plans"])
def test_reading_a_child_is_as_the_table_says(
    ledger: Opened, role: str, column: str, cell: str, reason: str | None
) -> None:
    who = person(role)
    view = "chronology" if column == "a child's chronology" else "plan"
    found = {child: _read(ledger, who, child, view, reason) for child in CHILDREN}
    assert found == {child: may_read(cell, child, reason) for child in CHILDREN}


@pytest.mark.parametrize(("role", "column", "cell"), [c for c in CELLS if c[1] == "records events"])
def test_recording_is_as_the_table_says(ledger: Opened, role: str, column: str, cell: str) -> None:
    who = person(role)
    for council, allowed in ((HOME, cell != "no"), (OTHER, cell == "every council")):
        if allowed:
            ledger.access.check_record(who, council)
        else:
            with pytest.raises(AccessRefused):
                ledger.access.check_record(who, council)


@pytest.mark.parametrize(
    ("role", "column", "cell"), [c for c in CELLS if c[1] == "aggregate reports"]
)
def test_aggregate_reports_are_as_the_table_says(
    ledger: Opened, role: str, column: str, cell: str
) -> None:
    who = person(role)
    if cell == "no":
        for council in (None, HOME, OTHER):
            with pytest.raises(AccessRefused):
                ledger.access.check_report(who, "drift", council)
        return
    assert ledger.access.check_report(who, "drift", HOME) == {HOME}
    everywhere = {HOME, OTHER} if cell == "every council" else {HOME}
    assert ledger.access.check_report(who, "drift", None) == everywhere
    if cell == "every council":
        assert ledger.access.check_report(who, "drift", OTHER) == {OTHER}
    else:
        with pytest.raises(AccessRefused):
            ledger.access.check_report(who, "drift", OTHER)


@pytest.mark.parametrize(("role", "column", "cell"), [c for c in CELLS if c[1] == "access log"])
def test_the_access_log_is_seen_as_the_table_says(
    ledger: Opened, role: str, column: str, cell: str
) -> None:
    inspector = person("INSPECTOR", "ofsted.insp1", (HOME, OTHER))
    glass = "Ofsted ILACS inspection: tracking a child's plan"
    for child in (NEVER_THEIRS, ELSEWHERE):
        ledger.access.check_child(inspector, child, "history", glass)
        ledger.access.check_child(person("SW", "SW-2210", (HOME, OTHER)), child, "history")
    who = person(role)
    if cell == "no":
        with pytest.raises(AccessRefused):
            ledger.access.log(who=who)
        return
    seen = ledger.access.log(who=who)
    councils = {entry["child"].split(":")[0] for entry in seen}
    reasons = {entry["reason"] for entry in seen}
    if cell == "every council":
        assert councils == {HOME, OTHER}
        assert None in reasons and glass in reasons
    elif cell == "their council":
        assert councils == {HOME}
        assert None in reasons and glass in reasons
    elif cell == "break-glass reads of their council":
        assert councils == {HOME}
        assert None not in reasons and glass in reasons
        assert {entry["actor"] for entry in seen} >= {"ofsted.insp1"}
    else:
        raise AssertionError(f"the README's table has words the tests do not know: {cell!r}")


def test_a_refused_read_says_the_same_whether_or_not_the_child_exists(ledger: Opened) -> None:
    iro = person("IRO", "B-IRO-11")
    messages = []
    for child in (f"{HOME}:NR-0202", f"{HOME}:NR-9999", f"{OTHER}:NR-0101"):
        with pytest.raises(AccessRefused) as refused:
            ledger.access.check_child(iro, child, "plan")
        messages.append(str(refused.value))
    assert set(messages) == {"not found or not allowed"}
    ledger.access.check_child(iro, f"{HOME}:NR-0203", "plan")  # one of theirs


def test_an_iro_keeps_reading_the_child_they_were_allocated_after_a_new_iro_took_over(
    ledger: Opened,
) -> None:
    for iro in ("B-IRO-14", "B-IRO-31", "IRO-11"):
        ledger.access.check_child(person("IRO", iro), PAST_IRO, "history")
    with pytest.raises(AccessRefused):  # the same id at another council is someone else
        ledger.access.check_child(person("IRO", "IRO-11", (OTHER,)), PAST_IRO, "history")


def test_a_court_clerk_reads_only_the_shared_chronology_cut_to_its_dates(ledger: Opened) -> None:
    clerk = person("COURT_CLERK", "clerk.leeds")
    (share,) = ledger.access.shared(clerk, PAST_IRO)
    assert (share.from_on, share.to_on) == (date(2025, 1, 1), date(2025, 12, 31))
    ledger.access.check_child(clerk, PAST_IRO, "chronology")
    with pytest.raises(AccessRefused):
        ledger.access.check_child(clerk, PAST_IRO, "history")
    other_court = Principal("clerk.york", "COURT_CLERK", frozenset(), "Family Court at York")
    with pytest.raises(AccessRefused):
        ledger.access.check_child(other_court, PAST_IRO, "chronology")


def test_an_expired_share_lets_the_court_read_nothing(ledger: Opened) -> None:
    child = f"{HOME}:NR-0204"
    ledger.access.shares.add(child, COURT, date(2024, 1, 1), date(2024, 12, 31), date.today(), "a")
    clerk = person("COURT_CLERK", "clerk.leeds")
    ledger.access.check_child(clerk, child, "chronology")  # the last day it is in force
    with ledger.access.store.transaction() as cursor:  # a day later
        yesterday = (date.today() - timedelta(days=1)).isoformat()
        cursor.execute(
            "UPDATE {s}access_shares SET expires_on = ? WHERE child = ?", [yesterday, child]
        )
    with pytest.raises(AccessRefused):
        ledger.access.check_child(clerk, child, "chronology")
