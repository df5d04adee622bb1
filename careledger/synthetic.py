"""Synthetic children's histories, deterministic for a seed: the drift benchmark's load and the
demo's background children. Every child, person and reference is invented.

Each child becomes looked after in the three years before `until`, is allocated a social
worker and an IRO, has a care plan agreed, and is reviewed on reg 33's timetable
(`projections.timetable.due_on`) until they leave care or `until`. The drift report's measures
each find something: a few children miss a recent review or have no permanence plan, a few
see their IRO and social worker change again and again, some IROs carry more than the
Handbook's 70 children, some reviews are late or without the child's voice, some
recommendations are left open, and a few records are made weeks late.

The ledger is fed by the council's case-management system once an hour (09:00-17:00 on
working days): `recorded_at` is the hour of the feed that carried the record, so many
records share a clock and a loader can record each hour's feed in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from random import Random
from typing import TypeVar

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import Command
from careledger.ledger.domain.vocabulary import LegalStatus, Participation, Role, Section
from careledger.projections.timetable import (
    Regime,
    add_months,
    due_on,
    is_working_day,
    working_day_after,
)

K = TypeVar("K")

# Invented names, as words rather than 40 quoted strings each.
FIRST_NAMES = (  # noqa: SIM905
    "Aisha Ben Chloe Dev Ella Femi Grace Hamza Isla Jack Kiran Leah Marcus Nadia Owen Priya "
    "Quinn Rosa Sam Tariq Uma Victor Wendy Yusuf Zara Amir Bethan Callum Dina Eamon Farah "
    "Gareth Hana Ivan Jade Kofi Lena Mo Niamh Oscar"
).split()
SURNAMES = (  # noqa: SIM905
    "Abara Bell Carter Desai Evans Fraser Green Hughes Iqbal Jones Khan Lewis Mensah Nolan "
    "Okafor Patel Quinn Reid Shah Turner Usman Vaughan Walsh Young Zaman Ahmed Brooks Cole "
    "Doyle Ellis Fox Grant Hale Ince Jarvis Kerr Lloyd Moss Nash Obi"
).split()
AREAS = ("Northgate", "Riverside", "Eastfield", "Westbrook", "Southmoor", "Hillcrest", "Oakley")
TEAM_KINDS = ("Children in Care", "Court and Assessment", "Adolescents", "Care Leavers")

YEARS_BACK = 3  # children become looked after in the three years before `until`
SW_CASELOAD = 16
STILL_IN_CARE = 0.65  # about two children in three are still looked after at `until`
HEAVY_IRO_LOAD = 1.4  # one IRO in five carries this many times the usual caseload
FEED_HOURS = (9, 17)  # the hourly feed from the case-management system, first and last

# Rare traits go to exactly this share of children (at least one), so that every drift
# measure finds something even in a small ledger.
RARE_TRAITS = {"missed_review": 0.04, "no_permanence": 0.04, "churn": 0.03, "short_breaks": 0.03}
STAYS = frozenset({"missed_review", "no_permanence", "churn"})  # still in care at `until`

LEGAL_STATUS = {"C1": 45, "V2": 35, "C2": 12, "L1": 3, "L2": 3, "J1": 2}
NEXT_STATUS = {"C1": ("C2", 182), "L1": ("C1", 3), "L2": ("C1", 8)}  # usual step, after days
PLACEMENTS = {"U4": 35, "U1": 10, "U6": 10, "U3": 8, "K2": 12, "P1": 6, "R1": 4, "H5": 5}
LEAVING = {"E4A": 40, "E13": 12, "E45": 8, "E41": 6, "E11": 6, "E46": 5, "E3": 3, "E8": 4}
AT_EIGHTEEN = {"E5": 40, "E17": 30, "E6": 15, "E8": 15}
# Age on entering care: weights after the DfE's looked-after statistics, roughly.
AGE_AT_ENTRY = {0: 8, 1: 4, 2: 3, 3: 3, 5: 5, 7: 5, 9: 6, 11: 9, 13: 12, 14: 14, 15: 14, 16: 17}
PARTICIPATION = {"PN1": 45, "PN2": 9, "PN3": 4, "PN4": 5, "PN5": 12, "PN6": 13, "PN7": 12}
SW_REASONS = ("MANAGE", "LEFTRL", "ORGRST", "ABSENC", "CHCHAN", "OTHERS")
IRO_REASONS = ("IRO left the service", "caseload rebalancing", "IRO on long-term leave")

PLACE_KINDS = {
    "U": "Foster carers",
    "K": "Children's home",
    "P": "Placed with parents",
    "R": "Residential care home",
    "H": "Semi-independent accommodation",
}
PERMANENCE = (
    "Long-term fostering with the current carers",
    "Return home to be assessed",
    "Adoption, in parallel with assessment of the wider family",
    "Special guardianship with the grandparents to be assessed",
)
CHANGES = {
    Section.PLACEMENT: ("Move to a long-term foster placement", "Move to a children's home"),
    Section.EDUCATION: ("Move to a school nearer the placement", "One-to-one tuition via the PEP"),
    Section.HEALTH: ("Referral to CAMHS", "Speech and language therapy"),
    Section.FAMILY_SOCIAL: ("Contact with mother increased to weekly", "Sibling contact monthly"),
    Section.PERMANENCE: ("Plan changed to long-term fostering", "Plan changed to return home"),
}
RECOMMENDATIONS = (
    "Refer to CAMHS for an assessment",
    "Complete the PEP with the designated teacher",
    "Arrange a dental check-up",
    "Begin life-story work",
    "Offer an independent visitor",
    "Arrange sibling contact twice a month",
    "Update the health assessment",
    "Start the pathway plan",
)


@dataclass(frozen=True)
class Worker:
    worker_id: str
    name: str
    team: str | None = None  # a social worker's team; None for an IRO

    def person(self, role: Role) -> p.Person:
        return p.Person(name=self.name, role=role)


@dataclass
class Council:
    code: str
    iros: list[Worker]
    social_workers: list[Worker]
    managers: dict[str, Worker]  # team manager of each team
    nominated_officer: Worker


@dataclass
class Fate:
    """What will happen to a child, decided before their history is written."""

    council: Council
    ref: str
    traits: frozenset[str]
    entered_on: date
    born_on: date
    legal_status: str
    leaves_on: date | None = None
    final_iro: Worker | None = None


def synthetic_history(
    children: int,
    *,
    seed: int = 1,
    councils: Sequence[str] = ("E10000098",),
    until: date,
    iro_caseload: int = 60,
    ref_prefix: str = "SYN",
) -> list[tuple[datetime, Command]]:
    """(recorded_at, command) pairs of `children` invented children, in recording order.

    `iro_caseload` is each IRO's usual number of children still looked after at `until`."""
    if children < 0 or not councils or iro_caseload < 1:
        raise ValueError("children >= 0, at least one council and iro_caseload >= 1")
    rng = Random(seed)
    names = _names(rng)
    per_council = children // len(councils)
    iro_count = max(1, round(per_council * STILL_IN_CARE / iro_caseload))
    roster = [
        _council(rng, code, i, per_council, iro_count, names) for i, code in enumerate(councils)
    ]
    fates = _fates(rng, children, roster, until, ref_prefix)
    for council in roster:
        _give_final_iros(rng, [f for f in fates if f.council is council], council.iros)
    pairs = [
        (at, Command(fate.council.code, fate.ref, payload))
        for fate in fates
        for at, payload in _recorded(rng, _Story(rng, fate, until).write(), until)
    ]
    return sorted(pairs, key=lambda pair: pair[0])  # stable: each child's order is kept


