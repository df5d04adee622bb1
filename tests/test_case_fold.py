"""A case folded forward batch by batch equals the case computed from its whole history, after
every batch: the plan, the flags, the summary and every version of the follow-up facts.
Batches that cannot be folded (a correction, a backdated record, a return's episode) are
computed whole; the tests check that the fold is taken where it can be, too."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import Command, parse_command
from careledger.ledger.domain.plan import Entry
from careledger.ledger.domain.vocabulary import LegalStatus, Section
from careledger.ledger.ssda903.records import Episode, NewEpisodeReason
from careledger.projections.case_fold import CaseFold, Judging
from careledger.projections.rules import DEFAULT_PRESUMED_SIGNIFICANT, FlagKind
from careledger.synthetic import synthetic_history
from tests.test_projection_properties import TM, Child, histories

JUDGING = Judging(DEFAULT_PRESUMED_SIGNIFICANT, short_breaks=True)
UNTIL = date(2025, 11, 28)


def computed(fold: CaseFold) -> tuple[Any, ...]:
    return fold.plan, fold.flags, fold.summary, fold.followup


def follow(batches: list[list[Entry]]) -> tuple[int, int]:
    """Fold the case batch by batch, checking it against the whole computation after each;
    returns how many batches were folded and how many were computed whole."""
    so_far = list(batches[0])
    fold = CaseFold.of(so_far, JUDGING)
    folded = whole = 0
    for batch in batches[1:]:
        so_far += batch
        if fold.takes(batch):
            fold, folded = fold.folded(batch, JUDGING), folded + 1
        else:
            fold, whole = CaseFold.of(so_far, JUDGING), whole + 1
        assert computed(fold) == computed(CaseFold.of(so_far, JUDGING))
    return folded, whole


def by_child_and_feed(pairs: list[tuple[datetime, Command]]) -> dict[str, list[list[Entry]]]:
    """Each child's events (seq from 2: CaseOpened is 1) in batches, one per feed."""
    batches: dict[str, list[list[Entry]]] = defaultdict(list)
    last_feed: dict[str, datetime] = {}
    seqs: dict[str, int] = defaultdict(lambda: 1)
    for at, command in pairs:
        ref = command.child_ref
        seqs[ref] += 1
        if last_feed.get(ref) != at:
            batches[ref].append([])
            last_feed[ref] = at
        batches[ref][-1].append(Entry(seqs[ref], at, command.payload))
    return batches


def test_invented_childrens_cases_folded_feed_by_feed_equal_them_computed_whole() -> None:
    """The council's hourly feeds bring each child's records as they are made: almost
    every feed after the first can be folded in, and each fold equals the whole."""
    folded = whole = 0
    for batches in by_child_and_feed(synthetic_history(40, seed=3, until=UNTIL)).values():
        counts = follow(batches)
        folded, whole = folded + counts[0], whole + counts[1]
    assert folded > 10 * whole


def entries_in_batches(
    commands: list[Command], cuts: list[int], start: datetime
) -> list[list[Entry]]:
    """The commands as one case's entries, recorded a day apart, cut into batches."""
    entries = [
        Entry(seq, start + timedelta(days=seq), command.payload)
        for seq, command in enumerate(commands, start=2)
    ]
    bounds = [0, *sorted(set(cuts)), len(entries)]
    return [entries[a:b] for a, b in pairwise(bounds) if a < b]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), in_date_order=st.booleans(), data=st.data())
def test_any_history_folded_in_any_batches_equals_it_computed_whole(
    history: list[Command], in_date_order: bool, data: st.DataObject
) -> None:
    """Generated histories (changes with and without review, proposals, approvals,
    ratifications, IRO agreements, corrections), one child's at a time, in the order drawn or
    in date order, cut into batches anywhere."""
    by_child: dict[str, list[Command]] = defaultdict(list)
    for command in history:
        by_child[command.child_ref].append(command)
    for commands in by_child.values():
        if in_date_order:  # a correction names its target by seq: kept in the drawn order
            commands = [c for c in commands if not isinstance(c.payload, p.CorrectionRecorded)]
            commands.sort(key=lambda command: command.payload.occurred_on)
        cuts = data.draw(st.lists(st.integers(1, max(1, len(commands) - 1)), max_size=8))
        start = datetime(2021, 1, 5, 10, tzinfo=UTC)
        follow(entries_in_batches(commands, cuts, start))


