"""The demo's background: the other children of one IRO's caseload, so that the drift report
shows a caseload above the IRO Handbook's 50-70 benchmark. Their histories are unremarkable
on purpose (reviews on time, the child seen and heard, a permanence plan, records made the
same day): the drift the demo explains is in the hand-written histories of demo.jsonl."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import Command
from careledger.ledger.domain.vocabulary import LegalStatus, Participation, Role, Section
from careledger.projections.timetable import due_on

COUNCIL = "E09000099"
CASELOAD = 74
REF_PREFIX = "HM-"
IRO = p.Person(name="Helen Marsh", role=Role.IRO)
FIRST_ENTRY = date(2023, 3, 6)
UNTIL = date(2026, 1, 30)


def background_children() -> list[tuple[datetime, Command]]:
    return [
        (datetime.combine(payload.occurred_on, time(17, 0), ENGLAND).astimezone(UTC), command)
        for n in range(1, CASELOAD + 1)
        for command in _child(n)
        for payload in [command.payload]
    ]


def is_background(council: str, child_ref: str) -> bool:
    """Whether a demo child is one of the caseload's unremarkable children, which the demo
    counts but does not print one by one: the histories worth reading are demo.jsonl's."""
    return council == COUNCIL and child_ref.startswith(REF_PREFIX)


def _child(n: int) -> Iterator[Command]:
    ref = f"{REF_PREFIX}{n:03d}"
    entered = FIRST_ENTRY + timedelta(days=11 * n)
    sw = f"SW-{3100 + n % 9}"

    def command(payload: p.Payload) -> Command:
        return Command(COUNCIL, ref, payload)

    source = f"LCS/{ref}"
    yield command(
        p.ChildBecameLookedAfter(
            occurred_on=entered, source=source, legal_status=LegalStatus.C2, placement="U4"
        )
    )
    yield command(
        p.SocialWorkerAllocated(
            occurred_on=entered,
            source=source,
            worker_id=sw,
            worker_name=f"Social worker {sw}",
            team="Children in Care South",
        )
    )
    yield command(
        p.IROAllocated(occurred_on=entered, source=source, iro_id="IRO-11", iro_name=IRO.name)
    )
    yield command(
        p.CarePlanAgreed(
            occurred_on=entered + timedelta(days=7),
            source=source,
            decided_by=p.Person(name="Adaeze Okoro", role=Role.TM),
            sections={
                Section.PERMANENCE: "Long-term foster care with the current carers",
                Section.PLACEMENT: "Foster placement (U4) with approved local carers",
                Section.HEALTH: "Health assessment done; annual review booked",
                Section.EDUCATION: "Same school; PEP each term",
            },
        )
    )
    yield from (command(review) for review in _reviews(ref, entered))


def _reviews(ref: str, entered: date) -> Iterator[p.ReviewHeld]:
    """Each review held on the last weekday at least two days before it falls due, until the
    inspection day."""
    previous, number = entered, 1
    while (held := _weekday_before(due_on(number, previous) - timedelta(days=2))) <= UNTIL:
        yield p.ReviewHeld(
            occurred_on=held,
            source=f"LCS/{ref}/REV-{number}",
            review_id=f"REV-{number}",
            chair=IRO,
            participation=Participation.PN1,
            child_seen_before=True,
        )
        previous, number = held, number + 1


def _weekday_before(day: date) -> date:
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day