# --- the councils' staff ---------------------------------------------------------------------


def _names(rng: Random) -> list[str]:
    """Every first name with every surname, in a shuffled order: IROs take the first ones."""
    names = [f"{first} {last}" for first in FIRST_NAMES for last in SURNAMES]
    rng.shuffle(names)
    return names


def _council(
    rng: Random, code: str, index: int, children: int, iro_count: int, names: list[str]
) -> Council:
    area = _area(index)
    teams = [f"{area} {kind}" for kind in TEAM_KINDS] + [f"{area} Children in Care 2"]
    sw_count = max(len(teams), children // SW_CASELOAD)
    tag = f"{index + 1:02d}"
    first = index * iro_count  # every IRO of every council has a name of their own
    iros = [Worker(f"IRO-{tag}{n:04d}", _name(names, first + n)) for n in range(iro_count)]
    social_workers = [
        Worker(f"SW-{tag}{n:05d}", rng.choice(names), teams[n % len(teams)])
        for n in range(sw_count)
    ]
    managers = {team: Worker(f"TM-{tag}{n}", rng.choice(names)) for n, team in enumerate(teams)}
    return Council(code, iros, social_workers, managers, Worker(f"NO-{tag}", rng.choice(names)))


def _area(index: int) -> str:
    """A place name of the council's own: the report groups children by team name."""
    area, lap = AREAS[index % len(AREAS)], index // len(AREAS)
    return f"{area} {lap + 1}" if lap else area


def _name(names: list[str], n: int) -> str:
    """A name of its own for the n-th IRO (the report counts caseloads by the IRO's name)."""
    extra = n // len(names)
    return names[n % len(names)] + (f" {extra + 1}" if extra else "")


def _give_final_iros(rng: Random, fates: list[Fate], iros: list[Worker]) -> None:
    """The IRO each child has at the end: children still in care are shared out so that most
    IROs have the usual caseload and one in five about 1.4 times it; leavers' at random."""
    staying = [f for f in fates if f.leaves_on is None]
    weights = [HEAVY_IRO_LOAD if n % 5 == 0 else 1.0 for n in range(len(iros))]
    total, slots, running = sum(weights), [], 0.0
    for iro, weight in zip(iros, weights, strict=True):
        before = round(len(staying) * running / total)
        running += weight
        slots += [iro] * (round(len(staying) * running / total) - before)
    rng.shuffle(slots)
    for fate, iro in zip(staying, slots, strict=True):
        fate.final_iro = iro
    for fate in fates:
        fate.final_iro = fate.final_iro or rng.choice(iros)


# --- each child's fate -----------------------------------------------------------------------


def _fates(
    rng: Random, children: int, councils: list[Council], until: date, prefix: str
) -> list[Fate]:
    traits = _traits(rng, children)
    return [
        _fate(rng, councils[i % len(councils)], f"{prefix}-{i + 1:06d}", traits[i], until)
        for i in range(children)
    ]


def _traits(rng: Random, children: int) -> list[frozenset[str]]:
    chosen: list[set[str]] = [set() for _ in range(children)]
    for trait, share in RARE_TRAITS.items():
        for i in rng.sample(range(children), min(children, max(1, round(children * share)))):
            chosen[i].add(trait)
    return [frozenset(t) for t in chosen]


def _fate(rng: Random, council: Council, ref: str, traits: frozenset[str], until: date) -> Fate:
    stays = bool(traits & STAYS)
    # Children who stay have been in care eight months at least: past their second review.
    entered_on = until - timedelta(days=rng.randint(240 if stays else 0, 365 * YEARS_BACK))
    age = _weighted(rng, AGE_AT_ENTRY)
    age = min(age, 14) if stays else age
    born_on = add_months(entered_on, -12 * age) - timedelta(days=rng.randint(0, 364))
    status = rng.choice(["V3", "V4", "V4"]) if "short_breaks" in traits else None
    fate = Fate(council, ref, traits, entered_on, born_on, status or _weighted(rng, LEGAL_STATUS))
    eighteen = add_months(born_on, 12 * 18)
    if not stays and eighteen <= until:
        fate.leaves_on = max(eighteen, entered_on + timedelta(days=1))
    elif not stays and rng.random() < 0.3 and (until - entered_on).days > 15:
        fate.leaves_on = entered_on + timedelta(days=rng.randint(15, (until - entered_on).days))
    return fate


def _weighted(rng: Random, weights: dict[K, int]) -> K:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- each child's history --------------------------------------------------------------------


class _Story:
    """One child's events in the order they happened; on the same day, in the order they were
    written, so that a review comes after the proposal it decides and before its follow-up."""

    def __init__(self, rng: Random, fate: Fate, until: date) -> None:
        self.rng, self.fate, self.until = rng, fate, until
        self.ends_on = fate.leaves_on or until
        self.events: list[tuple[date, int, p.Payload]] = []
        self.iros: list[tuple[date, Worker]] = []
        self.social_workers: list[tuple[date, Worker]] = []
        self.numbers: dict[str, int] = {}
        self.placement = _weighted(rng, PLACEMENTS)  # SSDA903 PLACE code on entering care

    def write(self) -> list[tuple[date, p.Payload]]:
        self._enter()
        self._allocate()
        self._agree_plan()
        self._change_legal_status()
        self._review_on_timetable()
        self._leave()
        happened = sorted(e for e in self.events if e[0] <= self.ends_on)
        return [(on, payload) for on, _, payload in happened]

    def _add(self, payload: p.Payload) -> None:
        self.events.append((payload.occurred_on, len(self.events), payload))

    def _source(self, kind: str) -> str:
        return f"LCS/{kind}/{self.rng.randint(10_000, 999_999)}"

    def _next_id(self, prefix: str) -> str:
        self.numbers[prefix] = self.numbers.get(prefix, 0) + 1
        return f"{prefix}-{self.numbers[prefix]}"

    def _age_on(self, day: date) -> int:
        return (day - self.fate.born_on).days * 4 // 1461

    # entry, allocations, plan, legal status, leaving

    def _enter(self) -> None:
        self._add(
            p.ChildBecameLookedAfter(
                occurred_on=self.fate.entered_on,
                source=self._source("EPI"),
                legal_status=LegalStatus(self.fate.legal_status),
                placement=self.placement,
            )
        )

    def _allocate(self) -> None:
        self._allocate_iros()
        self._allocate_social_workers()

    def _allocate_iros(self) -> None:
        """The first IRO within 5 working days (IRO Handbook); the last is the fate's."""
        rng, fate = self.rng, self.fate
        assert fate.final_iro is not None
        first_on = working_day_after(fate.entered_on, rng.randint(1, 5))
        count = 2 if "churn" in fate.traits else _weighted(rng, {0: 85, 1: 12, 2: 3})
        changes = self._change_dates(count, first_on)
        iros = _succession(rng, fate.council.iros, fate.final_iro, len(changes))
        for n, (on, iro) in enumerate(zip([first_on, *changes], iros, strict=True)):
            self.iros.append((on, iro))
            reason = rng.choice(IRO_REASONS) if n else "first allocation"
            self._add(
                p.IROAllocated(
                    occurred_on=on,
                    source=self._source("NOTE"),
                    iro_id=iro.worker_id,
                    iro_name=iro.name,
                    reason=reason,
                )
            )

    def _allocate_social_workers(self) -> None:
        """A social worker from the day the child enters care."""
        rng, fate = self.rng, self.fate
        count = 3 if "churn" in fate.traits else _weighted(rng, {0: 60, 1: 25, 2: 12, 3: 3})
        changes = self._change_dates(count, fate.entered_on)
        workers = fate.council.social_workers
        succession = _succession(rng, workers, rng.choice(workers), len(changes))
        for n, (on, worker) in enumerate(zip([fate.entered_on, *changes], succession, strict=True)):
            self.social_workers.append((on, worker))
            self._add(
                p.SocialWorkerAllocated(
                    occurred_on=on,
                    source=self._source("NOTE"),
                    worker_id=worker.worker_id,
                    worker_name=worker.name,
                    team=worker.team or "",
                    reason=rng.choice(SW_REASONS) if n else None,
                )
            )

    def _change_dates(self, count: int, first: date) -> list[date]:
        """When the worker changes: any time after the first month, or for a child with the
        "churn" trait, all within the last year."""
        start = first + timedelta(days=30)
        if "churn" in self.fate.traits:
            start = max(start, self.until - timedelta(days=330))
        span = (self.ends_on - timedelta(days=5) - start).days
        if span <= 0:
            return []
        return sorted(start + timedelta(days=self.rng.randint(0, span)) for _ in range(count))

    def _agree_plan(self) -> None:
        """The care plan, within 10 working days of entering care (reg 4(2))."""
        on = working_day_after(self.fate.entered_on, self.rng.randint(1, 10))
        sections = {
            Section.PLACEMENT: f"{PLACE_KINDS[self.placement[0]]} ({self.placement})",
            Section.HEALTH: "Initial health assessment within 20 working days",
            Section.FAMILY_SOCIAL: "Family time with parents to be assessed",
        }
        if self._age_on(on) >= 4:
            sections[Section.EDUCATION] = "PEP with the virtual school within 10 school days"
        if "no_permanence" not in self.fate.traits:
            sections[Section.PERMANENCE] = self.rng.choice(PERMANENCE)
        self._add(
            p.CarePlanAgreed(
                occurred_on=on,
                source=self._source("PLAN"),
                sections=sections,
                decided_by=self._manager(on),
            )
        )

    def _change_legal_status(self) -> None:
        step = NEXT_STATUS.get(self.fate.legal_status)
        if step is None or self.rng.random() < 0.25:
            return
        status, days = step
        on = self.fate.entered_on + timedelta(days=days + self.rng.randint(0, days // 4))
        self._add(
            p.LegalStatusChanged(
                occurred_on=on,
                source=self._source("ORD"),
                legal_status=LegalStatus(status),
                order_ref=f"ZW{on:%y}C{self.rng.randint(100, 99_999):05d}",
            )
        )

    def _leave(self) -> None:
        """Ceasing to be looked after, approved by the nominated officer (reg 39(4))."""
        fate = self.fate
        if fate.leaves_on is None:
            return
        reasons = AT_EIGHTEEN if self._age_on(fate.leaves_on) >= 18 else LEAVING
        reason = "E14" if fate.legal_status == "J1" else _weighted(self.rng, reasons)
        officer = fate.council.nominated_officer.person(Role.NOMINATED_OFFICER)
        self._add(
            p.ChildCeasedToBeLookedAfter(
                occurred_on=fate.leaves_on,
                source=self._source("EPI"),
                reason=reason,
                approved_by=officer,
            )
        )

    def _iro_on(self, day: date) -> Worker:
        return _current(self.iros, day)

    def _social_worker_on(self, day: date) -> Worker:
        return _current(self.social_workers, day)

    def _manager(self, day: date) -> p.Person:
        team = self._social_worker_on(day).team or ""
        return self.fate.council.managers[team].person(Role.TM)

    # reviews (reg 33), their decisions and follow-up (reg 37)

    def _review_on_timetable(self) -> None:
        short_breaks = self.fate.legal_status in ("V3", "V4")
        regime = Regime.SHORT_BREAKS if short_breaks else Regime.STANDARD
        previous, number = self.fate.entered_on, 1
        while True:
            due = due_on(number, previous, regime)
            held = self._held_on(previous, due)
            if held > self.ends_on or self._misses(due):
                return
            self._review(number, held, previous)
            previous, number = held, number + 1

    def _held_on(self, previous: date, due: date) -> date:
        """Mostly on time, some late; on a working day."""
        rng = self.rng
        if rng.random() < 0.12:
            day = due + timedelta(days=rng.randint(1, 40))
        else:
            day = max(due - timedelta(days=rng.randint(0, 21)), previous + timedelta(days=14))
        while not is_working_day(day):
            day -= timedelta(days=1)
        return day

    def _misses(self, due: date) -> bool:
        """A child with the "missed_review" trait misses the review due in the last six months."""
        recent = due >= self.until - timedelta(days=183)
        return recent and "missed_review" in self.fate.traits

    def _review(self, number: int, held: date, previous: date) -> None:
        rng = self.rng
        proposal = self._propose(previous, held) if number > 1 and rng.random() < 0.3 else None
        approved = proposal is not None and rng.random() < 0.85
        recommendations = [
            self._recommend(held) for _ in range(_weighted(rng, {0: 25, 1: 35, 2: 30, 3: 10}))
        ]
        participation = "PN0" if self._age_on(held) < 4 else _weighted(rng, PARTICIPATION)
        review_id = f"R-{number}"
        self._add(
            p.ReviewHeld(
                occurred_on=held,
                source=self._source("REV"),
                review_id=review_id,
                chair=self._iro_on(held).person(Role.IRO),
                attendees=self._attendees(participation),
                participation=Participation(participation),
                **self._child_seen(participation),
                decisions=[*_decision(proposal, approved), *recommendations],
            )
        )
        if proposal is not None and approved:
            self._change(proposal, review_id, held)
        for recommendation in recommendations:
            self._follow_up(recommendation, held)

    def _attendees(self, participation: str) -> list[str]:
        present = ["child"] if participation in ("PN1", "PN2", "PN3", "PN4") else []
        others = ["mother", "father", "teacher", "health visitor", "advocate"]
        extra = self.rng.sample(others, self.rng.randint(0, 2))
        return [*present, "carer", "social worker", *extra]

    def _child_seen(self, participation: str) -> dict[str, object]:
        """Whether the IRO spoke with the child before the review (reg 36)."""
        if participation == "PN0":
            return {"child_seen_before": False, "child_not_seen_reason": "under four"}
        chance = self.rng.random()
        if chance < 0.84:
            return {"child_seen_before": True}
        if chance < 0.92:
            return {"child_seen_before": False, "child_not_seen_reason": "declined to meet"}
        return {"child_seen_before": False} if chance < 0.96 else {}

    def _propose(self, previous: date, held: date) -> p.ChangeProposed:
        rng = self.rng
        sections = [
            s
            for s in CHANGES
            if s is not Section.PERMANENCE or "no_permanence" not in self.fate.traits
        ]
        section = rng.choice(sections)
        on = max(previous, held - timedelta(days=rng.randint(3, 20)))
        proposal = p.ChangeProposed(
            occurred_on=on,
            source=self._source("NOTE"),
            proposal_id=self._next_id("P"),
            section=section,
            content=rng.choice(CHANGES[section]),
            significant=section in (Section.PLACEMENT, Section.PERMANENCE) or rng.random() < 0.5,
            proposed_by=self._social_worker_on(on).person(Role.SW),
            child_consulted=rng.random() < 0.95,
        )
        self._add(proposal)
        return proposal

    def _change(self, proposal: p.ChangeProposed, review_id: str, held: date) -> None:
        """The change the review approved, made in the days after it (reg 32(2))."""
        on = held + timedelta(days=self.rng.randint(1, 10))
        self._add(
            p.CarePlanSectionChanged(
                occurred_on=on,
                source=self._source("PLAN"),
                change_id=self._next_id("CH"),
                section=proposal.section,
                content=proposal.content,
                significant=proposal.significant,
                decided_by=self._manager(on),
                authority=p.Authority(
                    kind="review_decision", review_id=review_id, proposal_id=proposal.proposal_id
                ),
                child_consulted=proposal.child_consulted,
            )
        )

    def _recommend(self, held: date) -> p.Recommend:
        rng = self.rng
        owner = (
            self._social_worker_on(held).person(Role.SW)
            if rng.random() < 0.7
            else self._manager(held)
        )
        return p.Recommend(
            kind="recommend",
            recommendation_id=self._next_id("REC"),
            text=rng.choice(RECOMMENDATIONS),
            owner=owner,
            due_on=held + timedelta(days=rng.randint(28, 84)),
        )

    def _follow_up(self, recommendation: p.Recommend, held: date) -> None:
        """Most recommendations completed (some after their date), some overtaken, some left
        open."""
        rng, chance = self.rng, self.rng.random()
        rec_id = recommendation.recommendation_id
        if chance < 0.72:
            on = held + timedelta(days=rng.randint(7, (recommendation.due_on - held).days + 14))
            self._add(
                p.RecommendationCompleted(
                    occurred_on=on,
                    source=self._source("NOTE"),
                    recommendation_id=rec_id,
                    completed_by=recommendation.owner,
                    evidence="Done; the record is on file",
                )
            )
        elif chance < 0.84:
            on = max(held, recommendation.due_on + timedelta(days=rng.randint(-14, 20)))
            self._add(
                p.RecommendationOvertaken(
                    occurred_on=on,
                    source=self._source("NOTE"),
                    recommendation_id=rec_id,
                    decided_by=self._manager(on),
                    reason="Overtaken by a change in the plan",
                )
            )
        elif chance < 0.92:
            self._challenge(recommendation)

    def _challenge(self, recommendation: p.Recommend) -> None:
        """The IRO challenges a recommendation left undone. Its own random stream, so that
        the rest of the history is the same with or without challenges."""
        rng = Random(f"{self.fate.ref}/{recommendation.recommendation_id}")
        raised = recommendation.due_on + timedelta(days=rng.randint(7, 60))
        challenge_id = self._next_id("CHAL")
        iro = self._iro_on(raised).person(Role.IRO)
        self._add(
            p.ChallengeRaised(
                occurred_on=raised,
                source=f"LCS/IRO/{rng.randint(10_000, 999_999)}",
                challenge_id=challenge_id,
                subject="recommendation",
                about=recommendation.recommendation_id,
                concern="The recommendation is past its date and not done",
                raised_by=iro,
            )
        )
        fate = rng.random()
        if fate < 0.3:
            return  # left unanswered
        answered = raised + timedelta(days=rng.randint(1, 18))
        self._add(
            p.ChallengeResponded(
                occurred_on=answered,
                source=f"LCS/IRO/{rng.randint(10_000, 999_999)}",
                challenge_id=challenge_id,
                responded_by=self._manager(answered),
                response="It will be done",
            )
        )
        last = answered
        if fate >= 0.7:
            last = answered + timedelta(days=rng.randint(2, 10))
            self._add(
                p.ChallengeEscalated(
                    occurred_on=last,
                    source=f"LCS/IRO/{rng.randint(10_000, 999_999)}",
                    challenge_id=challenge_id,
                    to_stage=rng.randint(1, 2),
                    escalated_by=iro,
                    reason="Not done by the date promised",
                )
            )
        resolved = last + timedelta(days=rng.randint(5, 40))
        outcome = rng.choice(["upheld", "upheld", "partly_upheld", "not_upheld", "withdrawn"])
        self._add(
            p.ChallengeResolved(
                occurred_on=resolved,
                source=f"LCS/IRO/{rng.randint(10_000, 999_999)}",
                challenge_id=challenge_id,
                outcome=outcome,
                # Only the IRO withdraws their challenge.
                resolved_by=iro if outcome == "withdrawn" else self._manager(resolved),
                summary="Resolved",
            )
        )


def _decision(proposal: p.ChangeProposed | None, approved: bool) -> list[p.Approve | p.Reject]:
    if proposal is None:
        return []
    if approved:
        return [p.Approve(kind="approve", proposal_id=proposal.proposal_id)]
    reason = "The review asked for an assessment first"
    return [p.Reject(kind="reject", proposal_id=proposal.proposal_id, reason=reason)]


def _succession(rng: Random, pool: list[Worker], last: Worker, changes: int) -> list[Worker]:
    """`changes + 1` workers in turn, ending with `last`, none following itself."""
    workers = [last]
    for _ in range(changes):
        others = [w for w in rng.sample(pool, min(len(pool), 3)) if w != workers[0]]
        workers.insert(0, others[0] if others else workers[0])
    return workers


def _current(allocations: list[tuple[date, Worker]], day: date) -> Worker:
    """Who was allocated on `day` (the first, before any allocation)."""
    current = allocations[0][1]
    for on, worker in allocations:
        if on <= day:
            current = worker
    return current


# --- recording ---------------------------------------------------------------------------------


def _recorded(
    rng: Random, events: list[tuple[date, p.Payload]], until: date
) -> list[tuple[datetime, p.Payload]]:
    """When each event reached the ledger: by a feed, never before the child's previous
    record; what would reach it after `until` is left out, and so everything after it."""
    pairs: list[tuple[datetime, p.Payload]] = []
    last: datetime | None = None
    for on, payload in events:
        at = _feed(rng, on) if last is None else max(_feed(rng, on), last)
        if at.date() > until:
            break
        pairs.append((at.astimezone(UTC), payload))
        last = at
    return pairs


def _feed(rng: Random, on: date) -> datetime:
    """Mostly the same or the next working day; a few percent weeks late."""
    chance = rng.random()
    if chance < 0.55 and is_working_day(on):
        day = on
    elif chance < 0.975:
        day = working_day_after(on, 1)
    else:
        day = working_day_after(on + timedelta(days=rng.randint(14, 42)), 1)
    return datetime(day.year, day.month, day.day, rng.randint(*FEED_HOURS), tzinfo=ENGLAND)
