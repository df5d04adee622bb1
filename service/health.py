"""`GET /health`: does the store answer, and how far behind the ledger are the projections
the reads answer from (`Opened.lag()`, read where the reads are: the read URL). For a load
balancer's checks and the council's monitoring: it needs no sign-in and says nothing about
any child."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from careledger.ledger.store.failures import STORE_ERRORS
from careledger.service.state import state_of

router = APIRouter()


@router.get("/health", summary="Whether the store answers, and the projections' lag")
def health(request: Request) -> JSONResponse:
    state = state_of(request)
    try:
        lag = state.reader.lag()
    except STORE_ERRORS as error:
        return JSONResponse(
            {"status": "unavailable", "store": "not answering", "error": type(error).__name__},
            status_code=503,
        )
    return JSONResponse(
        {
            "status": "ok",
            "store": "answering",
            "projections": lag.as_dict(),
        }
    )
