"""A court's share of a child's chronology, ended by the council before its expiry (the
proceedings are over, or it was shared in error), through the API as `careledger shares
revoke` does: the clerk's next read is refused, and the revocation (who, when) is kept.

Who may share may revoke (`careledger.access.sharing`); to anyone else, and for a share that
does not exist, the answer is the same "not found or not allowed"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from careledger.access.errors import AccessRefused
from careledger.ledger.errors import LedgerError
from careledger.service.identity import Signed
from careledger.service.problems import Problem, not_found
from careledger.service.state import state_of

router = APIRouter(tags=["shares"])
ShareId = Annotated[str, Path(max_length=40, description="as `careledger shares list` names it")]


@router.post("/shares/{share_id}/revoke", summary="End a court's share of a chronology now")
def revoke(request: Request, who: Signed, share_id: ShareId) -> JSONResponse:
    access = state_of(request).ledger.access
    try:
        access.shares.get(share_id)  # a share not found reads as one not allowed
        share = access.revoke_share(who, share_id)
    except AccessRefused:
        raise not_found() from None
    except LedgerError as refused:
        if "revoked already" not in str(refused):
            raise not_found() from None
        raise Problem(409, "Conflict", str(refused).partition(": ")[2], "share_id") from None
    return JSONResponse({key: share[key] for key in SHOWN})


SHOWN = ("share_id", "child", "court", "from_on", "to_on", "expires_on", "state", "revoked_by",
         "revoked_at")  # fmt: skip
