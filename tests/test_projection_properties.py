"""Property: for any valid history, the projection built incrementally (in any chunks and
batch sizes) equals the projection rebuilt from scratch, and equals what replaying the
aggregate gives."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.api import opened
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.domain.vocabulary import Section
from careledger.projections.followup import versions
from careledger.projections.rules import judge
from careledger.synthetic import synthetic_history

START = date(2021, 1, 4)
SECTIONS = [Section.PLACEMENT, Section.HEALTH, Section.PERMANENCE, Section.EDUCATION]
ACTOR = p.Actor(actor_id="prop", role="ADMIN")
TM = {"name": "Team Manager", "role": "TM"}
IRO = {"name": "Reviewing Officer", "role": "IRO"}
FEED = p.Actor(actor_id="lcs-feed", role="ADMIN")


class Child:
    def __init__(self, ref: str) -> None:
        self.ref = ref
        self.seq = 1
        self.started = False
        self.proposals: list[str] = []
        self.approved: list[tuple[str, str]] = []
        self.iro_agreed: list[str] = []
        self.changes: list[tuple[str, int, date]] = []
        self.reviews = 0
        self.proposal_sections: dict[str, str] = {}
        self.informed: set[int] = set()  # changes the IRO acknowledged (IROInformed)

    def line(self, kind: str, day: date, **fields: Any) -> dict[str, Any]:
        self.seq += 1
        return {
            "type": kind,
            "council": "E10000001",
            "child": self.ref,
            "occurred_on": day.isoformat(),
            "source": f"SRC/{self.ref}/{self.seq}",
            **fields,
        }


@st.composite
def histories(draw: st.DrawFn) -> list[Command]:
    children = [Child(f"P{i}") for i in range(draw(st.integers(1, 3)))]
    lines: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 25))):
        child = draw(st.sampled_from(children))
        day = START + timedelta(days=draw(st.integers(0, 900)))
        if not child.started:
            child.started = True
            lines.append(child.line("ChildBecameLookedAfter", START, legal_status="C2"))
            continue
        lines.append(draw(_next_line(child, day)))
    return [parse_command(line) for line in lines]


@st.composite
def _next_line(draw: st.DrawFn, child: Child, day: date) -> dict[str, Any]:
    options = ["agree", "change", "propose"]
    options += ["review", "iro_agree"] if child.proposals else []
    options += ["by_review"] if child.approved else []
    options += ["by_iro"] if child.iro_agreed else []
    options += ["correct"] if child.changes else []
    unacknowledged = [seq for _, seq, _ in child.changes if seq not in child.informed]
    options += ["inform"] if unacknowledged else []
    kind = draw(st.sampled_from(options))
    section = str(draw(st.sampled_from(SECTIONS)))
    text = draw(st.sampled_from(["Foster carers A", "Kinship care", "Residential", "CAMHS"]))
    if kind == "agree":
        return child.line("CarePlanAgreed", day, sections={section: text}, decided_by=TM)
    if kind == "propose":
        pid = f"prop-{len(child.proposals)}"
        child.proposals.append(pid)
        child.proposal_sections[pid] = section
        return child.line(
            "ChangeProposed",
            day,
            proposal_id=pid,
            section=section,
            content=text,
            significant=draw(st.booleans()),
            proposed_by=TM,
        )
    if kind == "review":
        child.reviews += 1
        rid = f"rev-{child.reviews}"
        pid = draw(st.sampled_from(child.proposals))
        decisions: list[dict[str, Any]] = [{"kind": "approve", "proposal_id": pid}]
        child.approved.append((pid, rid))
        earlier = [cid for cid, _, on in child.changes if on <= day]
        if earlier and draw(st.booleans()):
            decisions.append({"kind": "ratify", "change_id": draw(st.sampled_from(earlier))})
        return child.line(
            "ReviewHeld", day, review_id=rid, chair=IRO, participation="PN1", decisions=decisions
        )
    if kind == "iro_agree":
        pid = draw(st.sampled_from(child.proposals))
        child.iro_agreed.append(pid)
        return child.line("IROAgreedChange", day, proposal_id=pid, iro=IRO, reason="urgent")
    if kind == "inform":
        target = draw(st.sampled_from(unacknowledged))
        child.informed.add(target)
        return child.line(
            "IROInformed", day, event_seq=target, informed_of=["significant change"], iro=IRO
        )
    if kind == "correct":
        index = draw(st.integers(0, len(child.changes) - 1))
        cid, target, _ = child.changes[index]
        corrected = draw(
            st.sampled_from(
                [
                    {"content": "Corrected text"},
                    {"significant": True},
                    {"occurred_on": (day - timedelta(days=1)).isoformat()},
                ]
            )
        )
        if "occurred_on" in corrected and day - timedelta(days=1) < START:
            corrected = {"content": "Corrected text"}
        if "occurred_on" in corrected:  # later reviews may only ratify it from its new date
            child.changes[index] = (cid, target, day - timedelta(days=1))
        return child.line(
            "CorrectionRecorded", day, corrects_seq=target, reason="typo", corrected=corrected
        )
    cid = f"chg-{len(child.changes)}"
    authority: dict[str, Any] = {
        "kind": draw(st.sampled_from(["none", "not_reasonably_practicable"])),
        "reason": "emergency",
    }
    if kind == "by_review":
        pid, rid = draw(st.sampled_from(child.approved))
        section = child.proposal_sections[pid]
        authority = {"kind": "review_decision", "review_id": rid, "proposal_id": pid}
    elif kind == "by_iro":
        pid = draw(st.sampled_from(child.iro_agreed))
        section = child.proposal_sections[pid]
        authority = {"kind": "iro_agreement", "proposal_id": pid}
    child.changes.append((cid, child.seq + 1, day))
    return child.line(
        "CarePlanSectionChanged",
        day,
        change_id=cid,
        section=section,
        content=text,
        significant=draw(st.booleans()),
        decided_by=TM,
        authority=authority,
    )


TABLES = {
    "cl_events": "case_id, seq",
    "cl_cases": "case_id",
    "cl_current_plan": "case_id, section",
    "cl_unapproved": "case_id, seq, kind",
    "cl_periods": "case_id, known_from, period_no",
    "cl_reviews": "case_id, known_from, period_no, review_no",
    "cl_recommendations": "case_id, known_from, recommendation_id",
    "cl_allocations": "case_id, known_from, kind, number",
    "cl_lags": "case_id, known_from, seq",
    "cl_permanence": "case_id, known_from, seq",
    "cl_children": "case_id",
    "cl_looked_after": "case_id, from_on",
}


def snapshot(views: Any) -> dict[str, list[dict[str, Any]]]:
    return {t: views.fetch(f"SELECT * FROM {{s}}{t} ORDER BY {key}") for t, key in TABLES.items()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data())
def test_incremental_equals_rebuilt_equals_aggregate_replay(
    history: list[Command], data: st.DataObject
) -> None:
    with (
        tempfile.TemporaryDirectory() as folder,
        opened(os.path.join(folder, "prop.db"), create_tables=True) as o,
    ):
        remaining = list(history)
        while remaining:
            size = data.draw(st.integers(1, len(remaining)), label="chunk")
            o.ledger.record(remaining[:size], ACTOR)
            remaining = remaining[size:]
            o.projector.batch_size = data.draw(st.integers(1, 7), label="batch size")
            # how far behind the views may be before a catch-up applies its lag case by case
            o.projector.stretch = data.draw(st.sampled_from([1, 4, 10_000]), label="stretch")
            o.projector.catch_up()
        incremental = snapshot(o.views)
        o.projector.rebuild()
        assert snapshot(o.views) == incremental

        for case in incremental["cl_cases"]:
            aggregate = o.ledger.case(case["council"], case["child_ref"])
            replayed_plan = [
                (str(s.section), s.content, s.since.isoformat(), s.seq)
                for s in aggregate.current_plan().values()
            ]
            projected_plan = [
                (r["section"], r["content"], r["since"], r["seq"])
                for r in incremental["cl_current_plan"]
                if r["case_id"] == case["case_id"]
            ]
            assert projected_plan == replayed_plan
            replayed_flags = sorted((f.seq, str(f.kind)) for f in judge(aggregate.entries.values()))
            projected_flags = sorted(
                (r["seq"], r["kind"])
                for r in incremental["cl_unapproved"]
                if r["case_id"] == case["case_id"]
            )
            assert projected_flags == replayed_flags
            replayed_reviews = sorted(
                (v.known_from, r.period, r.slot.number, r.slot.due_on.isoformat(), r.slot.held_on)
                for v in versions(list(aggregate.entries.values()))
                for r in v.facts.reviews
            )
            projected_reviews = sorted(
                (r["known_from"], r["period_no"], r["review_no"], r["due_on"], _day(r["held_on"]))
                for r in incremental["cl_reviews"]
                if r["case_id"] == case["case_id"]
            )
            assert projected_reviews == replayed_reviews


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


# --- interleaved logs: each case arrives feed by feed, over many calls and many batches ---

INTERLEAVED_UNTIL = date(2025, 11, 28)


def _at(moment: datetime) -> datetime:
    return moment


def _feeds(children: int, seed: int) -> list[tuple[datetime, list[Command]]]:
    """Invented children's records, one list per feed (one recorded_at), in recording order,
    as a council's case system would send them."""
    feeds: list[tuple[datetime, list[Command]]] = []
    for at, command in synthetic_history(children, seed=seed, until=INTERLEAVED_UNTIL):
        if feeds and feeds[-1][0] == at:
            feeds[-1][1].append(command)
        else:
            feeds.append((at, [command]))
    return feeds


