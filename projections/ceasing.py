"""Judging a child's ceasing to be looked after against reg 39(4)-(5) (docs/rules.md §4).

reg 39(4): where the child has been looked after for at least 20 working days, a decision to
cease to look after them is not put into effect until a nominated officer approves it.
reg 39(5): where the child is aged 16 or 17 and is not in the council's care, the director of
children's services approves it instead, in any case.

Which endings are the council's decision (reg 39(1): "where the responsible authority are
considering ceasing to look after C") is our reading, documented in docs/rules.md §4:
- only accommodation under s.20 (legal status V2) ends by the council's decision: a court
  ends a care, placement or freeing order (C1, C2, D1, E1), a remand or protection status
  ends by the court or by statute (J1-J3, L1-L3), and short breaks (V3, V4) end with each
  break under reg 48's modified regime;
- some endings are no one's decision to cease: death (E2), a custodial sentence (E9), a
  remand ended (E14), an age assessment (E15), reaching 18 (E17), a parent removing the child
  outside the care plan (E4B, s.20(8)), and the court orders that end accommodation
  (adoption E11, E12; child arrangements E41; special guardianship E45-E48);
- an ending read from an SSDA903 return is not judged: the return has no field for approval,
  so its silence says nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.vocabulary import LegalStatus, Role
from careledger.projections.timetable import working_days_between

REG_39_4 = "CPPCR 2010 reg 39(4)"
REG_39_5 = "CPPCR 2010 reg 39(5)"
APPROVAL_AFTER_WORKING_DAYS = 20
NOT_A_DECISION = frozenset(
    {"E2", "E9", "E14", "E15", "E17", "E4B", "E11", "E12", "E41", "E45", "E46", "E47", "E48"}
)


@dataclass(frozen=True)
class Ceasing:
    """What a ceasing to be looked after lacked, and the rule that asks for it."""

    why: str
    rule: str


@dataclass
class _CareSoFar:
    """The facts reg 39 turns on, as the case's events up to the ending give them."""

    started_on: date | None = None
    legal_status: LegalStatus | None = None
    status_since: date | None = None
    born_on: date | None = None

    def follow(self, payload: p.Payload) -> None:
        if isinstance(payload, p.ChildBecameLookedAfter):
            self.started_on = payload.occurred_on
            self._status(payload.legal_status, payload.occurred_on)
        elif isinstance(payload, p.LegalStatusChanged | p.PlacementChanged):
            self._status(payload.legal_status, payload.occurred_on)
        elif isinstance(payload, p.ChildDetailsRecorded) and payload.details.dob:
            self.born_on = payload.details.dob

    def _status(self, status: LegalStatus | None, on: date) -> None:
        if status is not None and (self.status_since is None or on >= self.status_since):
            self.legal_status, self.status_since = status, on


def judge_ceasing(payloads: Iterable[tuple[int, p.Payload]]) -> dict[int, Ceasing]:
    """Each ending (by sequence number) that reg 39 asks approval for and did not get it.
    `payloads` are the case's corrected payloads in recording order; the facts are taken
    in the order of their dates, so a backdated record counts where it belongs."""
    ordered = sorted(payloads, key=lambda item: (item[1].occurred_on, item[0]))
    care = _CareSoFar()
    found: dict[int, Ceasing] = {}
    for seq, payload in ordered:
        if isinstance(payload, p.ChildCeasedToBeLookedAfter):
            lacking = _lacking(payload, care)
            if lacking:
                found[seq] = lacking
        care.follow(payload)
    return found


def _lacking(ending: p.ChildCeasedToBeLookedAfter, care: _CareSoFar) -> Ceasing | None:
    if ending.episode_id is not None or ending.reason in NOT_A_DECISION:
        return None
    if care.legal_status is not LegalStatus.V2 or care.started_on is None:
        return None
    age = _age(care.born_on, ending.occurred_on)
    if age in (16, 17):
        return _needs(ending, Role.DCS, f"aged {age} and accommodated under s.20", REG_39_5)
    day_before = timedelta(days=1)  # counted from the day care began to the day before it ended
    days = working_days_between(care.started_on - day_before, ending.occurred_on - day_before)
    if days < APPROVAL_AFTER_WORKING_DAYS:
        return None
    looked_after = f"looked after for {days} working days under s.20"
    if care.born_on is None:
        looked_after += " (date of birth not recorded: reg 39(5) not judged)"
    return _needs(ending, Role.NOMINATED_OFFICER, looked_after, REG_39_4)


def _needs(
    ending: p.ChildCeasedToBeLookedAfter, approver: Role, circumstance: str, rule: str
) -> Ceasing | None:
    """The ending lacks the approval `approver` must give (a DCS may approve what a nominated
    officer may)."""
    given = ending.approved_by
    if given is not None and given.role in (approver, Role.DCS):
        return None
    wanted = "a nominated officer" if approver is Role.NOMINATED_OFFICER else "the DCS"
    if given is None:
        return Ceasing(f"{circumstance}: ceased with no approval recorded ({wanted})", rule)
    return Ceasing(f"{circumstance}: approved by {given.name} ({given.role}), not {wanted}", rule)


def _age(born_on: date | None, on: date) -> int | None:
    return relativedelta(on, born_on).years if born_on else None
