"""The collector is paused while large results are built, and turned back on when the last
piece of work that paused it is done, whichever thread finishes first."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from careledger.ledger.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.enable()
    yield
    if was_on:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_while_paused_and_on_again_after() -> None:
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_on_after_an_error() -> None:
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("a refused batch")
    assert gc.isenabled()


def test_a_program_that_turned_the_collector_off_keeps_it_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_the_first_of_two_overlapping_pauses_to_finish_leaves_it_off_for_the_other() -> None:
    """Two requests of a service overlap: the first started finishes first, and the
    collector stays off until the second is done too."""
    second_started, first_done = threading.Event(), threading.Event()
    seen: dict[str, bool] = {}

    def second() -> None:
        with collector_paused():
            second_started.set()
            first_done.wait(5)
            seen["after the first finished"] = gc.isenabled()
        seen["after both"] = gc.isenabled()

    with collector_paused():
        worker = threading.Thread(target=second)
        worker.start()
        assert second_started.wait(5)
    first_done.set()
    worker.join(5)
    assert seen == {"after the first finished": False, "after both": True}


def test_work_that_keeps_overlapping_still_collects_now_and_then(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In a busy service some request may hold the pause at every moment: once it has
    lasted longer than the longest pause allowed, the work that ends runs a collection."""
    collections: list[str] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(phase)

    monkeypatch.setattr("careledger.ledger.collector.LONGEST_PAUSE", 0.0)
    gc.callbacks.append(seen)
    try:
        with collector_paused():  # a long piece of work, under way throughout
            with collector_paused():  # a short one that ends meanwhile
                pass
            assert collections == ["start"]
            assert not gc.isenabled()
    finally:
        gc.callbacks.remove(seen)
    assert gc.isenabled()


def test_work_that_ends_soon_runs_no_collection_of_its_own() -> None:
    collections: list[str] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(phase)

    gc.callbacks.append(seen)
    try:
        with collector_paused():
            with collector_paused():
                pass
            assert collections == []
    finally:
        gc.callbacks.remove(seen)