@pytest.mark.parametrize(
    ("seed", "catch_up_every", "batch_size", "cached_cases", "stretch"),
    [(1, 1, 1, 1, 10_000), (7, 5, 13, 3, 10_000), (23, 40, 50, 20_000, 10_000), (5, 9, 7, 2, 30)],
)
def test_an_interleaved_log_projected_incrementally_equals_it_rebuilt(
    db: str, seed: int, catch_up_every: int, batch_size: int, cached_cases: int, stretch: int
) -> None:
    """Children's records arrive feed by feed, so each case is caught up over many batches,
    between other children's; half way through, a new process (with nothing cached) takes
    over. Its small cache of decoded cases makes most batches read a case's earlier events
    back from the projection. With a small `stretch`, catch-ups that are that far behind
    apply their lag case by case, replacing the rows of cases they had seen before."""
    feeds = _feeds(12, seed)
    halves = (feeds[: len(feeds) // 2], feeds[len(feeds) // 2 :])
    for half in halves:
        with opened(db, create_tables=True) as o:
            o.projector.batch_size = batch_size
            o.projector.stretch = stretch
            o.views.entries_cache_size = cached_cases
            for number, (at, commands) in enumerate(half, start=1):
                o.ledger.clock = partial(_at, at)
                o.ledger.record(commands, FEED)
                if number % catch_up_every == 0:
                    o.projector.catch_up()
            o.projector.catch_up()
    with opened(db) as o:
        incremental = snapshot(o.views)
        assert incremental["cl_cases"], "the feeds opened no case"
        o.projector.rebuild()
        assert snapshot(o.views) == incremental


# --- a case's past changes while it arrives: corrections and a late review's ratification ---


def _lines(ref: str) -> list[dict[str, Any]]:
    """One child's records: a plan, a change made without review, a correction of its text,
    a review that ratifies it weeks later (approval after the event), then a correction of
    its date recorded after that review; each recorded the day after it happened."""
    child = Child(ref)
    day = START
    change = {"kind": "none", "reason": "placement broke down overnight"}
    return [
        child.line("ChildBecameLookedAfter", day, legal_status="C2", placement="U4"),
        child.line("IROAllocated", day, iro_id="IRO-1", iro_name="R. Officer"),
        child.line("CarePlanAgreed", day, sections={"placement": "Foster carers A"}, decided_by=TM),
        child.line(
            "CarePlanSectionChanged",
            day + timedelta(days=40),
            change_id="chg-1",
            section="placement",
            content="Residential",
            significant=True,
            decided_by=TM,
            authority=change,
        ),
        child.line(
            "CorrectionRecorded",
            day + timedelta(days=41),
            corrects_seq=5,
            reason="typo",
            corrected={"content": "Residential unit B"},
        ),
        child.line(
            "ReviewHeld",
            day + timedelta(days=70),
            review_id="rev-1",
            chair=IRO,
            participation="PN1",
            decisions=[{"kind": "ratify", "change_id": "chg-1"}],
        ),
        child.line(
            "CorrectionRecorded",
            day + timedelta(days=72),
            corrects_seq=5,
            reason="wrong date",
            corrected={"occurred_on": (day + timedelta(days=39)).isoformat()},
        ),
        child.line(
            "CarePlanAgreed", day + timedelta(days=90), sections={"health": "IHA"}, decided_by=TM
        ),
    ]


@pytest.mark.parametrize(
    ("batch_size", "stretch", "catch_up_every"), [(1, 10_000, 1), (2, 10_000, 2), (3, 3, 4)]
)
def test_corrections_and_a_late_ratification_arriving_between_other_cases(
    db: str, batch_size: int, stretch: int, catch_up_every: int
) -> None:
    """Three children's records interleaved, one record per call, each on a later day, the
    views caught up after each in small batches: every case's past changes while it arrives
    (a correction rewrites an earlier change, a review approves it after it took effect).
    After every catch-up the projected plan and flags equal the replayed case's, and at the
    end the views equal a rebuild, every version of the follow-up facts included. Catching
    up every few records with a small `stretch` applies each lag case by case."""
    children = [_lines(ref) for ref in ("IL1", "IL2", "IL3")]
    interleaved = [line for lines in zip(*children, strict=True) for line in lines]
    with opened(db, create_tables=True) as o:
        o.projector.batch_size = batch_size
        o.projector.stretch = stretch
        o.views.entries_cache_size = 1
        for number, line in enumerate(interleaved):
            day = date.fromisoformat(line["occurred_on"]) + timedelta(days=1)
            moment = datetime.combine(day, time(9, number), tzinfo=UTC)
            o.ledger.clock = partial(_at, moment)
            o.ledger.record([parse_command(line)], FEED)
            if number % catch_up_every == catch_up_every - 1:
                o.projector.catch_up()
                _assert_plan_and_flags_replayed(o, snapshot(o.views))
        o.projector.catch_up()
        incremental = snapshot(o.views)
        flags = {(r["seq"], r["kind"]) for r in incremental["cl_unapproved"]}
        assert (5, "approved only after it took effect") in flags
        versions_known = {r["known_from"] for r in incremental["cl_reviews"]}
        assert len(versions_known) == 3, "the case's facts before and after each correction"
        o.projector.rebuild()
        assert snapshot(o.views) == incremental


def _assert_plan_and_flags_replayed(o: Any, views: dict[str, list[dict[str, Any]]]) -> None:
    for case in views["cl_cases"]:
        aggregate = o.ledger.case(case["council"], case["child_ref"])
        plan = [(str(s.section), s.content, s.seq) for s in aggregate.current_plan().values()]
        projected = [
            (r["section"], r["content"], r["seq"])
            for r in views["cl_current_plan"]
            if r["case_id"] == case["case_id"]
        ]
        assert projected == plan
        flags = sorted((f.seq, str(f.kind)) for f in judge(aggregate.entries.values()))
        found = sorted(
            (r["seq"], r["kind"]) for r in views["cl_unapproved"] if r["case_id"] == case["case_id"]
        )
        assert found == flags
