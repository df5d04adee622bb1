"""`reviews`, `drift` and `challenges` answer on a business date (`--as-of`: what had happened
by the end of it) from what had been recorded by the end of another (`--as-recorded-on`;
everything recorded, unless given), as `plan` does. On both stores.

Dara came into care on Monday 2 June 2025; her first review was due 20 working days later,
on Monday 30 June, and was held on 24 June, where the IRO recommended a CAMHS referral by
15 July, made on 10 July. Her council moved to careledger later and typed her history in on
its first day: every record of hers was made today. Asked for her timetable on 31 July 2025,
the ledger answers from what it now knows; asked what it knew on 31 July, nothing.

Ellie came into care the same day; her first review, held on 24 June, was recorded that
day. Her second, due on 24 September, was held on time on 22 September, but the IRO's
record was made only on 1 October (7 working days later). On 26 September the review had
happened, but the ledger did not know it yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from click.testing import CliRunner

from careledger.api import Opened, opened
from careledger.cli.main import cli
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import parse_command
from careledger.projections.drift import Report
from careledger.projections.drift_settings import DriftSettings

COUNCIL = "E10000071"
ACTOR = p.Actor(actor_id="two-views-tests", role="ADMIN")
IRO = {"name": "Ruth Adeyemi", "role": "IRO"}
SW = {"name": "Tom Okafor", "role": "SW"}
LAST_JULY = date(2025, 7, 31)
BEFORE_ELLIES_RECORD = date(2025, 9, 26)
ENV: dict[str, str | None] = {
    "CARELEDGER_DB": None,
    "CARELEDGER_COUNCIL": None,
    **{f"CARELEDGER_{name.upper()}": None for name in DriftSettings.model_fields},
}


def record(o: Opened, child: str, kind: str, on: str, recorded_on: str | None = None, **x: Any):
    """One event, recorded at 5 pm on `recorded_on`, or now (the ledger's own clock)."""
    if recorded_on is not None:
        at = datetime.combine(date.fromisoformat(recorded_on), time(17), ENGLAND)
        o.ledger.clock = lambda: at.astimezone(UTC)
    else:
        o.ledger.clock = lambda: datetime.now(UTC)
    fields = {"type": kind, "council": COUNCIL, "child": child, "occurred_on": on}
    command = parse_command({**fields, "source": f"LCS/{child}/{kind}/{on}", **x})
    o.ledger.record([command], ACTOR)


def review(o: Opened, child: str, rid: str, on: str, recorded_on: str | None, **x: Any) -> None:
    fields = {"participation": "PN1", "child_seen_before": True, "chair": IRO, **x}
    record(o, child, "ReviewHeld", on, recorded_on, review_id=rid, **fields)


def dara_typed_in_today(o: Opened) -> None:
    record(o, "DARA", "ChildBecameLookedAfter", "2025-06-02", legal_status="V2")
    referral = {
        "kind": "recommend",
        "recommendation_id": "REC-1",
        "text": "CAMHS referral",
        "owner": SW,
        "due_on": "2025-07-15",
    }
    review(o, "DARA", "REV-1", "2025-06-24", None, decisions=[referral])
    record(
        o, "DARA", "RecommendationCompleted", "2025-07-10", recommendation_id="REC-1",
        completed_by=SW,
    )  # fmt: skip


def ellie_recorded_as_it_happened(o: Opened) -> None:
    record(o, "ELLIE", "ChildBecameLookedAfter", "2025-06-02", "2025-06-02", legal_status="C2")
    review(o, "ELLIE", "REV-1", "2025-06-24", "2025-06-24")
    review(o, "ELLIE", "REV-2", "2025-09-22", "2025-10-01")


@pytest.fixture
def ledger(db: str) -> Iterator[Opened]:
    with opened(db, create_tables=True) as o:
        dara_typed_in_today(o)
        ellie_recorded_as_it_happened(o)
        o.catch_up()
        yield o


def reviews_cli(db: str, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["reviews", "--db", db, f"{COUNCIL}:DARA", *args], env=ENV, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_a_child_recorded_today_shows_last_summers_timetable_as_of_then(
    ledger: Opened, db: str
) -> None:
    shown = reviews_cli(db, "--as-of", "2025-07-31")
    assert "no period of care recorded" not in shown
    assert "held on time" in shown and "2025-06-24" in shown
    known_then = reviews_cli(db, "--as-of", "2025-07-31", "--as-recorded-on", "2025-07-31")
    assert "no period of care recorded" in known_then
    assert "as recorded by the end of 2025-07-31" in known_then


def test_the_api_reads_the_business_date_from_everything_recorded_unless_told(
    ledger: Opened,
) -> None:
    dara = f"{COUNCIL}:DARA"
    now = ledger.reviews(dara, as_of=LAST_JULY)
    held, following = now["timetable"]
    assert (held["review"], held["held_on"], held["status"]) == (1, "2025-06-24", "held on time")
    assert (following["review"], following["held_on"]) == (2, None)
    assert following["status"].startswith("next: due in")
    [referral] = now["recommendations"]
    assert referral["status"] == "completed on 2025-07-10"
    # A day before it was done, it was open: the business date decides, not the record's.
    [open_] = ledger.reviews(dara, as_of=date(2025, 7, 9))["recommendations"]
    assert open_["status"] == "open"
    then = ledger.reviews(dara, as_of=LAST_JULY, as_recorded_on=LAST_JULY)
    assert then == {"timetable": [], "recommendations": []}


def test_a_review_held_before_the_date_but_recorded_after_it_is_held_in_the_business_view(
    ledger: Opened,
) -> None:
    ellie = f"{COUNCIL}:ELLIE"
    business = ledger.reviews(ellie, as_of=BEFORE_ELLIES_RECORD)["timetable"]
    assert [(r["review"], r["held_on"]) for r in business[:2]] == [
        (1, "2025-06-24"),
        (2, "2025-09-22"),
    ]
    assert business[1]["status"] == "held on time"
    recorded = ledger.reviews(
        ellie, as_of=BEFORE_ELLIES_RECORD, as_recorded_on=BEFORE_ELLIES_RECORD
    )["timetable"]
    assert [(r["review"], r["held_on"], r["status"]) for r in recorded] == [
        (1, "2025-06-24", "held on time"),
        (2, None, "overdue by 2 days"),
    ]


def overdue(report: Report) -> dict[str, tuple[str | None, int | None]]:
    return {f.subject: (f.on, f.days) for f in report.findings["review_overdue"]}


def lagging(report: Report) -> dict[str, int | None]:
    return {f.subject: f.days for f in report.findings["recording_lag"]}


def test_drift_counts_the_review_from_the_day_it_was_held_and_its_record_from_the_day_made(
    ledger: Opened,
) -> None:
    """The business view on 26 September: Ellie's second review was held, so nothing is
    overdue; its record, made on 1 October, is not yet a late record. As the inspector saw
    it that day: overdue by 2 days. On 31 October both views count the late record."""
    business = ledger.drift(as_of=BEFORE_ELLIES_RECORD)
    assert business.as_recorded_on is None
    assert f"{COUNCIL}:ELLIE" not in overdue(business)
    assert lagging(business) == {}
    seen_then = ledger.drift(as_of=BEFORE_ELLIES_RECORD, as_recorded_on=BEFORE_ELLIES_RECORD)
    assert overdue(seen_then)[f"{COUNCIL}:ELLIE"] == ("2025-09-24", 2)
    # Dara's records were all made today: on 26 September 2025 the ledger knew nothing of her.
    assert f"{COUNCIL}:DARA" not in overdue(seen_then)
    end_of_october = ledger.drift(as_of=date(2025, 10, 31))
    assert lagging(end_of_october) == {f"{COUNCIL}:ELLIE": 7}
    assert f"{COUNCIL}:ELLIE" not in overdue(end_of_october)


def test_drift_sees_a_child_recorded_today_on_a_past_date(ledger: Opened) -> None:
    """Dara's second review fell due three months after her first (24 September 2025) and
    was never held: the business view of 26 September finds it overdue, from records made
    today; the recorded view of that day cannot."""
    business = ledger.drift(as_of=BEFORE_ELLIES_RECORD)
    assert overdue(business)[f"{COUNCIL}:DARA"] == ("2025-09-24", 2)
    children = [c for c in business.counts if c.measure == "review_overdue"]
    assert [(c.count, c.of) for c in children] == [(1, 2)]
    seen_then = ledger.drift(as_of=BEFORE_ELLIES_RECORD, as_recorded_on=BEFORE_ELLIES_RECORD)
    children = [c for c in seen_then.counts if c.measure == "review_overdue"]
    assert [(c.count, c.of) for c in children] == [(1, 1)]  # Ellie only, of Ellie only