def _line(child: Child, kind: str, day: date, **fields: Any) -> Command:
    return parse_command(child.line(kind, day, **fields))


def _change(
    child: Child, day: date, change_id: str, authority: dict[str, str] | None = None
) -> Command:
    """A move to a residential unit: with no authority recorded, unless one is given."""
    return _line(
        child,
        "CarePlanSectionChanged",
        day,
        change_id=change_id,
        section="placement",
        content="Residential unit B",
        significant=True,
        decided_by=TM,
        authority=authority or {"kind": "none"},
    )


def test_a_review_that_ratifies_an_earlier_change_is_folded_in_and_changes_its_flag() -> None:
    """A move made without review is flagged; the review weeks later ratifies it. The review
    comes after everything else in date order, so it is folded in, and the move's flag turns
    from 'made without review approval' to 'approved only after it took effect'."""
    child = Child("FOLD1")
    start = date(2024, 3, 4)
    first = [
        _line(child, "ChildBecameLookedAfter", start, legal_status="C2", placement="U4"),
        _line(child, "CarePlanAgreed", start, sections={"placement": "Foster"}, decided_by=TM),
        _change(child, start + timedelta(days=30), "chg-1"),
    ]
    review = _line(
        child,
        "ReviewHeld",
        start + timedelta(days=60),
        review_id="rev-1",
        chair={"name": "Reviewing Officer", "role": "IRO"},
        participation="PN1",
        decisions=[{"kind": "ratify", "change_id": "chg-1"}],
    )
    batches = entries_in_batches([*first, review], [3], datetime(2024, 3, 4, 12, tzinfo=UTC))
    fold = CaseFold.of(batches[0], JUDGING)
    assert [f.kind for f in fold.flags] == [FlagKind.WITHOUT_REVIEW]
    assert fold.takes(batches[1])
    fold = fold.folded(batches[1], JUDGING)
    assert [f.kind for f in fold.flags] == [FlagKind.APPROVED_AFTER]
    assert fold.plan[Section.PLACEMENT].content == "Residential unit B"
    assert follow(batches) == (1, 0)


def test_a_backdated_record_or_a_correction_is_computed_from_the_whole_history() -> None:
    """A record dated before the case's latest event takes its place earlier in the history,
    and a correction rewrites an earlier event: neither is folded in."""
    child = Child("FOLD2")
    start = date(2024, 3, 4)
    history = [
        _line(child, "ChildBecameLookedAfter", start, legal_status="C2", placement="U4"),
        _line(
            child,
            "CarePlanAgreed",
            start + timedelta(days=5),
            sections={"health": "IHA"},
            decided_by=TM,
        ),
    ]
    backdated = _change(child, start + timedelta(days=2), "chg-1")
    correction = _line(
        child,
        "CorrectionRecorded",
        start + timedelta(days=9),
        corrects_seq=4,
        reason="typo",
        corrected={"content": "Kinship care"},
    )
    batches = entries_in_batches(
        [*history, backdated, correction], [2, 3], datetime(2024, 3, 4, 12, tzinfo=UTC)
    )
    fold = CaseFold.of(batches[0], JUDGING)
    assert not fold.takes(batches[1])
    assert not CaseFold.of(batches[0] + batches[1], JUDGING).takes(batches[2])
    assert follow(batches) == (0, 2)


