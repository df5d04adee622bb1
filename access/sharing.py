"""Who in a council may share a child's chronology with a court.

Disclosing a looked-after child's records to a court is the council's decision as a party to
the proceedings (Family Procedure Rules 2010, Practice Direction 12A: the council
files its chronology with the court), taken by a manager who signs off what the council
files: a team manager or anyone above them in the line (service manager, senior manager,
the Director of Children's Services), and the IRO service's manager for the IRO's record.

A social worker's court documents are approved by their team manager, so a social worker does
not share on their own. An IRO is independent of the council's case (Children Act 1989
s.25B) and is not the council's voice in proceedings: their route to a court is a referral to
Cafcass (s.25B(3)). The agency decision maker and the nominated officer take named statutory
decisions, not disclosure. The command line (`careledger shares add`) is an administrator's.
"""

from __future__ import annotations

from careledger.access.principal import Principal

SHARING_ROLES = ("TM", "SERVICE_MANAGER", "SENIOR_MANAGER", "DCS", "IRO_MANAGER")


def may_share_for(who: Principal) -> bool:
    """`who`'s role may share a chronology with a court (for their own councils only)."""
    return who.role in SHARING_ROLES


def may_share(who: Principal, council: str) -> bool:
    """`who` may share the chronology of a child of `council` with a court."""
    return may_share_for(who) and council in who.councils
