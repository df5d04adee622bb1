"""The pages' style sheets, served by the service itself: nothing is loaded from a CDN, and
the Content-Security-Policy allows style from this service only."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import Response

from careledger.service.problems import not_found

router = APIRouter()

MEDIA = {".css": "text/css; charset=utf-8"}


@router.get("/assets/{name:path}")
def asset(name: str) -> Response:
    """One of the files under `assets/` by its path; any other path is not found (no path
    is read from the request beyond the list of files known)."""
    known = _assets()
    if name not in known:
        raise not_found()
    suffix = name[name.rfind(".") :]
    return Response(known[name], media_type=MEDIA[suffix])


@cache
def _assets() -> dict[str, bytes]:
    root = files("careledger.service.pages").joinpath("assets")
    found: dict[str, bytes] = {}
    for folder in (root, root.joinpath("govuk-frontend")):
        for item in folder.iterdir():
            if item.is_file() and item.name.endswith(tuple(MEDIA)):
                prefix = "" if folder == root else "govuk-frontend/"
                found[prefix + item.name] = item.read_bytes()
    return found
