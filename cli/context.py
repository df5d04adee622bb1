"""Opening the ledger and its views for a command, from --db / CARELEDGER_DB."""

from __future__ import annotations

import contextlib
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click
from rich.progress import Progress

from careledger.ledger.application import CareLedger
from careledger.ledger.errors import LedgerError, StoreFailure
from careledger.ledger.store.failures import STORE_ERRORS, describe, is_missing_table
from careledger.ledger.store.location import Store, store_for
from careledger.projections.runner import Progress as ProgressCallback
from careledger.projections.runner import Projector, ViewsReadOnly, open_views
from careledger.projections.views import CaseViews


def debugging() -> bool:
    """CARELEDGER_DEBUG=1: show the traceback behind an error, not only its one line."""
    return os.environ.get("CARELEDGER_DEBUG") == "1"


@dataclass
class Opened:
    ledger: CareLedger
    views: CaseViews
    projector: Projector

    def catch_up(self, show_progress: bool = False) -> int:
        """Bring the views up to date before they are read. A role that may not write them
        (a PostgreSQL writer's or reader's) reads them as they are, and is told the lag. If
        catching up fails otherwise nothing is shown: a report missing the newest events could
        mislead (a change not yet flagged as unapproved, a review not yet counted)."""
        try:
            return self._catch_up(show_progress)
        except ViewsReadOnly as behind:
            click.echo(f"note: {behind}; answering from them as they are", err=True)
            return 0
        except STORE_ERRORS as error:
            raise LedgerError(
                f"the projections could not catch up with the ledger "
                f"({describe(self.ledger.store, error)}); nothing shown, as they may lack the "
                "newest events: mend the cause and run the command again"
            ) from error

    def catch_up_after_recording(self, show_progress: bool = False) -> None:
        """Bring the views up to date after events were committed. The events are recorded
        whatever happens here: a failure leaves the projections behind, and the next command
        that reads them catches them up. It is reported as a warning, never as a failure to
        record: a user who recorded again would record twice every event without an id of
        its own."""
        try:
            self._catch_up(show_progress)
        except ViewsReadOnly as behind:
            click.echo(f"note: {behind}", err=True)
        except Exception as error:
            reason = (
                describe(self.ledger.store, error)
                if isinstance(error, STORE_ERRORS)
                else f"{type(error).__name__}: {error}"
            )
            click.echo(
                f"warning: the projections are behind the ledger ({reason}); the next command "
                "that reads them catches them up ('careledger projections status' shows the "
                "lag)",
                err=True,
            )
            if debugging():
                traceback.print_exc()

    def rebuild(self) -> int:
        return self._showing_progress("rebuilding projections", self.projector.rebuild)

    def close(self) -> None:
        """A failure to close after the work is done is no failure of the command."""
        with contextlib.suppress(*STORE_ERRORS):
            self.views.datastore.close()
        with contextlib.suppress(*STORE_ERRORS):
            self.ledger.close()

    def _catch_up(self, show_progress: bool) -> int:
        if not show_progress:
            return self.projector.catch_up()
        return self._showing_progress("updating projections", self.projector.catch_up)

    @staticmethod
    def _showing_progress(what: str, run: Callable[[ProgressCallback], int]) -> int:
        with Progress(transient=True) as progress:
            task = progress.add_task(what, total=None)
            return run(lambda done, total: progress.update(task, completed=done, total=total))


@contextmanager
def opened(
    db: str | None, *, create_tables: bool = False, check_policy: bool = True
) -> Iterator[Opened]:
    """The ledger and its views. A store that fails (unreachable, full, read-only, not a
    ledger), while opening or during the command, is reported in one line naming it."""
    store = store_for(db, create_tables=create_tables)
    try:
        ledger = _open(store, check_policy)
        try:
            yield ledger
        finally:
            ledger.close()
    except STORE_ERRORS as error:
        raise StoreFailure(describe(store, error)) from error


def _open(store: Store, check_policy: bool) -> Opened:
    ledger = CareLedger(store)
    try:
        views = open_views(ledger)
    except BaseException:
        with contextlib.suppress(*STORE_ERRORS):
            ledger.close()
        raise
    opened = Opened(ledger, views, Projector(ledger, views))
    try:
        opened.projector.status()
        if check_policy:
            ledger.check_key()  # every command that reads or records; verify needs no key
            views.check_policy()
    except BaseException as error:
        opened.close()
        if is_missing_table(error):
            raise LedgerError(
                f"--db: '{store.location}' is not an initialised ledger; run 'careledger init'"
            ) from error
        raise
    return opened
