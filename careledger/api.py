"""careledger's Python API: the one place that wires a ledger together (the store, the
cipher, the settings and the projections), used by the command line, the tests and the
benchmarks alike.

    from careledger.api import opened

    with opened("careledger.db", create_tables=True) as ledger:
        ledger.record(events, actor="lcs-feed", role="SW")   # JSON Lines objects
        rows = ledger.plan("E10000099:NR-0101", as_of=date(2025, 3, 1))

Its methods answer as the commands do, with plain values (rows as dicts, counts, reports,
a court chronology, a seal, a verdict);
`ledger.ledger` (the `CareLedger` that records) and `ledger.views` (the projections) are
there for the rest. They do not ask who is reading: `ledger.access` (`careledger.access`)
does, and logs the read, before a face that serves people (the service, the command line)
calls them.

`opened` takes the location as `--db` and CARELEDGER_DB do: a SQLite file's path, or a
`postgresql://` URL (default: the `store.db` setting). Its settings (the cipher key, the
head key, the limits, the policy, the drift thresholds, the challenge protocol) are read
from the environment and the settings file (`careledger.settings`), or taken from the
`settings=` given. What the ledger has to tell its caller without failing (the projections
are behind, a role may not write them) goes to `Opened.notify`, standard error by default.

Reading and projecting can be kept apart. By default an opened ledger brings the projections
up to date itself before it reads them and after it records (the single-user default). With
`catch_up=False` it leaves that to one projector process (`careledger project --follow`)
and answers from the projections as they stand. With `reading=True` (the read URL,
CARELEDGER_READ_DB: a reader's role, or a streaming replica) it can only read: its database
connections refuse every write, and it records nothing. `Opened.lag()` says how far behind
the ledger the projections it answers from are:

    with opened(read_url, reading=True) as ledger:
        rows, lag = ledger.plan("E10000099:NR-0101"), ledger.lag()
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress

from careledger.access import Access
from careledger.ledger.application import CareLedger
from careledger.ledger.domain import limits
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.domain.identity import case_id
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.errors import (
    CaseNotFound,
    ChainBroken,
    LedgerError,
    RecordingRefused,
    StoreFailure,
)
from careledger.ledger.integrity import seal as sealing
from careledger.ledger.integrity.seal import Seal, read_public_key
from careledger.ledger.integrity.verify import Verdict, verify
from careledger.ledger.ssda903.importer import ImportReport, ReturnImport
from careledger.ledger.ssda903.records import collection_name
from careledger.ledger.store.failures import STORE_ERRORS, describe, is_missing_table, problem
from careledger.ledger.store.location import Store, store_for
from careledger.projections import queries, returns
from careledger.projections import reviews as child_reviews
from careledger.projections.caseload import caseload
from careledger.projections.challenge_report import ChallengeReport, challenge_report
from careledger.projections.chronology import Chronology, chronology
from careledger.projections.chronology_check import ExportVerdict, check_export, read_stamp
from careledger.projections.drift import By, Report, drift_report
from careledger.projections.inbox import InboxEntry, parse_key
from careledger.projections.inbox import inbox as inbox_entries
from careledger.projections.lag import Lag, lag_of
from careledger.projections.queries import Child
from careledger.projections.runner import Progress as ProgressCallback
from careledger.projections.runner import Projector, ViewsReadOnly, open_views
from careledger.projections.views import CaseViews, Row
from careledger.settings import Settings, section


def debugging() -> bool:
    """CARELEDGER_DEBUG=1: show the traceback behind an error, not only its one line. Asked
    while reporting an error, so a bad setting here means no traceback."""
    try:
        return bool(section("diagnostics").debug)
    except LedgerError:
        return False


def setting(name: str, settings: Settings | None = None) -> Any:
    """A section of the settings given, or else read now from the environment and the file."""
    return getattr(settings, name) if settings is not None else section(name)


def use_input_limits(settings: Settings | None = None) -> limits.InputLimits:
    """Put the CARELEDGER_MAX_* limits in force before any input is read."""
    return limits.use(setting("limits", settings))


def named_child(child: str | Child) -> Child:
    """A child named as COUNCIL:REF (or a `Child` already)."""
    if isinstance(child, Child):
        return child
    council, sep, ref = child.partition(":")
    if not sep or not council.strip() or not ref.strip():
        raise LedgerError(f"child: '{child}' is not COUNCIL:REF")
    return Child(council.strip(), ref.strip())


def today() -> date:
    """Today in England: the business date the reports default to."""
    return datetime.now(ENGLAND).date()


def to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def read_seal(path: Path, public_key: Path | None = None) -> Seal:
    """A seal from its file (any version), its signature checked: against the public key in
    `public_key` (PEM, received by another channel) if given, so that a seal signed with
    another key is refused; else against the key the seal carries."""
    expected = read_public_key(public_key) if public_key else None
    return sealing.read_seal(path, expected)


@dataclass
class Opened:
    """A ledger, opened: `ledger` records (`CareLedger`), `views` answer the reports,
    `projector` brings the views up to date, and `access` says who may read and record what,
    and logs each read of a child's record (`careledger.access`). `catches_up`: whether this
    ledger brings the views up to date itself; `reading`: opened for reading only (it records
    nothing, the access log included: log reads where the ledger is recorded)."""

    ledger: CareLedger
    views: CaseViews
    projector: Projector
    access: Access
    notify: Callable[[str], None] = field(default=to_stderr)
    settings: Settings | None = None  # None: each section read from the environment when used
    catches_up: bool = True
    reading: bool = False

    # --- in the business's words: what the command line's commands do -------------------

    def record(self, events: Iterable[Mapping[str, Any]], actor: str, role: str) -> int:
        """Record every event (the JSON Lines format's objects) or none, as `actor` in `role`;
        returns how many were recorded. A refusal raises `RecordingRefused` naming the field
        (`BatchRefused.index` says which event)."""
        self._check_may_write("record")
        commands = [parse_command(dict(event)) for event in events]
        recorded = self.ledger.record(commands, p.Actor(actor_id=actor, role=Role(role)))
        self.catch_up_after_recording()
        return len(recorded)

    def children(self) -> list[Row]:
        """Every child the ledger holds a case of, by council and reference: whether looked
        after and since when, legal status, IRO, how many events."""
        self.catch_up()
        return queries.cases(self.views)

    def plan(
        self, child: str | Child, as_of: date | None = None, as_recorded_on: date | None = None
    ) -> list[Row]:
        """The child's (COUNCIL:REF) care plan in force on `as_of` (default: now), as the
        ledger knew it at the end of `as_recorded_on` (default: now), section by section."""
        known = datetime.combine(as_recorded_on, time.max, ENGLAND) if as_recorded_on else None
        self.catch_up()
        return queries.plan(self.views, named_child(child), as_of, known)

    def history(self, child: str | Child) -> list[Row]:
        """Every event of the child's case, in order, with what it changed."""
        self.catch_up()
        return queries.history(self.views, named_child(child))

    def unapproved(self, child: str | Child | None = None) -> list[Row]:
        """Changes made without review approval, and those listed for the IRO's attention."""
        self.catch_up()
        return queries.unapproved(self.views, named_child(child) if child else None)

    def reviews(
        self, child: str | Child, as_of: date | None = None, as_recorded_on: date | None = None
    ) -> dict[str, list[Row]]:
        """The child's review timetable (reg 33) and the recommendations of their reviews on
        `as_of` (default: today), of what was recorded by the end of `as_recorded_on`
        (default: everything recorded)."""
        who, on = named_child(child), as_of or today()
        self.catch_up()
        return {
            "timetable": child_reviews.timetable(self.views, who, on, as_recorded_on),
            "recommendations": child_reviews.recommendations(self.views, who, on, as_recorded_on),
        }

    def caseload(self, iro: str, on: date) -> list[str]:
        """The children (COUNCIL:REF) looked after whose IRO `iro` is on `on`: what the IRO's
        workspace lists. Names only: each child's record is read through `access` first."""
        self.catch_up()
        return [f"{child.council}:{child.child_ref}" for child in caseload(self.views, iro, on)]

    def inbox(
        self, iro: str, on: date | None = None, children: Iterable[str] | None = None
    ) -> list[InboxEntry]:
        """The IRO's inbox on `on` (default: today): the changes to the children of their
        caseload (or of `children`, those of it a caller has checked access to) that they have
        not acknowledged, newest first (`projections.inbox`)."""
        day = on or today()
        self.catch_up()
        load = caseload(self.views, iro, day)
        if children is not None:
            allowed = {named_child(child) for child in children}
            load = [child for child in load if child in allowed]
        return inbox_entries(self.views, iro, load, day)

    def acknowledge(
        self, key: str, seen: int, actor: str, iro: str, on: date | None = None
    ) -> InboxEntry:
        """Record that `iro` (the signed-in IRO, recording as `actor`) acknowledges the entry
        `key` of their inbox (an `IROInformed` event), read when the case's last event was
        `seen`. Refused, naming the field, when the entry is not in their inbox now
        (acknowledged already, or not a change of a child of theirs), or when the case has
        changed since (a stale inbox: the IRO must see the new change first)."""
        try:
            child, _, _ = parse_key(key)
            named = named_child(child)
        except (ValueError, LedgerError) as error:
            raise RecordingRefused("entry", f"'{key}' {error}") from None
        # Checked and recorded under the case's lock: no other thread of this process
        # records to the child between the check of `seen` and the acknowledgement.
        with self.ledger.case_locks.held([case_id(named.council, named.child_ref)]):
            return self._acknowledged(key, seen, actor, iro, (child, named), on or today())

    def _acknowledged(
        self, key: str, seen: int, actor: str, iro: str, of: tuple[str, Child], day: date
    ) -> InboxEntry:
        child, named = of
        entry = next((found for found in self.inbox(iro, day, [child]) if found.key == key), None)
        if entry is None:
            raise RecordingRefused(
                "entry", f"'{key}' is not in your inbox: acknowledged already, or not yours"
            )
        case = self.ledger.case(named.council, named.child_ref)
        now_seen = max(
            (s for s, e in case.entries.items() if not isinstance(e.payload, p.IROInformed)),
            default=0,
        )
        if seen != now_seen:
            raise RecordingRefused(
                "seen",
                f"{named.council}:{named.child_ref}'s record has changed since you read your "
                "inbox: read it again, then acknowledge",
            )
        event: dict[str, Any] = {
            "type": "IROInformed",
            "council": named.council,
            "child": named.child_ref,
            "occurred_on": day.isoformat(),
            "source": "careledger inbox",
            "event_seq": entry.event,
            "recommendation_id": entry.recommendation_id,
            "informed_of": entry.informed_of,
            "iro": {"name": iro, "role": "IRO"},
        }
        self.record([event], actor, "IRO")
        return entry

    def drift(
        self,
        as_of: date | None = None,
        by: str | None = None,
        as_recorded_on: date | None = None,
        months: int = 0,
        councils: frozenset[str] | None = None,
    ) -> Report:
        """The inspector's drift report on `as_of` (default: today), of what was recorded by
        the end of `as_recorded_on` (default: everything recorded; `as_of` itself: what an
        inspector would have seen that day), overall or by "council", "iro" or "team", with a
        trend over the `months` month ends before it; thresholds from the CARELEDGER_ drift
        settings, challenges' timescales from the council's dispute protocol (IRO Handbook
        ch.6); `councils`: only those councils' children counted (None: every council's)."""
        grouped, on = By(by) if by else None, as_of or today()
        thresholds = setting("drift", self.settings)
        protocol = setting("challenge", self.settings)
        self.catch_up()
        return drift_report(
            self.views, on, grouped, thresholds, months, protocol,
            as_recorded_on=as_recorded_on, councils=councils,
        )  # fmt: skip

    def challenges(
        self,
        as_of: date | None = None,
        child: str | Child | None = None,
        as_recorded_on: date | None = None,
    ) -> list[Row]:
        """Each IRO challenge (of one child, if named) as it stood at the end of `as_of`
        (default: today), of what was recorded by the end of `as_recorded_on` (default:
        everything recorded)."""
        on = as_of or today()
        return self.challenge_report(on, child, as_recorded_on=as_recorded_on).challenges

    def challenge_report(
        self,
        as_of: date,
        child: str | Child | None = None,
        council: str | None = None,
        iro: str | None = None,
        only_open: bool = False,
        as_recorded_on: date | None = None,
    ) -> ChallengeReport:
        """The IRO challenges (of one child, council or IRO; only the open ones if asked) as
        they stood at the end of `as_of`, of what was recorded by the end of
        `as_recorded_on` (default: everything recorded), with the statistics per IRO and per
        council, judged by the council's protocol (the CARELEDGER_CHALLENGE_ settings)."""
        protocol = setting("challenge", self.settings)
        self.catch_up()
        who = named_child(child) if child else None
        return challenge_report(
            self.views, as_of, protocol, who, council, iro, only_open, as_recorded_on
        )

    def inconsistencies(
        self, child: str | Child | None = None, council: str | None = None, year: int | None = None
    ) -> list[Row]:
        """What the SSDA903 records say that does not fit together, per child (of one child
        or council, if named; in the return for collection `year`, if given), each with the
        DfE validation rule it matches."""
        who = named_child(child) if child else None
        self.catch_up()
        if who is not None:
            queries.require_case(self.views, who)
        place = who.council if who else council
        if year is not None and not returns.holds_year(self.views, place, year):
            of = f" of council '{place}'" if place else ""
            raise LedgerError(
                f"--year: the ledger holds no {collection_name(year)} return{of}, "
                "nor any record of that year"
            )
        return returns.inconsistency_rows(self.views, place, who.child_ref if who else None, year)

    def projections_status(self) -> list[Row]:
        """Each projection's position against the newest event, and its lag."""
        s = self.projector.status()
        return [{"projection": s.name, "position": s.position, "newest_event": s.newest,
                 "lag": s.lag}]  # fmt: skip

    def import_return(
        self,
        directory: Path,
        council: str,
        year: int,
        actor: str,
        role: str = "ADMIN",
        accept_partial: bool = False,
    ) -> ImportReport:
        """A council's SSDA903 return for collection `year`, read into the ledger (returns
        oldest first); the report names every refused row."""
        self._check_may_write("import a return")
        self.projector.catch_up()  # which return is newest is read from the views
        newest = returns.newest_return(self.views, council)
        recorded_by = p.Actor(actor_id=actor, role=Role(role))
        importer = ReturnImport(self.ledger, council, year, recorded_by, newest_year=newest)
        report = importer.run(directory, accept_partial)
        self.catch_up_after_recording(show_progress=report.events > 500)
        return report

    def export_return(
        self, council: str, year: int, directory: Path, force: bool = False
    ) -> dict[str, int]:
        """The council's SSDA903 return for `year` written into `directory` (owner-only
        files; `force`: also through a symbolic link); how many rows of each table."""
        self.catch_up()
        if not returns.holds_council(self.views, council):
            raise LedgerError(f"--council: the ledger holds no case of council '{council}'")
        directory.mkdir(parents=True, exist_ok=True)
        return returns.export(self.views, council, year, directory, force)

    def verify(self, child: str | None = None, seal: Seal | None = None) -> Verdict:
        """The integrity chain recomputed from the stored rows (`Verdict.intact`); with a
        `seal` (`read_seal`), also whether the ledger still holds, unchanged, what it held when
        sealed (`Verdict.seal_problem`)."""
        case = named_child(child).case_id if child else None
        try:
            return verify(self.ledger.store_recorder, case, seal.point if seal else None)
        except STORE_ERRORS as error:
            if not is_missing_table(error):
                raise
            raise LedgerError(
                "the integrity chain cannot be read from the ledger at "
                f"'{self.ledger.store.location}' ({problem(error, self.ledger.store)}): its "
                "table was removed or never made; nothing can be verified"
            ) from error

    def seal(self, key: Path, sealed_by: str, sealed_at: datetime | None = None) -> Seal:
        """The ledger's digest and event count signed with the Ed25519 private key in `key`
        (PEM), after the whole chain is verified: a seal to hand outside the council, which
        `verify(seal=...)` checks later. A broken chain is never sealed."""
        verdict = self.verify()
        if not verdict.intact:
            raise ChainBroken("the chain is broken: run 'careledger verify'; nothing sealed")
        at = sealed_at or datetime.now(UTC)
        return sealing.sign(key, verdict.events, verdict.head, at, sealed_by)

    def chronology(
        self,
        child: str,
        produced_by: str,
        period_from: date | None = None,
        period_to: date | None = None,
        produced_at: datetime | None = None,
    ) -> Chronology:
        """The court chronology of the child (docs/rules.md §8): its rows, the case's head
        digest, the content digest and the stamp that every form carries. Read from the
        case's stored events whose chain was just verified, never from a projection table; a
        broken chain is refused. `render(chronology, form)` (careledger.projections.
        chronology_forms) gives its Markdown, CSV, HTML, PDF or JSON."""
        if period_from and period_to and period_from > period_to:
            raise LedgerError("period_from: is after period_to")
        who = named_child(child)
        events, hashes = self.ledger.verified_events(who.case_id)
        if not hashes:
            raise CaseNotFound(who.council, who.child_ref)
        at = produced_at or datetime.now(UTC)
        period = (period_from, period_to)
        presumed = self.views.presumed_significant
        return chronology(events, who, hashes, at, produced_by, period, presumed=presumed)

    def verify_export(self, export: Path | bytes) -> ExportVerdict:
        """An exported chronology (a file, or its bytes, in any form) checked against the
        ledger now: the same events, unchanged; the file exactly what the ledger gives for
        them; the entries corrected since; the events recorded since. Every earlier version
        of the forms is read (`careledger.projections.chronology.FORMATS`)."""
        data = export.read_bytes() if isinstance(export, Path) else export
        stamp = read_stamp(data)
        self.catch_up()
        who = queries.child_of_case(self.views, stamp.case)
        if who is None:
            raise LedgerError(
                f"FILE: the export is of case {stamp.case}, which this ledger does not hold"
            )
        events, hashes = self.ledger.verified_events(who.case_id)
        return check_export(data, who, events, hashes, self.views.presumed_significant)

    def lag(self) -> Lag:
        """How far behind the ledger the views this ledger answers from are
        (`projections.lag`): events not yet applied, and since when."""
        return lag_of(self.ledger, self.views)

    # --- keeping the views up to date ----------------------------------------------------

    def catch_up(self, show_progress: bool = False) -> int:
        """Bring the views up to date before they are read; unless this ledger leaves that to
        the projector (`catches_up` false), which never writes here: the views are read as
        they are (`lag()` says how far behind). A role that may not write them (a PostgreSQL
        writer's or reader's) reads them as they are, and is told the lag. If catching up
        fails otherwise nothing is shown: a report missing the newest events could mislead
        (a change not yet flagged as unapproved, a review not yet counted)."""
        if not self.catches_up:
            return 0
        try:
            return self._catch_up(show_progress)
        except ViewsReadOnly as behind:
            self.notify(f"note: {behind}; answering from them as they are")
            return 0
        except STORE_ERRORS as error:
            raise LedgerError(
                f"the projections could not catch up with the ledger "
                f"({describe(self.ledger.store, error)}); nothing shown, as they may lack the "
                "newest events: mend the cause and run the command again"
            ) from error

    def recorded_to(self) -> int:
        """The log position of the newest event recorded (0 for an empty ledger)."""
        return self.ledger.recorder.max_notification_id() or 0

    def catch_up_after_recording(
        self, show_progress: bool = False, through: int | None = None
    ) -> bool:
        """Bring the views up to date after events were committed (with `through`, up to
        that log position): whether they now are. The events are recorded whatever happens
        here: a failure leaves the projections behind, and the next command that reads them
        catches them up. It is reported as a warning, never as a failure to record: a user
        who recorded again would record twice every event without an id of its own."""
        if not self.catches_up:
            return False
        try:
            self._catch_up(show_progress, through)
            return True
        except ViewsReadOnly as behind:
            self.notify(f"note: {behind}")
        except Exception as error:
            reason = (
                describe(self.ledger.store, error)
                if isinstance(error, STORE_ERRORS)
                else f"{type(error).__name__}: {error}"
            )
            self.notify(
                f"warning: the projections are behind the ledger ({reason}); the next command "
                "that reads them catches them up ('careledger projections status' shows the "
                "lag)"
            )
            logging.getLogger("careledger").debug("catching up failed", exc_info=True)
        return False

    def rebuild(self) -> int:
        self._check_may_write("rebuild the projections")
        return self._showing_progress("rebuilding projections", self.projector.rebuild)

    def close(self) -> None:
        """A failure to close after the work is done is no failure of the command."""
        with contextlib.suppress(*STORE_ERRORS):
            self.views.datastore.close()
        with contextlib.suppress(*STORE_ERRORS):
            self.ledger.close()

    def _check_may_write(self, what: str) -> None:
        if self.reading:
            raise LedgerError(
                f"cannot {what}: the ledger at {self.ledger.store.location} was opened for "
                "reading (the read URL, CARELEDGER_READ_DB); use the ledger's own "
                "(CARELEDGER_DB)"
            )

    def _catch_up(self, show_progress: bool, through: int | None = None) -> int:
        if not show_progress:
            return self.projector.catch_up(stop=through)
        return self._showing_progress(
            "updating projections", lambda progress: self.projector.catch_up(progress, through)
        )

    @staticmethod
    def _showing_progress(what: str, run: Callable[[ProgressCallback], int]) -> int:
        with progress_bar() as progress:
            task = progress.add_task(what, total=None)
            return run(lambda done, total: progress.update(task, completed=done, total=total))


def progress_bar() -> Progress:
    """A progress bar on stderr, shown only when stderr is a terminal: stdout is the
    command's answer (a count, a CSV, JSON), and rich leaves a blank line where a bar was
    on anything that is not a terminal."""
    console = Console(stderr=True)
    console.quiet = not console.is_terminal  # rich writes a newline even for a disabled bar
    return Progress(transient=True, console=console, disable=console.quiet)


@contextmanager
def opened(
    db: str | None,
    *,
    create_tables: bool = False,
    check_policy: bool = True,
    settings: Settings | None = None,
    catch_up: bool | None = None,
    reading: bool = False,
) -> Iterator[Opened]:
    """The ledger and its views. A store that fails (unreachable, full, read-only, not a
    ledger), while opening or during the command, is reported in one line naming it.
    `catch_up=False` (default: the `store.catch_up` setting, CARELEDGER_CATCH_UP, true):
    the views are left to the projector (`careledger project --follow`);
    `reading=True`: opened for reading only, on connections that refuse every write (and
    so never catching up)."""
    if reading and create_tables:
        raise LedgerError("a ledger opened for reading creates no tables")
    use_input_limits(settings)
    store = _store(db, create_tables, settings)
    try:
        ledger = _open(store, check_policy, settings, reading)
        if catch_up is None:
            catch_up = setting("store", settings).catch_up
        ledger.catches_up = catch_up and not reading
        try:
            yield ledger
        finally:
            ledger.close()
    except STORE_ERRORS as error:
        raise StoreFailure(describe(store, error)) from error


def _store(db: str | None, create_tables: bool, settings: Settings | None) -> Store:
    """The store the settings describe: where (`db`, else CARELEDGER_DB), its cipher key
    and its head key."""
    where, integrity = setting("store", settings), setting("integrity", settings)
    key = where.cipher_key.get_secret_value() if where.cipher_key is not None else None
    return store_for(
        db if db is not None else where.db,
        create_tables=create_tables,
        cipher_key=key,
        cipher_key_file=where.cipher_key_file,
        head_key_file=integrity.head_key_file,
        head_log=integrity.head_log,
    )


def _open(
    store: Store, check_policy: bool, settings: Settings | None, reading: bool = False
) -> Opened:
    # The challenge protocol is read when a challenge first needs it: a bad challenge
    # setting stops only what needs it.
    ledger = CareLedger(store, protocol=lambda: setting("challenge", settings), reading=reading)
    try:
        views = open_views(ledger, policy=setting("policy", settings), reading=reading)
    except BaseException:
        with contextlib.suppress(*STORE_ERRORS):
            ledger.close()
        raise
    access = Access(ledger, setting("access", settings))
    opened = Opened(
        ledger, views, Projector(ledger, views), access, settings=settings, reading=reading
    )
    try:
        if store.env["CREATE_TABLE"] == "yes":
            opened.access.create_tables()
        opened.projector.status()
        if check_policy:
            opened.access.store.check_tables()
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
