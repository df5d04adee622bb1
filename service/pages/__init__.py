"""The service's pages for people: server-rendered HTML in the GOV.UK Design System's markup
(`govuk-frontend`, vendored under `assets/`), working without JavaScript. Each page reads
through `careledger.api`, after `Access.check_child` has allowed (and logged) the read.

`router` holds them all; `create_app` includes it before the JSON routes, so that the
sign-in form a browser gets is the GOV.UK one."""

from __future__ import annotations

from fastapi import APIRouter

from careledger.service.pages import (
    assets,
    break_glass,
    challenge_actions,
    challenge_form,
    child_page,
    court,
    dashboard,
    inbox,
    sharing,
    sign_in_page,
    verify_page,
    workspace,
)

router = APIRouter(include_in_schema=False)
for _module in (assets, sign_in_page, workspace, child_page, challenge_form, challenge_actions,
                sharing, court, verify_page, dashboard, break_glass, inbox):  # fmt: skip
    router.include_router(_module.router)
