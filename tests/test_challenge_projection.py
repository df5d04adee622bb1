"""Where IRO challenges stand on a date, how they went per IRO and council, and how the drift
report and the history show them: five invented histories recorded over time on both stores
(a real SQLite file and a real PostgreSQL schema), read through the projections and through
`careledger challenges`, `careledger drift` and `careledger history`.

Proved here, with every date counted by hand in working days (England's bank holidays of
2025: Good Friday 18 April, Easter Monday 21 April, May Day 5 May, Spring bank holiday
26 May, Christmas Day 25 December (Thursday), Boxing Day 26 December; New Year's Day
1 January 2026):

- a stage's response is due its protocol's working days after the stage began; the stage is
  past its timescale only after that day and only while no response is on record; a
  response stops it being late but moves nothing (stage, its start, its due date);
- an escalation starts a new stage clock, and the answer to the last stage does not carry
  over, nor does an answer to an earlier stage filed after the escalation stop the new stage
  being late; the whole formal process is counted from the first formal stage (not from the
  informal challenge) against its 20 working days; a resolved challenge is past no timescale,
  but is marked resolved late when its formal process ran past 20 working days;
- `--as-of` is what was recorded by the end of the date: a step that happened but was
  recorded later is not seen;
- the statistics per IRO (one IRO however the name is typed) and per council (raised, open,
  resolved at each stage, withdrawn, upheld of decided and the rate, median calendar days to
  resolve, resolved late, Cafcass referrals; a dispute ended by a Cafcass referral is not
  decided);
- `careledger challenges --open --iro --child --format json` filters; its JSON is data, its
  table says what was late and how the statistics went;
- a bad CARELEDGER_CHALLENGE_STAGES stops `careledger challenges` (and recording a challenge)
  with a clear error, but not `careledger history` or recording anything else;
- the drift report's `challenge_overdue` counts one late and one answered challenge, with
  the late one's finding, and `--group-by iro` counts each for the IRO who raised it;
- `careledger history` marks the change that came from a challenge, beside its steps.

The histories (after NAIRO's published case histories; names, references and
dates invented):

Aaron (E10000077, after Ashley, case 3): staying put replaced by supported lodgings without
review on 7 April 2025; Ruth Adebayo challenges informally on Thursday 17 April; the team
manager's informal answer of 8 May is typed up on 9 May; stage 1 (12 May) fails; stage 2
(21 May) is upheld by the service manager, and staying put is restored on 2 June.
Bella (E10000077, after Sally, case 6): staying put "may not be appropriate" (2 June 2025);
Colin Marsh raises a formal challenge at stage 1 on 3 June, skips to stage 3 on 12 June;
answered at each stage, but the formal process runs past 20 working days; upheld at her
review of 7 July.
Daisy (E10000077): no social worker allocated; Ruth's informal challenge of 3 March 2025 is
withdrawn on 7 March.
Emma (E10000077, after Mary, case 7): no accommodation plan a year before 18. Ruth's first
challenge (1 December 2025) is not upheld ("no funding"); her second (15 December) is
answered on 30 December and partly upheld on 20 January 2026 by funding a supported flat.
Emma's IRO changes to Nadia Kaur on 29 December.
Carl (E09000033, after Peter, case 8): his placement is ended on Friday 19 December 2025;
Colin Marsh goes straight to the DCS (stage 4) and to Cafcass on Monday 22 December; Cafcass
answer "procedural" on 5 January 2026, recorded on 12 January; the council never answers.

Two more, on a ledger of their own: Frankie (E10000077): Dana Whitlock's informal challenge
of 2 June 2025 goes unanswered and she goes to the DCS on 16 June; the social worker's
reply to the informal stage comes on 18 June, the DCS's on 25 June; the dispute ends with a
Cafcass referral. Gina (E10000077): Dana, typed "dana whitlock", withdraws a challenge.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from click.testing import CliRunner, Result

from careledger.api import Opened, opened
from careledger.cli import challenges as challenges_cli
from careledger.cli.main import cli
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.case import ENGLAND
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.domain.protocol import DisputeProtocol
from careledger.projections import challenges as ch
from careledger.projections.drift import By, Report, drift_report
from careledger.projections.drift_settings import DriftSettings
from careledger.projections.queries import Child
from tests.envelope import data_of

WESTMERE = "E10000077"
EASTBURY = "E09000033"
ACTOR = p.Actor(actor_id="challenge-tests", role="ADMIN")
PROTOCOL = DisputeProtocol.model_construct()  # the default stages, without the environment

RUTH = {"name": "Ruth Adebayo", "role": "IRO"}
COLIN = {"name": "Colin Marsh", "role": "IRO"}
SW = {"name": "Tom Okafor", "role": "SW"}
TM = {"name": "Grace Mensah", "role": "TM"}
SERVICE_MANAGER = {"name": "Marcus Fenwick", "role": "SERVICE_MANAGER"}
SENIOR = {"name": "Alan Crowther", "role": "SENIOR_MANAGER"}
DCS = {"name": "Helen Ward", "role": "DCS"}

ENV: dict[str, str | None] = {
    "CARELEDGER_DB": None,
    "CARELEDGER_COUNCIL": None,
    "CARELEDGER_PRESUMED_SIGNIFICANT": None,
    **{f"CARELEDGER_{name.upper()}": None for name in DriftSettings.model_fields},
    "CARELEDGER_CHALLENGE_STAGES": None,
    "CARELEDGER_CHALLENGE_FORMAL_LIMIT_WORKING_DAYS": None,
}


class Ledger:
    """Records each event at 5 pm (England) on the day the council recorded it."""

    def __init__(self, o: Opened) -> None:
        self.o = o
        self.n = 0

    def add(
        self,
        council: str,
        child: str,
        kind: str,
        on: str,
        recorded_on: str | None = None,
        **x: Any,
    ) -> int:
        self.n += 1
        at = datetime.combine(date.fromisoformat(recorded_on or on), time(17), ENGLAND)
        self.o.ledger.clock = lambda: at.astimezone(UTC)
        command = parse_command(
            {
                "type": kind,
                "council": council,
                "child": child,
                "occurred_on": on,
                "source": f"LCS/{child}/{self.n}",
                **x,
            }
        )
        return self.o.ledger.record([command], ACTOR)[0].seq

    def child(self, council: str, child: str, on: str, iro: dict[str, str]) -> None:
        self.add(council, child, "ChildBecameLookedAfter", on, legal_status="C2", placement="U4")
        self.add(
            council,
            child,
            "IROAllocated",
            on,
            iro_id=f"IRO-{iro['name'][:4]}",
            iro_name=iro["name"],
        )


def raise_(
    ledger: Ledger, council: str, child: str, on: str, iro: dict[str, str], **x: Any
) -> None:
    ledger.add(council, child, "ChallengeRaised", on, challenge_id="CH-1", raised_by=iro, **x)


def aaron(ledger: Ledger) -> None:
    a = "AARON"
    ledger.child(WESTMERE, a, "2019-09-02", RUTH)
    ledger.add(
        WESTMERE,
        a,
        "CarePlanSectionChanged",
        "2025-04-07",
        change_id="CH-LODGINGS",
        section="pathway",
        content="Supported lodgings from his 18th birthday",
        significant=True,
        decided_by=SENIOR,
        authority={"kind": "none"},
    )
    raise_(
        ledger,
        WESTMERE,
        a,
        "2025-04-17",
        RUTH,
        subject="decision",
        about="CH-LODGINGS",
        concern="Staying put replaced without a review or Aaron's views",
    )
    answer: dict[str, Any] = {
        "challenge_id": "CH-1",
        "responded_by": TM,
        "response": "The decision stands",
    }
    ledger.add(WESTMERE, a, "ChallengeResponded", "2025-05-08", recorded_on="2025-05-09", **answer)
    escalate: dict[str, Any] = {
        "challenge_id": "CH-1",
        "escalated_by": RUTH,
        "reason": "No review was held",
    }
    ledger.add(WESTMERE, a, "ChallengeEscalated", "2025-05-12", to_stage=1, **escalate)
    ledger.add(WESTMERE, a, "ChallengeResponded", "2025-05-16", **answer)
    ledger.add(WESTMERE, a, "ChallengeEscalated", "2025-05-21", to_stage=2, **escalate)
    ledger.add(
        WESTMERE,
        a,
        "ChallengeResponded",
        "2025-05-28",
        challenge_id="CH-1",
        responded_by=SERVICE_MANAGER,
        response="Upheld: staying put to be restored",
    )
    ledger.add(
        WESTMERE,
        a,
        "ChangeProposed",
        "2025-05-28",
        proposal_id="P-RESTORE",
        section="pathway",
        content="Restore staying put",
        significant=True,
        proposed_by=SW,
    )
    ledger.add(
        WESTMERE,
        a,
        "IROAgreedChange",
        "2025-05-29",
        proposal_id="P-RESTORE",
        iro=RUTH,
        reason="Restores the plan agreed at his review",
    )
    ledger.add(
        WESTMERE,
        a,
        "CarePlanSectionChanged",
        "2025-06-02",
        change_id="CH-RESTORE",
        section="pathway",
        content="Army preparation course; staying put with his foster carers",
        significant=True,
        decided_by=SERVICE_MANAGER,
        authority={"kind": "iro_agreement", "proposal_id": "P-RESTORE"},
        from_challenge="CH-1",
    )
    ledger.add(
        WESTMERE,
        a,
        "ChallengeResolved",
        "2025-06-02",
        challenge_id="CH-1",
        outcome="upheld",
        resolved_by=SERVICE_MANAGER,
        summary="Staying put restored",
        resolved_by_change="CH-RESTORE",
    )


def bella(ledger: Ledger) -> None:
    b = "BELLA"
    ledger.child(WESTMERE, b, "2023-03-06", COLIN)
    ledger.add(
        WESTMERE,
        b,
        "CarePlanSectionChanged",
        "2025-06-02",
        change_id="CH-SP",
        section="pathway",
        content="Staying put may not be appropriate; supported accommodation at 18",
        significant=True,
        decided_by=SENIOR,
        authority={"kind": "none"},
    )
    raise_(
        ledger,
        WESTMERE,
        b,
        "2025-06-03",
        COLIN,
        subject="decision",
        about="CH-SP",
        concern="Staying put was agreed at two reviews",
        stage=1,
    )
    ledger.add(
        WESTMERE,
        b,
        "ChallengeResponded",
        "2025-06-09",
        challenge_id="CH-1",
        responded_by=TM,
        response="Referred to the head of service",
    )
    ledger.add(
        WESTMERE,
        b,
        "ChallengeEscalated",
        "2025-06-12",
        challenge_id="CH-1",
        to_stage=3,
        escalated_by=COLIN,
        reason="Only the head of service can fund staying put",
    )
    ledger.add(
        WESTMERE,
        b,
        "ChallengeResponded",
        "2025-06-18",
        challenge_id="CH-1",
        responded_by=SENIOR,
        response="To be decided at her review",
    )
    ledger.add(
        WESTMERE,
        b,
        "ReviewHeld",
        "2025-07-07",
        review_id="REV-4",
        chair=COLIN,
        participation="PN1",
        child_seen_before=True,
    )
    ledger.add(
        WESTMERE,
        b,
        "ChallengeResolved",
        "2025-07-07",
        challenge_id="CH-1",
        outcome="upheld",
        resolved_by=SENIOR,
        summary="She stays put",
        resolved_at_review="REV-4",
    )


def daisy(ledger: Ledger) -> None:
    ledger.child(WESTMERE, "DAISY", "2024-11-04", RUTH)
    raise_(
        ledger,
        WESTMERE,
        "DAISY",
        "2025-03-03",
        RUTH,
        subject="no_allocated_sw",
        concern="No social worker for five weeks",
    )
    ledger.add(
        WESTMERE,
        "DAISY",
        "ChallengeResolved",
        "2025-03-07",
        challenge_id="CH-1",
        outcome="withdrawn",
        resolved_by=RUTH,
        summary="A social worker was allocated",
    )


def emma(ledger: Ledger) -> None:
    e = "EMMA"
    ledger.child(WESTMERE, e, "2022-05-09", RUTH)
    raise_(
        ledger,
        WESTMERE,
        e,
        "2025-12-01",
        RUTH,
        subject="care_planning",
        about="pathway",
        concern="No accommodation plan a year before she is 18",
    )
    ledger.add(
        WESTMERE,
        e,
        "ChallengeResponded",
        "2025-12-03",
        challenge_id="CH-1",
        responded_by=SW,
        response="No funding to stay in the area",
    )
    ledger.add(
        WESTMERE,
        e,
        "ChallengeResolved",
        "2025-12-05",
        challenge_id="CH-1",
        outcome="not_upheld",
        resolved_by=TM,
        summary="No funding",
    )
    ledger.add(
        WESTMERE,
        e,
        "ChallengeRaised",
        "2025-12-15",
        challenge_id="CH-2",
        subject="care_planning",
        about="pathway",
        concern="Still no accommodation plan; raised again at her review",
        raised_by=RUTH,
    )
    ledger.add(
        WESTMERE,
        e,
        "IROAllocated",
        "2025-12-29",
        iro_id="IRO-NK",
        iro_name="Nadia Kaur",
        reason="Ruth Adebayo's caseload reduced",
    )
    ledger.add(
        WESTMERE,
        e,
        "ChallengeResponded",
        "2025-12-30",
        challenge_id="CH-2",
        responded_by=TM,
        response="A supported flat is being sought in the area",
    )
    ledger.add(
        WESTMERE,
        e,
        "CarePlanSectionChanged",
        "2026-01-20",
        change_id="CH-FLAT",
        section="pathway",
        content="Supported flat in Eastborough from March",
        significant=True,
        decided_by=SERVICE_MANAGER,
        authority={"kind": "not_reasonably_practicable", "reason": "Tenancy offer of 48 hours"},
        from_challenge="CH-2",
    )
    ledger.add(
        WESTMERE,
        e,
        "ChallengeResolved",
        "2026-01-20",
        challenge_id="CH-2",
        outcome="partly_upheld",
        resolved_by=SERVICE_MANAGER,
        summary="Flat funded; move two months before her birthday",
        resolved_by_change="CH-FLAT",
    )


def carl(ledger: Ledger) -> None:
    c = "CARL"
    ledger.child(EASTBURY, c, "2021-12-06", COLIN)
    ledger.add(
        EASTBURY,
        c,
        "PlacementEnded",
        "2025-12-19",
        change_id="CH-END",
        reason="Placement with his sister's carers ended permanently",
        decided_by=SENIOR,
        authority={"kind": "none"},
    )
    raise_(
        ledger,
        EASTBURY,
        c,
        "2025-12-22",
        COLIN,
        subject="decision",
        about="CH-END",
        concern="Ended without review, assessment or consultation (reg 14)",
        stage=4,
    )
    ledger.add(
        EASTBURY,
        c,
        "CafcassReferralMade",
        "2025-12-22",
        challenge_id="CH-1",
        referred_by=COLIN,
        grounds="Unlawful ending of a settled placement days before Christmas",
    )
    ledger.add(
        EASTBURY,
        c,
        "CafcassOutcomeRecorded",
        "2026-01-05",
        recorded_on="2026-01-12",
        challenge_id="CH-1",
        outcome="no_action",
        detail="Cafcass consider the failings procedural",
    )


@pytest.fixture
def recorded(db: str) -> str:
    """The five histories, recorded; the ledger is closed again, as between two commands."""
    with opened(db, create_tables=True) as o:
        ledger = Ledger(o)
        for history in (daisy, aaron, bella, emma, carl):
            history(ledger)
    return db


@pytest.fixture
def views(recorded: str) -> Iterator[Opened]:
    with opened(recorded) as o:
        o.catch_up()
        yield o


def row(
    o: Opened,
    council: str,
    child: str,
    on: str,
    challenge: str = "CH-1",
    seen_then: bool = True,
) -> dict[str, Any]:
    """The listing row of one challenge as of the end of `on`: as the record stood that day
    (`--as-recorded-on` the same day) or, not `seen_then`, from everything recorded since."""
    day = date.fromisoformat(on)
    known = day if seen_then else None
    found = ch.load(o.views, day, Child(council, child), known)
    [state] = [s for s in found if s.challenge_id == challenge]
    return ch.listing(state, PROTOCOL, day)


def invoke(*args: Any, env_extra: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args], env={**ENV, **(env_extra or {})})
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    return result


def challenges_json(db: str, on: str, *args: str) -> dict[str, Any]:
    out = invoke("challenges", "--db", db, "--as-of", on, "--format", "json", *args)
    data: dict[str, Any] = data_of(out.stdout)
    return data


# --- timescales, in working days ------------------------------------------------------------


def test_informal_stage_raised_before_easter_is_due_after_easter_and_may_day(
    views: Opened,
) -> None:
    # Raised Thursday 17 April 2025; 10 working days: Fri 18 (Good Friday) and Mon 21
    # (Easter Monday) skipped; Tue 22 (1), Wed 23 (2), Thu 24 (3), Fri 25 (4), Mon 28 (5),
    # Tue 29 (6), Wed 30 (7), Thu 1 May (8), Fri 2 (9), Mon 5 (May Day) skipped, Tue 6 (10).
    aaron = row(views, WESTMERE, "AARON", "2025-04-17")
    assert (aaron["stage"], aaron["stage_name"], aaron["stage_since"]) == (
        0,
        "Informal",
        "2025-04-17",
    )
    assert aaron["response_due"] == "2025-05-06"
    assert (aaron["past_timescale"], aaron["formal_working_days"], aaron["age_days"]) == (
        False,
        None,
        0,
    )
    assert (aaron["why_late"], aaron["open"], aaron["outcome"]) == (None, True, None)


def test_five_day_stage_begun_the_thursday_before_easter_is_due_on_the_monday_after() -> None:
    # Stage 1 from Thursday 17 April 2025: Fri 18, Mon 21 skipped; Tue 22 (1), Wed 23 (2),
    # Thu 24 (3), Fri 25 (4), Mon 28 (5). Without Easter it would have been Thu 24.
    state = ch.ChallengeState(
        "case",
        WESTMERE,
        "AARON",
        "CH-9",
        "decision",
        None,
        "Moved without review",
        None,
        "Ruth Adebayo",
        date(2025, 4, 17),
        1,
        date(2025, 4, 17),
        formal_since=date(2025, 4, 17),
    )
    on_due_day = ch.timescale(state, PROTOCOL, date(2025, 4, 28))
    assert (on_due_day.stage_due, on_due_day.stage_late) == (date(2025, 4, 28), False)
    assert on_due_day.formal_working_days == 5
    assert ch.timescale(state, PROTOCOL, date(2025, 4, 29)).stage_late is True


def test_stage_is_late_only_after_its_due_day_while_no_answer_is_on_record(
    views: Opened,
) -> None:
    # Due Tuesday 6 May (above). The answer given on Thursday 8 May was recorded on Friday 9.
    on_due_day = row(views, WESTMERE, "AARON", "2025-05-06")
    assert (on_due_day["past_timescale"], on_due_day["responded"]) == (False, None)
    late = (True, "no response at Informal due by 2025-05-06 (10 working days)")
    day_after = row(views, WESTMERE, "AARON", "2025-05-07")
    assert (day_after["past_timescale"], day_after["why_late"]) == late
    # On the 8th the answer had been given but not recorded: the record still shows it late.
    given = row(views, WESTMERE, "AARON", "2025-05-08")
    assert (given["past_timescale"], given["why_late"]) == late
    # What had happened by the 8th, as the ledger knows it now: answered that day, not late.
    business = row(views, WESTMERE, "AARON", "2025-05-08", seen_then=False)
    assert (business["past_timescale"], business["responded"]) == (False, "2025-05-08")
    answered = row(views, WESTMERE, "AARON", "2025-05-09")
    assert (answered["past_timescale"], answered["responded"]) == (False, "2025-05-08")
    assert answered["why_late"] is None
    # The answer moves nothing: the same stage, begun on the same day, due on the same day.
    assert (answered["stage_name"], answered["stage_since"], answered["response_due"]) == (
        "Informal",
        "2025-04-17",
        "2025-05-06",
    )


def test_escalation_starts_a_new_stage_clock_without_the_last_stages_answer(
    views: Opened,
) -> None:
    # Stage 1 from Monday 12 May: Tue 13 (1), Wed 14, Thu 15, Fri 16, Mon 19 (5).
    stage_1 = row(views, WESTMERE, "AARON", "2025-05-12")
    assert (stage_1["stage_name"], stage_1["stage_since"], stage_1["response_due"]) == (
        "Stage 1",
        "2025-05-12",
        "2025-05-19",
    )
    assert (stage_1["responded"], stage_1["formal_working_days"]) == (None, 0)
    assert row(views, WESTMERE, "AARON", "2025-05-16")["responded"] == "2025-05-16"
    # Stage 2 from Wednesday 21 May: Thu 22 (1), Fri 23 (2), Mon 26 (Spring bank holiday)
    # skipped, Tue 27 (3), Wed 28 (4), Thu 29 (5). Formal: 13-16, 19-21 May = 7 working days.
    stage_2 = row(views, WESTMERE, "AARON", "2025-05-21")
    assert (stage_2["stage"], stage_2["response_due"], stage_2["responded"]) == (
        2,
        "2025-05-29",
        None,
    )
    assert stage_2["formal_working_days"] == 7


def test_formal_process_is_counted_from_the_first_formal_stage_not_the_informal_one(
    views: Opened,
) -> None:
    # From the escalation of Monday 12 May to the resolution of Monday 2 June: 13-16 May (4),
    # 19-23 (9), 27-30 (13; the 26th a bank holiday), 2 June (14). From the informal challenge
    # of 17 April it would be past 20; 46 calendar days (13 in April, 31 in May, 2 in June).
    aaron = row(views, WESTMERE, "AARON", "2025-06-30")
    assert (aaron["formal_working_days"], aaron["age_days"]) == (14, 46)
    assert (aaron["outcome"], aaron["outcome_label"]) == (
        "upheld",
        "upheld at Stage 2, by change CH-RESTORE",
    )
    assert (aaron["resolved"], aaron["open"]) == ("2025-06-02", False)
    assert (aaron["past_timescale"], aaron["resolved_late"], aaron["why_late"]) == (
        False,
        False,
        None,
    )
    assert aaron["resolved_by"] == "Marcus Fenwick (SERVICE_MANAGER)"
    assert aaron["resolution"] == "change CH-RESTORE"
    assert "change CH-RESTORE" in aaron["changes"]  # listed once: below


def test_change_that_came_from_a_challenge_and_resolved_it_is_listed_once(views: Opened) -> None:
    # CH-RESTORE came from CH-1 (from_challenge) and resolved it (resolved_by_change).
    assert row(views, WESTMERE, "AARON", "2025-06-30")["changes"] == ["change CH-RESTORE"]
    emma = row(views, WESTMERE, "EMMA", "2026-01-30", "CH-2")
    assert emma["changes"] == ["change CH-FLAT"]


def test_formal_process_past_twenty_working_days_is_late_though_every_stage_was_answered(
    views: Opened,
) -> None:
    # Raised at stage 1 on Tuesday 3 June 2025 (no bank holiday until August): 4-6 June (3),
    # 9-13 (8), 16-20 (13), 23-27 (18), Mon 30 (19), Tue 1 July (20), Wed 2 July (21).
    # Stage 3 from Thursday 12 June is due Thursday 19 June (13, 16, 17, 18, 19); answered 18th.
    at_stage_3 = row(views, WESTMERE, "BELLA", "2025-06-12")
    assert (at_stage_3["stage_name"], at_stage_3["response_due"]) == ("Stage 3", "2025-06-19")
    assert at_stage_3["formal_working_days"] == 7  # 4, 5, 6, 9, 10, 11, 12 June
    on_the_limit = row(views, WESTMERE, "BELLA", "2025-07-01")
    assert (on_the_limit["formal_working_days"], on_the_limit["past_timescale"]) == (20, False)
    past = row(views, WESTMERE, "BELLA", "2025-07-02")
    assert (past["responded"], past["formal_working_days"]) == ("2025-06-18", 21)
    assert (past["past_timescale"], past["resolved_late"]) == (True, False)
    assert past["why_late"] == "formal process 21 working days since 2025-06-03 (limit 20)"


def test_resolved_challenge_is_past_no_timescale_but_says_it_was_resolved_late(
    views: Opened,
) -> None:
    # Resolved at her review on Monday 7 July: the formal process took 24 working days
    # (21 to 2 July, then 3, 4 and 7 July). A closed challenge is past no timescale, but it
    # was resolved past the formal limit of 20, and stays so on any later date.
    for on in ("2025-07-07", "2025-09-01"):
        bella = row(views, WESTMERE, "BELLA", on)
        assert (bella["formal_working_days"], bella["past_timescale"]) == (24, False)
        assert bella["resolved_late"] is True
        assert bella["why_late"] == "resolved after 24 working days since 2025-06-03 (limit 20)"
        assert bella["outcome_label"] == "upheld at Stage 3, by review REV-4"
        assert bella["age_days"] == 34  # 27 days to 30 June, then 7
    # Aaron's took 14 (above): not late.
    assert row(views, WESTMERE, "AARON", "2025-09-01")["resolved_late"] is False


def test_christmas_and_boxing_day_are_not_working_days_at_the_dcs_stage(views: Opened) -> None:
    # Raised at stage 4 on Monday 22 December 2025: Tue 23 (1), Wed 24 (2), Thu 25 and Fri 26
    # skipped, Mon 29 (3), Tue 30 (4), Wed 31 (5). On Friday 2 January 2026 (1 January a bank
    # holiday) the formal process is 6 working days old: 23, 24, 29, 30, 31 Dec, 2 Jan.
    on_due_day = row(views, EASTBURY, "CARL", "2025-12-31")
    assert (on_due_day["response_due"], on_due_day["past_timescale"]) == ("2025-12-31", False)
    late = row(views, EASTBURY, "CARL", "2026-01-02")
    assert late["past_timescale"] is True
    assert late["why_late"] == "no response at Stage 4 due by 2025-12-31 (5 working days)"
    assert (late["formal_working_days"], late["age_days"]) == (6, 11)
    # Emma's informal challenge of Monday 15 December was due Wednesday 31 December too
    # (16-19 Dec (4), 22-24 (7), 29-31 (10)) and answered on the 30th: not late.
    emma = row(views, WESTMERE, "EMMA", "2026-01-02", "CH-2")
    assert (emma["response_due"], emma["responded"], emma["past_timescale"]) == (
        "2025-12-31",
        "2025-12-30",
        False,
    )


# --- what was known on a date ---------------------------------------------------------------


def test_as_recorded_on_a_date_shows_only_what_was_recorded_by_then(recorded: str) -> None:
    carl = ("--child", f"{EASTBURY}:CARL")
    before = challenges_json(recorded, "2025-12-21", *carl, "--as-recorded-on", "2025-12-21")
    assert before["challenges"] == []
    # Cafcass answered on Monday 5 January; the ledger learned it on Monday 12 January.
    then = challenges_json(recorded, "2026-01-09", *carl, "--as-recorded-on", "2026-01-09")
    [unknown] = then["challenges"]
    asked = invoke("challenges", "--db", recorded, "--as-of", "2026-01-09", "--format", "json",
                   *carl, "--as-recorded-on", "2026-01-09")
    assert json.loads(asked.stdout)["query"]["as_recorded_on"] == "2026-01-09"
    assert (unknown["cafcass_referred"], unknown["cafcass_outcome"]) == ("2025-12-22", None)
    assert [s["kind"] for s in unknown["steps"]] == ["cafcass_referral"]
    # As of 9 January from everything recorded (the default): the answer of the 5th counts.
    [business] = challenges_json(recorded, "2026-01-09", *carl)["challenges"]
    assert (business["cafcass_referred"], business["cafcass_outcome"]) == (
        "2025-12-22",
        "no_action",
    )
    [known] = challenges_json(recorded, "2026-01-12", *carl, "--as-recorded-on", "2026-01-12")[
        "challenges"
    ]
    assert (known["cafcass_referred"], known["cafcass_outcome"]) == ("2025-12-22", "no_action")
    assert [s["kind"] for s in known["steps"]] == ["cafcass_referral", "cafcass_outcome"]


# --- statistics per IRO and per council -----------------------------------------------------

# As of 30 January 2026. Calendar days from raising to resolution: Aaron 17 Apr-2 Jun 46;
# Bella 3 Jun-7 Jul 34; Daisy 3-7 Mar 4; Emma's CH-1 1-5 Dec 4, CH-2 15 Dec-20 Jan 36.
RUTH_STATS = {
    "iro": "Ruth Adebayo",
    "raised": 4,  # Aaron, Daisy, Emma's two
    "open": 0,
    "resolved_at": {"Informal": 3, "Stage 2": 1},
    "withdrawn": 1,  # Daisy's
    "upheld": 2,  # Aaron upheld, Emma's CH-2 partly; Emma's CH-1 not upheld
    "decided": 3,  # Daisy's withdrawn is not decided
    "upheld_rate": 0.667,
    "median_days_to_resolve": 20.0,  # of 4, 4, 36, 46
    "resolved_late": 0,  # Aaron's formal process took 14 working days; the rest informal
    "cafcass_referrals": 0,
}
COLIN_STATS = {
    "iro": "Colin Marsh",
    "raised": 2,  # Bella, Carl
    "open": 1,  # Carl's
    "resolved_at": {"Stage 3": 1},
    "withdrawn": 0,
    "upheld": 1,
    "decided": 1,
    "upheld_rate": 1.0,
    "median_days_to_resolve": 34.0,
    "resolved_late": 1,  # Bella's, after 24 formal working days
    "cafcass_referrals": 1,
}
PER_COUNCIL = [
    {
        "council": EASTBURY,
        "raised": 1,
        "open": 1,
        "resolved_at": {},
        "withdrawn": 0,
        "upheld": 0,
        "decided": 0,
        "upheld_rate": None,
        "median_days_to_resolve": None,
        "resolved_late": 0,  # Carl's is open: late, but not resolved late
        "cafcass_referrals": 1,
    },
    {
        "council": WESTMERE,
        "raised": 5,
        "open": 0,
        "resolved_at": {"Informal": 3, "Stage 2": 1, "Stage 3": 1},
        "withdrawn": 1,
        "upheld": 3,
        "decided": 4,
        "upheld_rate": 0.75,
        "median_days_to_resolve": 34.0,  # of 4, 4, 34, 36, 46
        "resolved_late": 1,
        "cafcass_referrals": 0,
    },
]


def test_statistics_per_iro_and_per_council(views: Opened) -> None:
    on = date(2026, 1, 30)
    found = ch.load(views.views, on)
    assert ch.statistics_rows(found, PROTOCOL, "iro", on) == [COLIN_STATS, RUTH_STATS]
    assert ch.statistics_rows(found, PROTOCOL, "council", on) == PER_COUNCIL


def test_statistics_count_only_what_was_raised_by_the_date(views: Opened) -> None:
    # On 1 June 2025: Daisy's withdrawn, Aaron's open at stage 2.
    on = date(2025, 6, 1)
    found = ch.load(views.views, on)
    assert ch.statistics_rows(found, PROTOCOL, "iro", on) == [
        {
            "iro": "Ruth Adebayo",
            "raised": 2,
            "open": 1,
            "resolved_at": {"Informal": 1},
            "withdrawn": 1,
            "upheld": 0,
            "decided": 0,
            "upheld_rate": None,
            "median_days_to_resolve": 4.0,
            "resolved_late": 0,
            "cafcass_referrals": 0,
        }
    ]


def test_challenges_command_gives_the_same_statistics_ignoring_open(recorded: str) -> None:
    data = challenges_json(recorded, "2026-01-30", "--open")
    assert [(r["child"], r["open"], r["outcome"]) for r in data["challenges"]] == [
        (f"{EASTBURY}:CARL", True, None)
    ]
    assert data["per_iro"] == [COLIN_STATS, RUTH_STATS]
    assert data["per_council"] == PER_COUNCIL
    assert len(challenges_json(recorded, "2026-01-30")["challenges"]) == 6


# --- the listing's filters ------------------------------------------------------------------


def test_challenges_command_filters_open_by_iro_and_child(recorded: str) -> None:
    on = "2026-01-02"
    data = challenges_json(recorded, on, "--open", "--iro", " colin MARSH ")
    assert [(r["child"], r["challenge"]) for r in data["challenges"]] == [
        (f"{EASTBURY}:CARL", "CH-1")
    ]
    [carl] = data["challenges"]
    assert carl == {
        "child": f"{EASTBURY}:CARL",
        "challenge": "CH-1",
        "subject": "decision",
        "about": "CH-END",
        "concern": "Ended without review, assessment or consultation (reg 14)",
        "remedy_sought": None,
        "iro": "Colin Marsh",
        "raised": "2025-12-22",
        "stage": 4,
        "stage_name": "Stage 4",
        "stage_since": "2025-12-22",
        "response_due": "2025-12-31",
        "responded": None,
        "age_days": 11,
        "formal_working_days": 6,
        "past_timescale": True,
        "resolved_late": False,
        "why_late": "no response at Stage 4 due by 2025-12-31 (5 working days)",
        "open": True,
        "outcome": None,
        "outcome_label": "open",
        "resolved": None,
        "resolved_by": None,
        "resolution": None,
        "cafcass_referred": "2025-12-22",
        "cafcass_outcome": None,  # Cafcass answered on 5 January
        "changes": [],
        "steps": [
            {
                "occurred_on": "2025-12-22",
                "kind": "cafcass_referral",
                "stage": 4,
                "by": "Colin Marsh (IRO)",
                "text": "Unlawful ending of a settled placement days before Christmas",
                "outcome": None,
                "link": None,
            }
        ],
    }
    # The statistics follow --iro but not --open: Bella's resolved challenge is counted.
    assert [(r["iro"], r["raised"], r["open"]) for r in data["per_iro"]] == [("Colin Marsh", 2, 1)]

    ruth = challenges_json(recorded, on, "--open", "--iro", "Ruth Adebayo")["challenges"]
    assert [(r["child"], r["challenge"]) for r in ruth] == [(f"{WESTMERE}:EMMA", "CH-2")]

    bella = challenges_json(recorded, on, "--iro", "Colin Marsh", "--child", f"{WESTMERE}:BELLA")
    assert [(r["challenge"], r["outcome_label"]) for r in bella["challenges"]] == [
        ("CH-1", "upheld at Stage 3, by review REV-4")
    ]
    only_open = challenges_json(
        recorded, on, "--open", "--iro", "Colin Marsh", "--child", f"{WESTMERE}:BELLA"
    )
    assert only_open["challenges"] == []
    other_iro = challenges_json(
        recorded, on, "--open", "--iro", "Ruth Adebayo", "--child", f"{EASTBURY}:CARL"
    )
    assert (other_iro["challenges"], other_iro["per_iro"]) == ([], [])


# --- an answer names the stage it answers; outcomes; one IRO however typed ------------------

DANA = {"name": "Dana Whitlock", "role": "IRO"}
DANA_LOWER = {"name": "dana whitlock", "role": "IRO"}  # the same IRO, typed differently


def frankie(ledger: Ledger) -> None:
    """Dana Whitlock's informal challenge of Monday 2 June 2025 (due Monday 16 June: 3-6 June
    (4), 9-13 (9), 16 (10)) is unanswered on the 16th; she goes straight to the DCS that day
    (due Monday 23 June: 17-20 June (4), 23 (5)). The social worker's reply to the informal
    stage comes on Wednesday 18 June; the DCS answers on Wednesday 25 June. Dana refers to
    Cafcass on Thursday 26 June, which ends the dispute on Friday 27 June."""
    f = "FRANKIE"
    ledger.child(WESTMERE, f, "2024-01-08", DANA)
    raise_(
        ledger,
        WESTMERE,
        f,
        "2025-06-02",
        DANA,
        subject="no_exit_plan",
        concern="No plan for permanence after two years",
        remedy_sought="A permanence plan at the next review",
    )
    step: dict[str, Any] = {"challenge_id": "CH-1"}
    ledger.add(
        WESTMERE,
        f,
        "ChallengeEscalated",
        "2025-06-16",
        to_stage=4,
        escalated_by=DANA,
        reason="No answer at the informal stage",
        **step,
    )
    ledger.add(
        WESTMERE,
        f,
        "ChallengeResponded",
        "2025-06-18",
        responded_by=SW,
        response="Sorry: a permanence meeting is booked",
        stage=0,
        **step,
    )
    ledger.add(
        WESTMERE,
        f,
        "ChallengeResponded",
        "2025-06-25",
        responded_by=DCS,
        response="The council will not change the plan",
        **step,
    )
    ledger.add(
        WESTMERE,
        f,
        "CafcassReferralMade",
        "2025-06-26",
        referred_by=DANA,
        grounds="Drift in permanence planning",
        **step,
    )
    ledger.add(
        WESTMERE,
        f,
        "ChallengeResolved",
        "2025-06-27",
        outcome="referred_to_cafcass",
        resolved_by=DANA,
        summary="For Cafcass now",
        **step,
    )


def gina(ledger: Ledger) -> None:
    """Dana (her name typed in lower case) challenges on Tuesday 3 June 2025 and withdraws
    on Thursday 5 June."""
    ledger.child(WESTMERE, "GINA", "2023-10-02", DANA_LOWER)
    raise_(
        ledger,
        WESTMERE,
        "GINA",
        "2025-06-03",
        DANA_LOWER,
        subject="no_allocated_sw",
        concern="No social worker for a month",
    )
    ledger.add(
        WESTMERE,
        "GINA",
        "ChallengeResolved",
        "2025-06-05",
        challenge_id="CH-1",
        outcome="withdrawn",
        resolved_by=DANA_LOWER,
        summary="A social worker was allocated",
    )


@pytest.fixture
def danas(db: str) -> Iterator[Opened]:
    with opened(db, create_tables=True) as o:
        ledger = Ledger(o)
        frankie(ledger)
        gina(ledger)
    with opened(db) as o:
        o.catch_up()
        yield o


def test_late_answer_to_the_informal_stage_after_escalation_leaves_the_dcs_stage_late(
    danas: Opened,
) -> None:
    on_due_day = row(danas, WESTMERE, "FRANKIE", "2025-06-23")
    assert (on_due_day["stage"], on_due_day["stage_since"], on_due_day["response_due"]) == (
        4,
        "2025-06-16",
        "2025-06-23",
    )
    # The social worker's reply of 18 June answers the informal stage, not the DCS.
    assert (on_due_day["responded"], on_due_day["past_timescale"]) == (None, False)
    late = row(danas, WESTMERE, "FRANKIE", "2025-06-24")
    assert (late["responded"], late["past_timescale"]) == (None, True)
    assert late["why_late"] == "no response at Stage 4 due by 2025-06-23 (5 working days)"
    assert [(s["occurred_on"], s["kind"], s["stage"], s["by"]) for s in late["steps"]] == [
        ("2025-06-16", "escalated", 4, "Dana Whitlock (IRO)"),
        ("2025-06-18", "responded", 0, "Tom Okafor (SW)"),
    ]
    # The DCS's own answer (its stage by default) stops the stage being late.
    answered = row(danas, WESTMERE, "FRANKIE", "2025-06-25")
    assert (answered["responded"], answered["past_timescale"], answered["why_late"]) == (
        "2025-06-25",
        False,
        None,
    )
    assert [s["stage"] for s in answered["steps"] if s["kind"] == "responded"] == [0, 4]


def test_dispute_ended_by_a_cafcass_referral_is_listed_and_not_counted_as_decided(
    danas: Opened,
) -> None:
    # Formal from Monday 16 June to Friday 27 June: 17-20 (4), 23-27 (9) working days.
    frankie = row(danas, WESTMERE, "FRANKIE", "2025-06-30")
    assert (frankie["open"], frankie["outcome"], frankie["outcome_label"]) == (
        False,
        "referred_to_cafcass",
        "referred to cafcass at Stage 4",
    )
    assert (frankie["resolved"], frankie["resolved_by"], frankie["resolution"]) == (
        "2025-06-27",
        "Dana Whitlock (IRO)",
        None,
    )
    assert (frankie["cafcass_referred"], frankie["cafcass_outcome"]) == ("2025-06-26", None)
    assert (frankie["formal_working_days"], frankie["resolved_late"]) == (9, False)
    assert frankie["remedy_sought"] == "A permanence plan at the next review"


def test_statistics_count_an_iro_once_however_the_name_is_typed(danas: Opened, db: str) -> None:
    # Frankie 2-27 June: 25 calendar days; Gina 3-5 June: 2. Neither decided: one ended by
    # the Cafcass referral, one withdrawn.
    on = date(2025, 6, 30)
    found = ch.load(danas.views, on)
    assert sorted(s.iro for s in found) == ["Dana Whitlock", "dana whitlock"]
    assert ch.statistics_rows(found, PROTOCOL, "iro", on) == [
        {
            "iro": "Dana Whitlock",
            "raised": 2,
            "open": 0,
            "resolved_at": {"Informal": 1, "Stage 4": 1},
            "withdrawn": 1,
            "upheld": 0,
            "decided": 0,
            "upheld_rate": None,
            "median_days_to_resolve": 13.5,
            "resolved_late": 0,
            "cafcass_referrals": 1,
        }
    ]
    data = challenges_json(db, "2025-06-30", "--iro", "DANA WHITLOCK")
    assert [r["child"] for r in data["challenges"]] == [
        f"{WESTMERE}:FRANKIE",
        f"{WESTMERE}:GINA",
    ]
    assert [(r["iro"], r["raised"]) for r in data["per_iro"]] == [("Dana Whitlock", 2)]


def test_resolved_late_is_counted_past_twenty_formal_working_days_not_on_the_twentieth() -> None:
    # Formal from Tuesday 3 June 2025 (as Bella's): Tuesday 1 July is the 20th working day,
    # Wednesday 2 July the 21st (counted above).
    def resolved(on: date) -> ch.ChallengeState:
        state = ch.ChallengeState(
            "case",
            WESTMERE,
            "HARRY",
            "CH-1",
            "decision",
            None,
            "Moved without review",
            None,
            "Colin Marsh",
            date(2025, 6, 3),
            1,
            date(2025, 6, 3),
            formal_since=date(2025, 6, 3),
            resolved_on=on,
            outcome="upheld",
        )
        return state

    on_time, late = resolved(date(2025, 7, 1)), resolved(date(2025, 7, 2))
    as_of = date(2025, 9, 1)
    assert ch.timescale(on_time, PROTOCOL, as_of).formal_late is False
    assert ch.timescale(late, PROTOCOL, as_of).formal_late is True
    assert ch.listing(on_time, PROTOCOL, as_of)["resolved_late"] is False
    listed = ch.listing(late, PROTOCOL, as_of)
    assert (listed["resolved_late"], listed["past_timescale"]) == (True, False)
    assert listed["why_late"] == "resolved after 21 working days since 2025-06-03 (limit 20)"
    [stats] = ch.statistics_rows([on_time, late], PROTOCOL, "council", as_of)
    assert (stats["resolved_late"], stats["upheld_rate"]) == (1, 1.0)


# --- the table ------------------------------------------------------------------------------


def test_table_rows_say_what_was_late_and_how_the_statistics_went(
    views: Opened, recorded: str
) -> None:
    on = date(2026, 1, 30)
    found = ch.load(views.views, on)
    bella = next(s for s in found if s.child_ref == "BELLA")
    assert challenges_cli.table_row(ch.listing(bella, PROTOCOL, on)) == {
        "child": f"{WESTMERE}:BELLA",
        "challenge": "CH-1",
        "subject": "decision",
        "iro": "Colin Marsh",
        "raised": "2025-06-03",
        "stage": "Stage 3",
        "response_due": "2025-06-19",
        "responded": "2025-06-18",
        "age_days": 34,
        "past_timescale": "resolved late: resolved after 24 working days since 2025-06-03 "
        "(limit 20)",
        "outcome": "upheld at Stage 3, by review REV-4",
        "cafcass": None,
    }
    carl = next(s for s in found if s.child_ref == "CARL")
    shown = challenges_cli.table_row(ch.listing(carl, PROTOCOL, on))
    assert shown["cafcass"] == "referred 2025-12-22: no action"
    assert shown["past_timescale"].startswith("no response at Stage 4 due by 2025-12-31")
    aaron = next(s for s in found if s.child_ref == "AARON")
    assert challenges_cli.table_row(ch.listing(aaron, PROTOCOL, on))["past_timescale"] == "no"
    [eastbury, westmere] = ch.statistics_rows(found, PROTOCOL, "council", on)
    assert challenges_cli.stats_row(westmere) == {
        "council": WESTMERE,
        "raised": 5,
        "open": 0,
        "resolved_at": "Informal 3, Stage 2 1, Stage 3 1",
        "withdrawn": 1,
        "upheld_rate": "3 of 4",
        "median_days_to_resolve": 34.0,
        "resolved_late": 1,
        "cafcass_referrals": 0,
    }
    assert (challenges_cli.stats_row(eastbury)["resolved_at"], eastbury["upheld_rate"]) == (
        None,
        None,
    )
    table = invoke(
        "challenges", "--db", recorded, "--as-of", "2026-01-30", env_extra={"COLUMNS": "400"}
    ).stdout
    assert "resolved late: resolved after 24 working days" in table
    assert "Informal 3, Stage 2 1, Stage 3 1" in table
    assert "3 of 4" in table


# --- a bad challenge setting stops only what needs the protocol -----------------------------


def test_bad_challenge_stages_setting_stops_only_the_commands_that_need_it(recorded: str) -> None:
    bad = {"CARELEDGER_CHALLENGE_STAGES": "not json"}
    history = invoke(
        "history", "--db", recorded, f"{WESTMERE}:AARON", "--format", "json", env_extra=bad
    )
    assert len(data_of(history.stdout)) > 10
    allocated = invoke(
        "record",
        "--db",
        recorded,
        "--actor",
        "tests",
        "--role",
        "ADMIN",
        "--type",
        "IROAllocated",
        "--council",
        WESTMERE,
        "--child",
        "DAISY",
        "--set",
        "occurred_on=2025-03-10",
        "--set",
        "source=LCS/DAISY/IRO-2",
        "--set",
        "iro_id=IRO-NK",
        "--set",
        "iro_name=Nadia Kaur",
        env_extra=bad,
    )
    assert "recorded 1 event(s)" in allocated.stdout

    listing = CliRunner().invoke(
        cli, ["challenges", "--db", recorded, "--format", "json"], env={**ENV, **bad}
    )
    assert listing.exit_code == 1
    assert listing.stdout == ""
    assert listing.stderr.startswith("error: challenge settings: ")
    assert "stages" in listing.stderr and "(expected JSON)" in listing.stderr
    assert "Traceback" not in listing.output

    raised = CliRunner().invoke(
        cli,
        [
            "record",
            "--db",
            recorded,
            "--actor",
            "tests",
            "--role",
            "IRO",
            "--type",
            "ChallengeRaised",
            "--council",
            WESTMERE,
            "--child",
            "DAISY",
            "--set",
            "occurred_on=2025-03-10",
            "--set",
            "source=LCS/DAISY/CH-2",
            "--set",
            "challenge_id=CH-2",
            "--set",
            "subject=no_allocated_sw",
            "--set",
            "concern=Still none",
            "--set",
            'raised_by={"name": "Ruth Adebayo", "role": "IRO"}',
        ],
        env={**ENV, **bad},
    )
    assert raised.exit_code == 1
    assert raised.stderr.startswith("error: challenge settings: ")


# --- the drift report -----------------------------------------------------------------------


def counts(report: Report) -> dict[str, tuple[int, int]]:
    return {c.group: (c.count, c.of) for c in report.counts if c.measure == "challenge_overdue"}


def test_drift_counts_the_unanswered_challenge_late_and_the_answered_one_not(
    views: Opened,
) -> None:
    # On Friday 2 January 2026 two challenges are open: Carl's, unanswered at the DCS since
    # Wednesday 31 December, and Emma's CH-2, answered on 30 December.
    report = drift_report(views.views, date(2026, 1, 2), protocol=PROTOCOL)
    assert counts(report) == {"all": (1, 2)}
    [finding] = report.findings["challenge_overdue"]
    assert (finding.group, finding.subject, finding.on, finding.days) == (
        "all",
        f"{EASTBURY}:CARL",
        "2025-12-22",
        11,
    )
    assert finding.detail == (
        "challenge CH-1 (decision) of Colin Marsh: no response at Stage 4 due by 2025-12-31 "
        "(5 working days)"
    )
    # On the due day itself nothing is late.
    on_due_day = drift_report(views.views, date(2025, 12, 31), protocol=PROTOCOL)
    assert counts(on_due_day) == {"all": (0, 2)}


def test_drift_counts_a_formal_process_past_its_limit(views: Opened) -> None:
    report = drift_report(views.views, date(2025, 7, 2), protocol=PROTOCOL)
    assert counts(report) == {"all": (1, 1)}  # Bella's: the only one open
    [finding] = report.findings["challenge_overdue"]
    assert finding.subject == f"{WESTMERE}:BELLA"
    assert finding.detail.endswith("formal process 21 working days since 2025-06-03 (limit 20)")
    assert counts(drift_report(views.views, date(2025, 7, 1), protocol=PROTOCOL)) == {"all": (0, 1)}


def test_drift_by_iro_counts_a_challenge_for_the_iro_who_raised_it(views: Opened) -> None:
    # Emma's IRO has been Nadia Kaur since 29 December; her challenge stays Ruth Adebayo's.
    report = drift_report(views.views, date(2026, 1, 2), By.IRO, protocol=PROTOCOL)
    assert counts(report) == {"Colin Marsh": (1, 1), "Ruth Adebayo": (0, 1)}
    assert [f.group for f in report.findings["challenge_overdue"]] == ["Colin Marsh"]


def test_drift_command_reports_challenge_overdue_overall_and_by_iro(recorded: str) -> None:
    def summary(*args: str) -> dict[str, tuple[int, int]]:
        out = invoke("drift", "--db", recorded, "--as-of", "2026-01-02", "--format", "json", *args)
        data = data_of(out.stdout)
        assert data["challenge_protocol"]["formal_limit_working_days"] == 20
        found = data["findings"]["challenge_overdue"]
        assert [(f["subject"], f["days"]) for f in found] == [(f"{EASTBURY}:CARL", 11)]
        return {
            c["group"]: (c["count"], c["of"])
            for c in data["summary"]
            if c["measure"] == "challenge_overdue"
        }

    assert summary() == {"all": (1, 2)}
    assert summary("--group-by", "iro") == {"Colin Marsh": (1, 1), "Ruth Adebayo": (0, 1)}


# --- the history ----------------------------------------------------------------------------


def test_history_shows_the_change_that_came_from_the_challenge_among_its_steps(
    recorded: str,
) -> None:
    out = invoke("history", "--db", recorded, f"{WESTMERE}:AARON", "--format", "json")
    whats = [
        r["what"] for r in data_of(out.stdout) if "CH-1" in r["what"] or "CH-R" in r["what"]
    ]
    assert whats == [
        "IRO challenge CH-1 raised (informal) (decision about CH-LODGINGS): Staying put "
        "replaced without a review or Aaron's views",
        "challenge CH-1 answered by Grace Mensah (TM): The decision stands",
        "challenge CH-1 escalated to stage 1: No review was held",
        "challenge CH-1 answered by Grace Mensah (TM): The decision stands",
        "challenge CH-1 escalated to stage 2: No review was held",
        "challenge CH-1 answered by Marcus Fenwick (SERVICE_MANAGER): Upheld: staying put to "
        "be restored",
        "pathway changed (significant, CH-RESTORE) by Marcus Fenwick (SERVICE_MANAGER), "
        "authority IRO agreement (proposal P-RESTORE): Army preparation course; staying put "
        "with his foster carers [came from challenge CH-1]",
        "challenge CH-1 resolved, upheld, by Marcus Fenwick (SERVICE_MANAGER) (through change "
        "CH-RESTORE): Staying put restored",
    ]
    # The change the IRO challenged did not come from a challenge.
    rows = data_of(out.stdout)
    changes = [r["what"] for r in rows if r["type"] == "CarePlanSectionChanged"]
    assert [w.split(" by ")[0] for w in changes] == [
        "pathway changed (significant, CH-LODGINGS)",
        "pathway changed (significant, CH-RESTORE)",
    ]
    assert "[came from challenge" not in changes[0]


def test_history_names_the_challenge_a_change_came_from(recorded: str) -> None:
    out = invoke("history", "--db", recorded, f"{WESTMERE}:EMMA", "--format", "json")
    rows = data_of(out.stdout)
    [flat] = [r["what"] for r in rows if r["type"] == "CarePlanSectionChanged"]
    assert flat.startswith("pathway changed (significant, CH-FLAT)")
    assert flat.endswith("Supported flat in Eastborough from March [came from challenge CH-2]")


def test_history_table_shows_the_challenge_a_change_came_from(recorded: str) -> None:
    table = invoke("history", "--db", recorded, f"{WESTMERE}:EMMA", env_extra={"COLUMNS": "400"})
    assert "Supported flat in Eastborough from March" in table.stdout
    assert "[came from challenge CH-2]" in table.stdout
