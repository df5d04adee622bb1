"""An IRO's caseload (s.25A), as the IRO's workspace lists it, from the demo's histories on
both stores: the children allocated to them now, not those they once had."""

from __future__ import annotations

from datetime import date

from tests.access_histories import demo_ledger


def test_an_iro_has_the_children_allocated_to_them_now_and_not_those_handed_on(db: str) -> None:
    with demo_ledger(db) as ledger:
        today = date.today()
        assert ledger.caseload("IRO-04", today) == ["E10000099:NR-0101", "E10000099:NR-0104"]
        assert ledger.caseload("B-IRO-11", today) == [
            "E09000099:NR-0201",
            "E09000099:NR-0203",
            "E09000099:NR-0204",
        ]
        # NR-0205's first IRO left the service in May 2025: the child is another's now.
        assert ledger.caseload("B-IRO-14", today) == []
        assert ledger.caseload("B-IRO-14", date(2025, 4, 1)) == ["E09000099:NR-0205"]
        assert ledger.caseload("B-IRO-31", date(2025, 6, 1)) == ["E09000099:NR-0205"]
        assert ledger.caseload("IRO-11", today) == ["E09000099:NR-0205"]


def test_someone_who_is_no_iro_has_no_caseload(db: str) -> None:
    with demo_ledger(db) as ledger:
        assert ledger.caseload("lcs-feed", date.today()) == []
