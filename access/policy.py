"""Who may read and record what: the README's table "Who may read and record what", in code.
The tests read that table and check every cell against `Access`, so the two cannot differ.

A child's record is each view of one child (plan, history, unapproved, reviews, challenges,
verify, and the child's entries in their IRO's inbox); the chronology is apart because a
court clerk reads only that. Aggregate reports are those over many children (drift, the
unapproved and challenges lists).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from careledger.ledger.domain.vocabulary import Role

VIEWS = (
    "plan",
    "history",
    "unapproved",
    "reviews",
    "challenges",
    "chronology",
    "verify",
    "inbox",  # the child's changes in their IRO's inbox (careledger.projections.inbox)
)


class Scope(StrEnum):
    """The words of the README table's cells."""

    NONE = "no"
    THEIR_COUNCIL = "their council"
    ALLOCATED = "allocated to them, now or before"
    WITH_REASON = "councils inspected, with a reason"
    INSPECTED = "councils inspected"
    SHARED = "shared with their court"
    BREAK_GLASS = "break-glass reads of their council"
    EVERY_COUNCIL = "every council"


@dataclass(frozen=True)
class Rights:
    child_record: Scope
    chronology: Scope
    reports: Scope
    records: Scope
    access_log: Scope


_COUNCIL_STAFF = Rights(
    Scope.THEIR_COUNCIL, Scope.THEIR_COUNCIL, Scope.THEIR_COUNCIL, Scope.THEIR_COUNCIL, Scope.NONE
)
NO = Scope.NONE

POLICY: dict[str, Rights] = {
    "SW": _COUNCIL_STAFF,
    "TM": _COUNCIL_STAFF,
    "SERVICE_MANAGER": _COUNCIL_STAFF,
    "SENIOR_MANAGER": _COUNCIL_STAFF,
    "NOMINATED_OFFICER": _COUNCIL_STAFF,
    "ADM": _COUNCIL_STAFF,
    "DCS": _COUNCIL_STAFF,
    "IRO": Rights(Scope.ALLOCATED, Scope.ALLOCATED, NO, Scope.THEIR_COUNCIL, NO),
    "IRO_MANAGER": Rights(
        Scope.THEIR_COUNCIL,
        Scope.THEIR_COUNCIL,
        Scope.THEIR_COUNCIL,
        Scope.THEIR_COUNCIL,
        Scope.BREAK_GLASS,
    ),
    "INSPECTOR": Rights(Scope.WITH_REASON, Scope.WITH_REASON, Scope.INSPECTED, NO, NO),
    "COURT_CLERK": Rights(NO, Scope.SHARED, NO, NO, NO),
    "SYSTEM": Rights(NO, NO, NO, Scope.THEIR_COUNCIL, NO),
    "DPO": Rights(NO, NO, NO, NO, Scope.THEIR_COUNCIL),
    "ADMIN": Rights(*[Scope.EVERY_COUNCIL] * 5),
}
ROLES = tuple(POLICY)

# Roles a person may be given with `careledger users add`: a system gets a token, and ADMIN
# is the command line's own principal (whoever holds the database's credentials).
PERSON_ROLES = tuple(role for role in ROLES if role not in ("SYSTEM", "ADMIN"))

# The role a system's events are recorded with. A case-management system's feed enters on the
# council's behalf decisions that people made; who decided is in each event's own fields
# (decided_by, approved_by...), so the feed records as ADMIN, named by its system name.
SYSTEM_RECORDS_AS = Role.ADMIN.value


def rights(role: str) -> Rights:
    return POLICY.get(role, Rights(NO, NO, NO, NO, NO))


def recorded_role(role: str) -> str | None:
    """The ledger role events are recorded with for a principal in `role`, or None if that
    role records nothing."""
    if role == "SYSTEM":
        return SYSTEM_RECORDS_AS
    return role if role in Role.__members__ and rights(role).records is not NO else None
