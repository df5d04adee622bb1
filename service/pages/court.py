"""The court clerk's page: the chronologies shared with their court that have not expired,
each downloadable as PDF, HTML or CSV, cut to the share's dates. A download is the chronology
`careledger chronology --from --to --format` gives for those dates, produced in the clerk's
name, so `careledger verify-export` and the verify page check it.

Every download is a read of the child's chronology, checked and written to the access log
(`Access.check_child`). A share that has expired, another court's share, and one that never
existed all get the same answer: not found, and nothing of the child."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from careledger.access.access_log import REFUSED
from careledger.access.errors import AccessRefused
from careledger.access.principal import Principal
from careledger.access.shares import Share
from careledger.api import Opened
from careledger.projections.chronology_forms import render
from careledger.service.pages.rendering import page
from careledger.service.pages.signed import SignInFirst, person, to_sign_in
from careledger.service.reads import CHRONOLOGY_MEDIA
from careledger.service.state import state_of

router = APIRouter()

Form = Literal["pdf", "html", "csv"]


@router.get("/court")
def court_page(request: Request) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    if who.role != "COURT_CLERK":
        return page(request, "not_a_clerk.html.j2", who, status_code=403,
                    title="Chronologies shared with your court")  # fmt: skip
    shares = shared_with_court(state_of(request).ledger, who)
    return page(request, "court.html.j2", who, title="Chronologies shared with your court",
                shares=shares)  # fmt: skip


@router.get("/court/shares/{share_id}/chronology.{form}")
def download(
    request: Request, share_id: Annotated[str, Path(max_length=64)], form: Form
) -> Response:
    try:
        who = person(request)
    except SignInFirst:
        return to_sign_in()
    state = state_of(request)
    share = share_in_force(state.ledger, who, share_id)
    if share is None:
        return page(request, "not_found.html.j2", who, status_code=404, title="Page not found")
    try:
        state.ledger.access.check_child(who, share.child, "chronology")
    except AccessRefused:
        return page(request, "not_found.html.j2", who, status_code=404, title="Page not found")
    made = state.reader.chronology(share.child, who.name, share.from_on, share.to_on)
    name = f"chronology-{share.child.replace(':', '-')}-{share.from_on}-{share.to_on}.{form}"
    return Response(
        render(made, form),
        media_type=CHRONOLOGY_MEDIA[form],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def shared_with_court(ledger: Opened, who: Principal) -> list[Share]:
    """The shares in force with `who`'s court (a court clerk's), by child then first date.
    Each child's are those `Access.shared` gives, the one rule of which shares are in force."""
    if who.role != "COURT_CLERK" or not who.court:
        return []
    rows = ledger.access.store.fetch(
        "SELECT DISTINCT child FROM {s}access_shares WHERE court = ? ORDER BY child", [who.court]
    )
    return [share for row in rows for share in ledger.access.shared(who, str(row["child"]))]


def share_in_force(ledger: Opened, who: Principal, share_id: str) -> Share | None:
    """The share `share_id` if it is in force with `who`'s court; otherwise None, and when
    the share names a child, the refused read is logged against that child."""
    rows = ledger.access.store.fetch(
        "SELECT child FROM {s}access_shares WHERE share_id = ?", [share_id]
    )
    if not rows:
        return None
    child = str(rows[0]["child"])
    found = next((s for s in ledger.access.shared(who, child) if s.share_id == share_id), None)
    if found is None:
        ledger.access.access_log.append(who.name, who.role, child, "chronology", REFUSED)
    return found
