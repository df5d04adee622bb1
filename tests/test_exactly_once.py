"""Each event is applied to the case views exactly once, on both stores.

A batch and the tracking position of its last notification are written in one transaction
(projections/views.py): re-applying a batch that was already applied must fail on the tracking
row with the library's IntegrityError and leave every projection table as it was; and the
tables must not depend on how the notification log was cut into batches.
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from careledger.api import Opened, opened
from careledger.ledger.domain import events as e
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import Command, parse_command
from careledger.projections import schema
from careledger.projections.runner import Projector

COUNCIL = "E10000042"
ACTOR = p.Actor(actor_id="exactly-once", role="ADMIN")
TM = {"name": "Owen Pryce", "role": "TM"}
IRO = {"name": "Margaret Ellery", "role": "IRO"}
SENIOR = {"name": "Graham Teller", "role": "SENIOR_MANAGER"}


def line(child: str, kind: str, on: str, n: int, **fields: Any) -> Command:
    return parse_command(
        {
            "type": kind,
            "council": COUNCIL,
            "child": child,
            "occurred_on": on,
            "source": f"LCS/{child}/{n}",
            **fields,
        }
    )


def history(child: str) -> list[Command]:
    """A case with a plan, an approved change, an unapproved one and a correction."""
    return [
        line(child, "ChildBecameLookedAfter", "2023-01-09", 1, legal_status="C2", placement="U4"),
        line(
            child,
            "CarePlanAgreed",
            "2023-01-20",
            2,
            sections={"placement": "Foster carers Mr and Mrs Hollis", "health": "IHA done"},
            decided_by=TM,
        ),
        line(
            child,
            "ChangeProposed",
            "2023-02-01",
            3,
            proposal_id="PRO-01",
            section="health",
            content="CAMHS trauma assessment",
            significant=True,
            proposed_by=TM,
        ),
        line(
            child,
            "ReviewHeld",
            "2023-02-06",
            4,
            review_id="REV-01",
            chair=IRO,
            participation="PN1",
            decisions=[{"kind": "approve", "proposal_id": "PRO-01"}],
        ),
        line(
            child,
            "CarePlanSectionChanged",
            "2023-02-10",
            5,
            change_id="CHG-01",
            section="health",
            content="CAMHS trauma assessment",
            significant=True,
            decided_by=TM,
            authority={"kind": "review_decision", "review_id": "REV-01", "proposal_id": "PRO-01"},
        ),
        line(
            child,
            "CarePlanSectionChanged",
            "2023-03-17",
            6,
            change_id="CHG-02",
            section="placement",
            content="Moved to Larch House (K2)",
            significant=True,
            decided_by=SENIOR,
            authority={"kind": "none"},
            child_consulted=False,
        ),
        line(
            child,
            "CorrectionRecorded",
            "2023-03-20",
            7,
            corrects_seq=7,
            reason="Keyed with the wrong home",
            corrected={"content": "Moved to Birch House (K2)"},
        ),
    ]


def tables(o: Opened) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, in a fixed order, and the tracking position."""
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for table in schema.TABLES:
        rows = o.views.fetch(f"SELECT * FROM {{s}}{table}")
        snapshot[table] = sorted(tuple(row.values()) for row in rows)
    snapshot["position"] = [(o.projector.position(),)]
    return snapshot


def case_events(o: Opened, start: int, limit: int) -> tuple[list[e.CaseEvent], int]:
    """The case events of notifications start..start+limit-1, and the last one's id."""
    notifications = o.ledger.recorder.select_notifications(start=start, limit=limit)
    assert notifications, "no notifications selected"
    events = [o.ledger.mapper.to_domain_event(n) for n in notifications]
    return [x for x in events if isinstance(x, e.CaseEvent)], notifications[-1].id


def load(o: Opened, children: list[str]) -> int:
    for child in children:
        o.ledger.record(history(child), ACTOR)
    newest = o.ledger.recorder.max_notification_id()
    assert newest
    return int(newest)


