"""The synthetic histories (cli/synthetic.py): the same for the same seed, recordable in full
through the ledger, and drifting in every way the drift report measures."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from itertools import groupby

import pytest

from careledger.api import Opened, opened
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import Command
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections.drift import MEASURES, assembler, drift_report, worst_first
from careledger.projections.drift_settings import DriftSettings
from careledger.synthetic import synthetic_history

UNTIL = date(2025, 11, 28)
FEED = p.Actor(actor_id="lcs-feed", role="ADMIN")
# Ten children per IRO, and the Handbook's 50-70 benchmark scaled to match (7-11), so that a
# ledger of 50 children has an IRO above the benchmark as a council's would.
IRO_CASELOAD = 10
SCALED_BENCHMARK = DriftSettings(iro_caseload_low=7, iro_caseload_high=11)


def _history(children: int, seed: int = 1) -> list[tuple[datetime, Command]]:
    return synthetic_history(children, seed=seed, until=UNTIL, iro_caseload=IRO_CASELOAD)


def _as_data(pairs: list[tuple[datetime, Command]]) -> list[tuple[str, str, str, object]]:
    return [
        (at.isoformat(), c.council, c.child_ref, c.payload.model_dump(mode="json"))
        for at, c in pairs
    ]


def test_the_same_seed_gives_the_same_histories_and_another_seed_others() -> None:
    assert _as_data(_history(30)) == _as_data(_history(30))
    assert _as_data(_history(30, seed=2)) != _as_data(_history(30))


def test_each_record_comes_after_what_it_records_and_no_later_than_until() -> None:
    pairs = _history(50)
    end_of_until = datetime(2025, 11, 28, 23, 59, tzinfo=ENGLAND)
    assert [at for at, _ in pairs] == sorted(at for at, _ in pairs)
    last_of_child: dict[str, datetime] = {}
    for at, command in pairs:
        assert at.tzinfo == UTC and at <= end_of_until
        assert command.payload.occurred_on <= at.astimezone(ENGLAND).date()
        assert at >= last_of_child.get(command.child_ref, at)
        last_of_child[command.child_ref] = at


def test_no_two_iros_share_a_name_across_councils() -> None:
    """The report counts caseloads by the IRO's name: 130 IROs in each of two councils."""
    councils = ("E10000098", "E10000099")
    pairs = synthetic_history(400, councils=councils, until=UNTIL, iro_caseload=1)
    ids_of: dict[str, set[str]] = defaultdict(set)
    for _, command in pairs:
        if isinstance(command.payload, p.IROAllocated):
            ids_of[command.payload.iro_name].add(command.payload.iro_id)
    assert {command.council for _, command in pairs} == set(councils)
    assert len(ids_of) > 200
    assert all(len(ids) == 1 for ids in ids_of.values())


@contextmanager
def _fifty_children(db: str) -> Iterator[Opened]:
    """Fifty children recorded through the ledger as the hourly feed would: each feed's
    records in one call, on the ledger's clock at the feed's hour."""
    with opened(db, create_tables=True) as o:
        now = [datetime.min]
        o.ledger.clock = lambda: now[0]
        for at, pairs in groupby(_history(50), key=lambda pair: pair[0]):
            now[0] = at
            o.ledger.record([command for _, command in pairs], FEED)
        o.catch_up()
        yield o


@pytest.fixture
def fifty_children(tmp_path: os.PathLike[str]) -> Iterator[Opened]:
    with _fifty_children(os.path.join(tmp_path, "careledger.ledger.db")) as o:
        yield o


def test_fifty_synthetic_children_drift_in_every_measure(fifty_children: Opened) -> None:
    report = drift_report(fifty_children.views, UNTIL, settings=SCALED_BENCHMARK)
    counts = {count.measure: count for count in report.counts}
    assert set(counts) == {m.key for m in MEASURES}
    for measure, count in counts.items():
        assert 0 < count.count < count.of, f"{measure}: {count.count} of {count.of}"
        assert report.findings[measure], measure


def test_postgresql_hands_over_the_rows_found_already_in_the_order_they_are_listed_in(
    postgres_db: str,
) -> None:
    """The report sorts every measure's findings, whatever order they come in; on
    PostgreSQL the rows found arrive in that order already (ORDER BY inside the JSON
    aggregate), so that sorting 100,000 findings at 80,000 children takes one pass. The
    reviews held serve two measures in one statement: their order is the child's voice's."""
    with _fifty_children(postgres_db) as o:
        measured = assembler.measure(
            o.views, UNTIL, None, SCALED_BENCHMARK, DisputeProtocol(), listed=False
        )
    for key in ("recommendation_overdue", "permanence_missing", "recording_lag", "child_voice"):
        _, findings = measured[key]
        assert len(findings) > 1, key
        assert findings == sorted(findings, key=worst_first), key
