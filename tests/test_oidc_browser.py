"""People sign in through the council's identity provider in a real browser (Debian's
Chromium), and see only what their role may see: the IRO her allocated child's plan and not
another child's; the inspector the drift report and no child's record without a reason.

The same council as tests/test_oidc_sign_in.py, on a SQLite file; careledger on uvicorn
with TLS, the provider on plain HTTP, as in those tests. A missing /usr/bin/chromium fails
the run in CI and is skipped, saying so, elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from careledger.access.errors import NOT_FOUND_OR_NOT_ALLOWED
from careledger.api import opened
from tests.identity_provider import INSPECTOR, IRO, IdentityProvider, User
from tests.signed_in_service import Certificate, Served, served_with_sign_in
from tests.test_oidc_sign_in import DATA_PROTECTION_OFFICER, JAYDEN, TIA, the_council


@pytest.fixture(scope="module")
def served(
    identity_provider: IdentityProvider,
    tls_certificate: Certificate,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("browser-served")
    db = the_council(str(folder / "careledger.db"))
    with served_with_sign_in(db, identity_provider, tls_certificate, folder) as service:
        yield service


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile: the test's certificate is its own, so the browser is told
    to accept it rather than a CA installed on the machine."""
    fresh = browser.new_context(ignore_https_errors=True)
    yield fresh
    fresh.close()


def sign_in(page: Page, served: Served, user: User, next_page: str) -> None:
    """Open careledger's sign-in link, fill in the council's sign-in page, and wait to land
    on `next_page`."""
    page.goto(f"{served.url}/sign-in/oidc?next={next_page}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{served.url}{next_page}")


def test_an_iro_signed_in_in_the_browser_sees_her_childs_plan_and_no_other(
    context: BrowserContext, served: Served
) -> None:
    page = context.new_page()

    sign_in(page, served, IRO, f"/children/{JAYDEN}/plan")
    plan = page.content()
    other = page.goto(f"{served.url}/children/{TIA}/plan")

    assert "Foster placement for JM-0311" in plan
    assert other is not None and other.status == 404
    assert NOT_FOUND_OR_NOT_ALLOWED in page.content()
    assert "TB-0412 (U4)" not in page.content()
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["careledger_session"]["httpOnly"] and cookies["careledger_session"]["secure"]
    assert cookies["careledger_session"]["sameSite"] == "Strict"


def test_an_inspector_signed_in_in_the_browser_sees_drift_and_no_child_without_a_reason(
    context: BrowserContext, served: Served
) -> None:
    page = context.new_page()

    sign_in(page, served, INSPECTOR, "/drift?format=html")
    drift_title = page.title()
    child = page.goto(f"{served.url}/children/{JAYDEN}/plan")

    assert "drift" in drift_title.lower()
    assert child is not None and child.status == 403
    assert "reason" in page.content()
    assert "Foster placement" not in page.content()


def test_what_each_person_read_in_the_browser_is_in_the_access_log(
    context: BrowserContext, served: Served, identity_provider: IdentityProvider
) -> None:
    page = context.new_page()
    sign_in(page, served, IRO, f"/children/{JAYDEN}/history")

    db = str(served.log.parent / "careledger.db")
    with opened(db) as ledger:
        reads = ledger.access.log(child=JAYDEN, actor=IRO.username, who=DATA_PROTECTION_OFFICER)

    assert ("history", "IRO") in [(entry["view"], entry["role"]) for entry in reads]


def test_signing_out_in_the_browser_signs_out_of_the_council_account_too(
    context: BrowserContext, served: Served
) -> None:
    """The pages' Sign out button: careledger's session ends, the browser goes on to the
    provider's end_session_endpoint (not blocked by the page's CSP form-action 'self': the
    page that goes on is careledger's own answer, not a redirect of the form), the person
    confirms there, and comes back to careledger's sign-in page. Signing in again asks for
    the council password."""
    page = context.new_page()
    sign_in(page, served, IRO, "/my-children")

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(f"{served.url}/sign-in**")
    mine = page.goto(f"{served.url}/my-children")
    page.goto(f"{served.url}/sign-in/oidc?next=/my-children")

    assert mine is not None and mine.url.startswith(f"{served.url}/sign-in")
    assert page.get_by_label("Password").is_visible()  # the provider asks again
    assert "careledger_session" not in {c["name"] for c in context.cookies()}