def test_reapplying_the_last_batch_raises_integrity_error_and_changes_nothing(db: str) -> None:
    with opened(db, create_tables=True) as o:
        newest = load(o, ["EO-0001", "EO-0002"])
        assert o.catch_up() == newest
        before = tables(o)
        assert before["position"] == [(newest,)]
        assert len(before["cl_unapproved"]) > 0

        # the last batch: the second child's whole history
        events, last = case_events(o, start=newest - 7, limit=8)
        assert last == newest
        assert len(events) == 8
        with pytest.raises(IntegrityError):
            o.views.apply_batch(events, Tracking(o.ledger.name, last))
        assert tables(o) == before

        # catching up again finds nothing new and changes nothing
        assert o.catch_up() == 0
        assert tables(o) == before


def test_reapplying_an_earlier_batch_raises_integrity_error_and_changes_nothing(
    db: str,
) -> None:
    with opened(db, create_tables=True) as o:
        load(o, ["EO-0001"])
        o.catch_up()
        after_first = o.projector.position()
        newest = load(o, ["EO-0002"])
        o.catch_up()
        before = tables(o)

        events, last = case_events(o, start=1, limit=after_first)
        assert last == after_first < newest
        with pytest.raises(IntegrityError):
            o.views.apply_batch(events, Tracking(o.ledger.name, last))
        assert tables(o) == before

        # an empty batch at an already-tracked position is refused as well
        with pytest.raises(IntegrityError):
            o.views.apply_batch([], Tracking(o.ledger.name, newest))
        assert tables(o) == before


def test_catch_up_in_batches_of_one_or_of_500_gives_identical_tables(db: str) -> None:
    with opened(db, create_tables=True) as o:
        newest = load(o, ["EO-0001", "EO-0002", "EO-0003"])

        one_by_one = Projector(o.ledger, o.views, batch_size=1)
        progress: list[tuple[int, int]] = []
        assert one_by_one.catch_up(lambda done, total: progress.append((done, total))) == newest
        assert len(progress) == newest
        assert progress[-1] == (newest, newest)
        small = tables(o)

        o.views.reset(o.ledger.name)
        assert o.projector.position() == 0
        assert all(rows == [] for name, rows in tables(o).items() if name != "position")

        assert Projector(o.ledger, o.views, batch_size=500).catch_up() == newest
        large = tables(o)
        assert large == small
        assert large["position"] == [(newest,)]

        # and both equal catching up in uneven batches, after more events arrive
        more = load(o, ["EO-0004"])
        assert Projector(o.ledger, o.views, batch_size=3).catch_up() == more - newest
        uneven = tables(o)
        o.views.reset(o.ledger.name)
        Projector(o.ledger, o.views, batch_size=500).catch_up()
        assert tables(o) == uneven


def test_a_projector_that_loses_the_race_to_another_carries_on_from_where_the_views_stand(
    db: str,
) -> None:
    """Two read commands catching up at once: the slower one's batch is refused by the
    tracking row, and it continues from the views' new position instead of failing."""

    class Stale(Projector):
        """Believes, once, that nothing has been applied yet."""

        stale = True

        def position(self) -> int:
            if self.stale:
                self.stale = False
                return 0
            return super().position()

    with opened(db, create_tables=True) as o:
        load(o, ["SR-1", "SR-2"])
        o.projector.catch_up()
        before = tables(o)
        assert Stale(o.ledger, o.views).catch_up() == 0
        assert tables(o) == before


def test_a_new_event_rewrites_only_the_rows_it_changes(db: str) -> None:
    """Catching up rewrites a touched case's rows only where they differ: the rows an event
    leaves as they were keep their place in the table (SQLite's rowid, PostgreSQL's ctid),
    so a rebuild does not leave dead rows behind for each live one."""
    with opened(db, create_tables=True) as o:
        o.ledger.record(history("LEAH"), ACTOR)
        o.catch_up()
        where = "rowid" if "postgresql" not in db else "ctid::text"
        placed = f"SELECT {where} AS place, seq FROM {{s}}cl_lags"
        before = [(row["place"], row["seq"]) for row in o.views.fetch(placed)]
        o.ledger.record(
            [line("LEAH", "IROAllocated", "2023-06-01", 99, iro_id="IRO-7", iro_name="Ann Bell")],
            ACTOR,
        )
        o.catch_up()
        after = [(row["place"], row["seq"]) for row in o.views.fetch(placed)]
        assert set(before) < set(after)  # every earlier row where it was, and the new ones
