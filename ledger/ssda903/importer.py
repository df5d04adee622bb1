"""`careledger import-903`: a council's SSDA903 return read into the ledger, child by child.

Two passes over the return. The first reads and checks every row and stages its record by
child; if any row cannot be read the import stops there and nothing is recorded, unless the
caller accepts a partial import, in which case no event of a refused row's child is
recorded. The second records each child's events from the staged records, a batch of
children per atomic save. An import cut off between batches is finished by running it
again: rows already recorded record nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from eventsourcing.persistence import IntegrityError

from careledger.ledger.application import CareLedger
from careledger.ledger.collector import collector_paused
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.errors import LedgerError, RecordingConflict
from careledger.ledger.ssda903.files import Checked, ReturnFile, Staging, find_tables, lines
from careledger.ledger.ssda903.mapping import ChildRows, Refusal, checked, collection_year
from careledger.ledger.ssda903.records import collection_name
from careledger.ledger.ssda903.restatements import ChildChanges, changes_for
from careledger.ledger.ssda903.rows import Unreadable, child_of

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    council: str
    year: int
    files: list[ReturnFile]
    children: int = 0
    events: int = 0
    corrections: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    recorded: bool = False

    @property
    def refused_children(self) -> set[str]:
        return {r.child for r in self.refused if r.child is not None}


@dataclass
class ReturnImport:
    ledger: CareLedger
    council: str
    year: int
    recorded_by: p.Actor
    batch_size: int = 100
    newest_year: int | None = None  # of the returns already imported, if known

    def run(self, directory: Path, accept_partial: bool = False) -> ImportReport:
        """Import the return in `directory`. Returns are imported oldest first: a later
        return restates an earlier one, so an earlier one imported after it would be read
        as restating it back."""
        current = collection_year(self._today())
        if self.year > current:
            raise LedgerError(
                f"--year: the {collection_name(self.year)} collection year has not begun "
                f"(today is {self._today()}); the newest return there can be is "
                f"{collection_name(current)}'s"
            )
        if self.newest_year is not None and self.year < self.newest_year:
            raise LedgerError(
                f"--year: the ledger already holds {self.council}'s "
                f"{collection_name(self.newest_year)} return; import returns oldest first "
                f"(a {collection_name(self.year)} return now would be read as restating it)"
            )
        report = ImportReport(self.council, self.year, list(find_tables(directory).values()))
        staging = Staging(self.ledger.mapper.cipher)
        try:
            self._stage(report, staging)
            if report.refused and not accept_partial:
                return report
            self._record(report, staging)
        finally:
            staging.close()
        report.recorded = True
        return report

    def _today(self) -> date:
        return self.ledger.clock().astimezone(ENGLAND).date()

    def _stage(self, report: ImportReport, staging: Staging) -> None:
        today = self._today()
        for file in report.files:
            for line in lines(file):
                try:
                    child = child_of(line.values)
                except Unreadable as bad:
                    column, reason = (
                        (line.problem_column, line.problem) if line.problem else
                        (bad.column, bad.reason)
                    )  # fmt: skip
                    shown = _as_given(line.values.get("CHILD"))
                    report.refused.append(Refusal(file.name, line.row, column, reason, shown))
                    continue
                row = checked(child, line, today, self.year)
                if isinstance(row, Refusal):  # its child is not recorded: nothing to stage
                    report.refused.append(row)
                else:
                    staging.add(child, row)

    def _record(self, report: ImportReport, staging: Staging) -> None:
        """Each batch of children read back, mapped to its events and saved with the
        collector paused (`collector_paused`), as the ledger's own recording of a batch is:
        a batch's records and events are freed by reference counting when it is saved, and
        the collector, left on while they were made, moved them to its older generations and
        then walked the whole heap for them."""
        refused = report.refused_children
        children = (child for child in staging.children() if child[0] not in refused)
        while True:
            with collector_paused():
                batch = list(islice(children, self.batch_size))
                if not batch:
                    return
                report.children += len(batch)
                self._save(report, batch)

    def _save(self, report: ImportReport, batch: list[tuple[str, list[Checked]]]) -> None:
        """One atomic save for a batch of children; replayed on fresh state if another
        writer saved to one of its cases meanwhile (`CareLedger.after_conflict`)."""
        today = self._today()
        for attempt in range(1, self.ledger.save_attempts + 1):
            cases = self.ledger.cases_of(self.council, [child for child, _ in batch])
            changes: list[ChildChanges] = [
                changes_for(
                    cases.get(child), ChildRows(self.year, today, rows, validated=True), child
                )
                for child, rows in batch
            ]
            try:
                self.ledger.save_reported(
                    self.council,
                    [(cases.get(c.child_ref), c.child_ref, c.payloads) for c in changes],
                    self.recorded_by,
                )
            except IntegrityError as error:
                try:
                    self.ledger.after_conflict(error, attempt)
                except RecordingConflict as conflict:
                    raise RecordingConflict(
                        conflict.attempts,
                        f"the import stopped after recording {report.events} event(s); run "
                        "it again to finish it (nothing is recorded twice)",
                    ) from error
                continue
            for c in changes:
                report.events += len(c.payloads)
                report.corrections += c.corrections
                report.unchanged += c.unchanged
            return


def _as_given(cell: str | None, longest: int = 64) -> str | None:
    """A CHILD cell that is no child's id, as the report shows it: the council must find the
    row, but a cell of a megabyte is not repeated whole."""
    if not cell:
        return None
    return cell if len(cell) <= longest else cell[:longest] + "…"
