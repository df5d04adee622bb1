"""Reading a return faster must not change what it records: the sample returns imported into a
ledger on a fixed day record exactly the log they recorded before the import was made faster.

The sample return (with a SWEpisodes table made from its episodes, so every table is read)
and the five multi-year returns, imported one after another into one council so that later
returns restate, correct and leave out what earlier ones gave, are recorded on each store.
Every stored event (its kind, version, case and whole stored state) and every import's
report (counts and refusals) go into one SHA-256 digest, compared with the digest the
import gave before: `DIGEST` was computed by this test from the import as it was when the
test was written, and was not changed since. A deliberate change to what a return records
changes it; run this file with `python -m tests.test_import_903_log_digest` to print the new
one, and say in the commit why the events changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from careledger.api import Opened, opened
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.vocabulary import Role
from careledger.ledger.ssda903.importer import ImportReport, ReturnImport

DATA = Path(__file__).resolve().parent / "data" / "ssda903"
FAKE = DATA / "d2i_validator_fake_2017_18"
MULTIYEAR = DATA / "d2i_demand_model_multiyear"
COUNCILS = ("E09000027", "E08000035")
ACTOR = p.Actor(actor_id="returns.team", role=Role.ADMIN)
TODAY = datetime(2026, 6, 1, 9, tzinfo=UTC)  # the fake return has reviews after this day
DIGEST = "5219e492364907489d55371d76e9b39d0fc3f1c46d66eeb86f18e8c650084b8c"
SW_REASONS = ("", "MANAGE", "FCONTA", "LEFTRL", "ORGRST", "TSPROC", "OTHERS")


def with_social_workers(source: Path, into: Path) -> Path:
    """The return's tables, and a SWEpisodes table with one allocation for each episode:
    a worker out of 23, from the episode's start, with one of the reasons or none."""
    shutil.copytree(source, into)
    with (source / "episodes.csv").open(newline="") as f:
        episodes = list(csv.DictReader(f))
    with (into / "sw_episodes.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["CHILD", "DOB", "SW_ID", "SW_DECOM", "SW_DEC", "SW_REASON"])
        for n, row in enumerate(episodes):
            reason = SW_REASONS[n % len(SW_REASONS)]
            writer.writerow([row["CHILD"], "", f"SW{n % 23:03d}", row["DECOM"], row["DEC"], reason])
    return into


def imports(o: Opened, work: Path) -> Iterator[ImportReport]:
    """Every sample return imported, in the order a council would import them."""
    fake = with_social_workers(FAKE, work / "fake")
    yield ReturnImport(o.ledger, COUNCILS[0], 2017, ACTOR).run(fake, accept_partial=True)
    for year in range(2017, 2022):
        run = ReturnImport(o.ledger, COUNCILS[1], year, ACTOR)
        yield run.run(MULTIYEAR / str(year), accept_partial=True)


def report_line(report: ImportReport) -> str:
    refused = [(r.file, r.row, r.column, r.reason, r.child) for r in report.refused]
    counts = (report.children, report.events, report.corrections, report.unchanged)
    return json.dumps([report.council, report.year, counts, refused, report.recorded])


def log_lines(o: Opened) -> Iterator[str]:
    """Each stored event in the log's order: its case (numbered as first seen), position in
    the case, kind and state as stored."""
    cases: dict[object, int] = {}
    start = 1
    while notifications := o.ledger.recorder.select_notifications(start=start, limit=1000):
        for n in notifications:
            case = cases.setdefault(n.originator_id, len(cases))
            state = o.ledger.mapper.decode_state(n.state)
            yield json.dumps([case, n.originator_version, n.topic, state])
        start = notifications[-1].id + 1


def digest_of_imports(o: Opened) -> tuple[str, list[ImportReport], set[str]]:
    """The digest, the imports' reports and the kinds of event recorded."""
    o.ledger.clock = lambda: TODAY
    h = hashlib.sha256()
    with tempfile.TemporaryDirectory(prefix="careledger-903-digest-") as work:
        reports = list(imports(o, Path(work)))
    for report in reports:
        h.update(report_line(report).encode() + b"\n")
    kinds = set()
    for line in log_lines(o):
        h.update(line.encode() + b"\n")
        kinds.add(json.loads(line)[2].rsplit(":", 1)[-1])
    return h.hexdigest(), reports, kinds


def test_the_sample_returns_record_the_same_log_as_before(o: Opened) -> None:
    digest, reports, kinds = digest_of_imports(o)

    assert all(r.recorded and r.events for r in reports)
    assert reports[0].refused and sum(r.corrections for r in reports[2:]) > 0
    assert {"SocialWorkerAllocated", "CorrectionRecorded", "ChildDetailsRecorded"} <= kinds
    assert digest == DIGEST


if __name__ == "__main__":
    with (
        tempfile.TemporaryDirectory() as folder,
        opened(str(Path(folder) / "digest.db"), create_tables=True) as ledger,
    ):
        sys.stdout.write(digest_of_imports(ledger)[0] + "\n")
