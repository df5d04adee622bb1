"""The words of the statutory guidance and the DfE's SSDA903 codes."""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """A closed list of words or codes, as a `StrEnum` whose `value` is read as a plain
    attribute. Python 3.11's `Enum` reads `value` through a descriptor written in Python,
    which pydantic asks for every code it writes as JSON: two or three of them an event
    stored, and again for each event a projection writes out."""

    @property
    def value(self) -> str:
        return self._value_


class Section(Code):
    """Sections of a care plan (reg 5 and Sch 1 of the 2010 Regulations).

    `pathway` (16+, Care Leavers (England) Regs 2010) and `detention_placement` (reg 47B) are
    the plans named beside the reg 5 list. `legal_status` is the plan's statement of the legal
    basis on which the child is looked after; it is here so that a change of legal basis can be
    presumed significant like a placement or permanence change.
    """

    PERMANENCE = "permanence"
    HEALTH = "health"
    EDUCATION = "education"
    EMOTIONAL_BEHAVIOURAL = "emotional_behavioural"
    IDENTITY = "identity"
    FAMILY_SOCIAL = "family_social"
    SOCIAL_PRESENTATION = "social_presentation"
    SELF_CARE = "self_care"
    PLACEMENT = "placement"
    IRO = "iro"
    WISHES_FEELINGS = "wishes_feelings"
    PATHWAY = "pathway"
    DETENTION_PLACEMENT = "detention_placement"
    LEGAL_STATUS = "legal_status"


class LegalStatus(Code):
    """SSDA903 legal status codes (validator rule 144)."""

    C1 = "C1"  # interim care order, s.38
    C2 = "C2"  # full care order, s.31
    D1 = "D1"  # freeing order
    E1 = "E1"  # placement order, ACA 2002 s.21
    V2 = "V2"  # accommodated under s.20
    V3 = "V3"  # single short break
    V4 = "V4"  # series of short breaks
    L1 = "L1"  # police protection
    L2 = "L2"  # emergency protection order
    L3 = "L3"  # child assessment order
    J1 = "J1"  # remanded to local authority accommodation
    J2 = "J2"  # PACE accommodation
    J3 = "J3"  # youth rehabilitation order with residence requirement


class Role(Code):
    """Who acts in a child's case."""

    SW = "SW"
    TM = "TM"
    NOMINATED_OFFICER = "NOMINATED_OFFICER"
    DCS = "DCS"
    ADM = "ADM"
    IRO = "IRO"
    IRO_MANAGER = "IRO_MANAGER"
    COURT_CLERK = "COURT_CLERK"
    ADMIN = "ADMIN"
    SERVICE_MANAGER = "SERVICE_MANAGER"
    SENIOR_MANAGER = "SENIOR_MANAGER"


class Participation(Code):
    """The child's participation in a review: SSDA903 REVIEW_CODE (validator rule 167)."""

    PN0 = "PN0"  # child under 4
    PN1 = "PN1"  # attends and speaks for self
    PN2 = "PN2"  # attends, advocate or IRO speaks
    PN3 = "PN3"  # attends, conveys views non-verbally
    PN4 = "PN4"  # attends, does not contribute
    PN5 = "PN5"  # absent, briefs an advocate or the IRO
    PN6 = "PN6"  # absent, conveys views by another medium
    PN7 = "PN7"  # absent, views not conveyed


class AuthorityKind(Code):
    """On what authority a plan change was made (reg 32(2); docs/rules.md §2)."""

    REVIEW_DECISION = "review_decision"
    NOT_REASONABLY_PRACTICABLE = "not_reasonably_practicable"
    IRO_AGREEMENT = "iro_agreement"
    NONE = "none"


class ChallengeSubject(Code):
    """What an IRO challenge concerns (Nottinghamshire's list; docs/rules.md §5)."""

    CARE_PLANNING = "care_planning"
    IMPLEMENTATION = "implementation"
    DECISION = "decision"
    DRIFT_AND_DELAY = "drift_and_delay"
    NO_EXIT_PLAN = "no_exit_plan"
    NO_ALLOCATED_SW = "no_allocated_sw"
    POOR_PRACTICE = "poor_practice"
    PARTICIPATION = "participation"
    FAILURE_TO_ACT = "failure_to_act"
    RECOMMENDATION = "recommendation"


# SSDA903 reason episode ceased (validator rule 149). X1 is not an end of care:
# the next episode continues the same period.
CEASED_REASONS: frozenset[str] = frozenset(
    {"E11", "E12", "E2", "E3", "E4A", "E4B", "E13", "E41", "E45", "E46", "E47", "E48"}
    | {"E5", "E6", "E7", "E8", "E9", "E14", "E15", "E16", "E17"}
)


class ChallengeOutcome(Code):
    """How a challenge ended (docs/rules.md §5: the taxonomy is unverified). A Cafcass referral
    may end the dispute instead of finishing the process (Cafcass practice note para 3.1)."""

    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    NOT_UPHELD = "not_upheld"
    WITHDRAWN = "withdrawn"
    REFERRED_TO_CAFCASS = "referred_to_cafcass"


class CafcassOutcome(Code):
    """What came of a referral to Cafcass under s.25B(3) (docs/rules.md §5: unverified)."""

    ADVICE = "advice"
    PROCEEDINGS = "proceedings"
    NO_ACTION = "no_action"


class InformedOf(Code):
    """Why a change is put before the child's IRO: the council informs the IRO of any
    significant change (CPPCR 2010 reg 37), of a placement and of its ending (reg 13(2)(i),
    reg 14(2)(b)), and the IRO monitors the council's performance in the case (Children Act
    1989 s.25B(1)(a)): changes made without authority, answers to challenges, recommendations
    not carried out in time."""

    SIGNIFICANT_CHANGE = "significant change"
    PRESUMED_SIGNIFICANT = "change in a section presumed significant"
    PLACEMENT_ENDED = "placement ended"
    WITHOUT_AUTHORITY = "change recorded without authority"
    CHALLENGE_RESPONSE = "challenge response"
    RECOMMENDATION_OVERDUE = "recommendation overdue"
