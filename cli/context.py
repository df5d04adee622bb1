"""Opening the ledger and its views for a command, from --db / CARELEDGER_DB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from eventsourcing.persistence import PersistenceError
from rich.progress import Progress

from ledger.application import CareLedger
from ledger.errors import LedgerError
from ledger.store import store_for
from projections.runner import Progress as ProgressCallback
from projections.runner import Projector, open_views
from projections.views import CaseViews


@dataclass
class Opened:
    ledger: CareLedger
    views: CaseViews
    projector: Projector

    def catch_up(self, show_progress: bool = False) -> int:
        if not show_progress:
            return self.projector.catch_up()
        return self._showing_progress("updating projections", self.projector.catch_up)

    def rebuild(self) -> int:
        return self._showing_progress("rebuilding projections", self.projector.rebuild)

    @staticmethod
    def _showing_progress(what: str, run: Callable[[ProgressCallback], int]) -> int:
        with Progress(transient=True) as progress:
            task = progress.add_task(what, total=None)
            return run(lambda done, total: progress.update(task, completed=done, total=total))


@contextmanager
def opened(
    db: str | None, *, create_tables: bool = False, check_policy: bool = True
) -> Iterator[Opened]:
    store = store_for(db, create_tables=create_tables)
    ledger = CareLedger(store)
    try:
        views = open_views(ledger)
    except PersistenceError as error:
        ledger.close()
        raise LedgerError(
            f"--db: cannot open the ledger's views ({error}); run 'careledger init'"
        ) from None
    try:
        opened = Opened(ledger, views, Projector(ledger, views))
        try:
            opened.projector.status()
        except PersistenceError as error:
            raise LedgerError(
                f"--db: '{store.location}' is not an initialised ledger; run 'careledger init'"
            ) from error
        if check_policy:
            ledger.check_key()  # every command that reads or records; verify needs no key
            views.check_policy()
        yield opened
    finally:
        views.datastore.close()
        ledger.close()
