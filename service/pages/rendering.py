"""Rendering a page: one Jinja environment over `templates/`, autoescaped, and what every
page's layout needs (who is signed in, the CSRF token of the sign-out form)."""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from careledger.access.principal import Principal
from careledger.access.sharing import may_share_for
from careledger.service.sessions import csrf_token

SERVICE_NAME = "careledger"


@cache
def environment() -> Environment:
    made = Environment(
        loader=PackageLoader("careledger.service.pages", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    made.globals["may_share"] = may_share_for  # the menu shows the sharing pages to those roles
    return made


def page(
    request: Request,
    template: str,
    who: Principal | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """`template` rendered inside the layout for `who` (None: nobody signed in)."""
    html = (
        environment()
        .get_template(template)
        .render(
            service_name=SERVICE_NAME,
            who=who,
            sign_out_token=csrf_token(request) if who else None,
            path=request.url.path,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code)