def test_a_returns_episode_or_its_ending_is_computed_from_the_whole_history() -> None:
    """A later return's episodes can take back an earlier return's entries to and exits from
    care (`projections.withdrawn`): an episode, or an ending that names one, is never folded
    in, even when it comes last in date order."""
    child = Child("FOLD3")
    start = date(2024, 3, 4)
    history = [_line(child, "ChildBecameLookedAfter", start, legal_status="C2", placement="U4")]
    later = start + timedelta(days=20)
    episode = Episode(
        episode_id=later.isoformat(),
        decom=later,
        rne=NewEpisodeReason.P,
        legal_status=LegalStatus.C2,
        cin="N1",
        placement="U5",
    )
    moved = p.PlacementChanged(
        occurred_on=later,
        source="episodes row 2",
        placement="U5",
        same_carers=False,
        episode=episode,
    )
    ended = p.ChildCeasedToBeLookedAfter(
        occurred_on=later, source="episodes row 2", reason="E4A", episode_id=episode.episode_id
    )
    fold = CaseFold.of(entries_in_batches(history, [], _noon(start))[0], JUDGING)
    for payload in (moved, ended):
        entry = Entry(9, _noon(later), payload)
        assert not fold.takes([entry])
    plain_ending = p.ChildCeasedToBeLookedAfter(occurred_on=later, source="lcs", reason="E4A")
    assert fold.takes([Entry(9, _noon(later), plain_ending)])


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def test_a_child_coming_back_into_care_is_folded_in_with_the_new_periods_first_review_due() -> None:
    """A child leaves care and comes back months later (a new period of care, reg 33's
    timetable from its first day): folded in, the new period's first review is due, although
    the batch brings no review."""
    child = Child("FOLD4")
    start = date(2024, 3, 4)
    back = start + timedelta(days=200)
    history = [
        _line(child, "ChildBecameLookedAfter", start, legal_status="C2", placement="U4"),
        _line(child, "ChildCeasedToBeLookedAfter", start + timedelta(days=90), reason="E13"),
        _line(child, "ChildBecameLookedAfter", back, legal_status="V2", placement="U4"),
    ]
    batches = entries_in_batches(history, [2], _noon(start))
    fold = CaseFold.of(batches[0], JUDGING)
    assert fold.takes(batches[1])
    fold = fold.folded(batches[1], JUDGING)
    reviews = fold.followup[-1].facts.reviews
    assert [review.period for review in reviews if review.slot.number == 1] == [1, 2]
    assert follow(batches) == (1, 0)


def test_a_later_review_rejecting_the_proposal_the_same_day_withdraws_the_approval() -> None:
    """A move approved at one review is carried out; a second review held that same day,
    and recorded after the move, rejects the proposal. Folded in, the second review has the
    move judged again: the latest decision governs, and it withdrew the approval."""
    child = Child("FOLD5")
    start = date(2024, 3, 4)
    moved_on = start + timedelta(days=40)
    review = {"chair": {"name": "Reviewing Officer", "role": "IRO"}, "participation": "PN1"}
    approved = {"kind": "review_decision", "review_id": "rev-1", "proposal_id": "prop-1"}
    history = [
        _line(child, "ChildBecameLookedAfter", start, legal_status="C2", placement="U4"),
        _line(
            child,
            "ChangeProposed",
            start + timedelta(days=10),
            proposal_id="prop-1",
            section="placement",
            content="Residential unit B",
            significant=True,
            proposed_by=TM,
        ),
        _line(
            child,
            "ReviewHeld",
            start + timedelta(days=20),
            review_id="rev-1",
            decisions=[{"kind": "approve", "proposal_id": "prop-1"}],
            **review,
        ),
        _change(child, moved_on, "chg-1", authority=approved),
        _line(
            child,
            "ReviewHeld",
            moved_on,
            review_id="rev-2",
            decisions=[{"kind": "reject", "proposal_id": "prop-1", "reason": "no bed"}],
            **review,
        ),
    ]
    batches = entries_in_batches(history, [4], _noon(start))
    fold = CaseFold.of(batches[0], JUDGING)
    assert fold.flags == []
    assert fold.takes(batches[1])
    fold = fold.folded(batches[1], JUDGING)
    assert [f.kind for f in fold.flags] == [FlagKind.APPROVAL_WITHDRAWN]
    assert follow(batches) == (1, 0)


def test_events_not_recorded_after_every_event_held_are_not_folded_in() -> None:
    """An event whose sequence number is not after every one the case holds (one seen again,
    or out of recording order) is never folded in, whatever its date."""
    child = Child("FOLD6")
    start = date(2024, 3, 4)
    history = [
        _line(child, "ChildBecameLookedAfter", start, legal_status="C2", placement="U4"),
        _line(child, "IROAllocated", start, iro_id="IRO-1", iro_name="R. Officer"),
    ]
    fold = CaseFold.of(entries_in_batches(history, [], _noon(start))[0], JUDGING)
    later = start + timedelta(days=30)
    allocation = _line(child, "IROAllocated", later, iro_id="IRO-2", iro_name="S. Officer")
    assert fold.takes([Entry(4, _noon(later), allocation.payload)])
    assert not fold.takes([Entry(3, _noon(later), allocation.payload)])
    next_day = _line(child, "IROAllocated", later + timedelta(days=1), iro_id="IRO-3", iro_name="T")
    two = [Entry(5, _noon(later), allocation.payload), Entry(4, _noon(later), next_day.payload)]
    assert not fold.takes(two)  # in date order, but not in recording order
