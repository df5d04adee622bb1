"""When each POST catches the projections up itself (the single-server default), requests
recorded at the same time share one catch-up: a request whose events an earlier catch-up of
the worker already applied answers at once, and a read that follows still sees them. On a
real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import pytest

from careledger.api import Opened
from careledger.service.freshness import caught_up_after_recording
from careledger.service.settings import ServiceSettings
from careledger.service.state import ServiceState
from careledger.service.tables import ServiceTables
from tests.test_group_commit import LCS, came_into_care


def test_requests_recorded_together_share_one_catch_up(
    o: Opened, monkeypatch: pytest.MonkeyPatch
) -> None:
    catch_ups: list[int | None] = []
    catch_up = o.catch_up_after_recording

    def counted(show_progress: bool = False, through: int | None = None) -> bool:
        catch_ups.append(through)
        return catch_up(show_progress, through)

    monkeypatch.setattr(o, "catch_up_after_recording", counted)  # the real one, counted
    state = ServiceState(ServiceSettings(), o, o, ServiceTables(o.ledger))
    for child in ("KW-01", "KW-02", "KW-03"):  # three requests recorded before any catches up
        o.ledger.record([came_into_care(child)], LCS)
    for _ in range(3):  # each request, in turn, before it answers
        caught_up_after_recording(state)
    assert len(catch_ups) == 1  # the first caught up all three
    assert o.lag().events == 0
    assert {row["child_ref"] for row in o.children()} == {"KW-01", "KW-02", "KW-03"}

    o.ledger.record([came_into_care("KW-04")], LCS)
    caught_up_after_recording(state)
    assert len(catch_ups) == 2  # a request recorded after it catches up again
    assert o.lag().events == 0
