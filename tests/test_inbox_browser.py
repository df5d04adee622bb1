"""The IRO's main path, in Debian's Chromium against a real `careledger serve` over the
demo's case histories: the IRO signs in; the council's case-management system records a
change through the API (a system token); the change is in the IRO's inbox; the IRO opens
the child, acknowledges the change (an `IROInformed` event in their name, in the child's
history), and raises a challenge. Every page passes axe-core (WCAG 2.2 AA) and is
photographed into test-artefacts/inbox/.

In the demo IRO-04 is the IRO of NR-0101 and NR-0104 (Dean) at council E10000099.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from careledger.api import opened
from tests.access_histories import OTHER
from tests.browser import accessible as checked_accessible
from tests.service_server import PASSWORD, Service, issue_token, served_demo

IRO = "IRO-04"
DEAN = f"{OTHER}:NR-0104"


@pytest.fixture(scope="module")
def served(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, str]]:
    people = [(IRO, "IRO", [OTHER]), ("tm.crane", "TM", [OTHER])]
    with served_demo(demo_store, tmp_path_factory.mktemp("inbox-pages"), people) as served:
        yield served


@pytest.fixture
def page(browser: Browser, served: tuple[Service, str]) -> Iterator[Page]:
    context = browser.new_context(base_url=served[0].url)
    opened_page = context.new_page()
    problems: list[str] = []
    opened_page.on("console", lambda message: problems.append(message.text))
    yield opened_page
    assert not [text for text in problems if "Content Security Policy" in text], problems
    context.close()


def sign_in(page: Page, name: str = IRO) -> None:
    page.goto("/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def accessible(page: Page, shot: str) -> None:
    checked_accessible(page, "inbox", shot)


def history_of(db: str, child: str) -> list[dict[str, object]]:
    with opened(db) as ledger:
        return ledger.history(child)


def unacknowledged(page: Page, child: str) -> int:
    """My children's count of the child's changes not yet acknowledged."""
    row = page.locator("main table tbody tr").filter(has_text=child)
    return int(row.locator("td").nth(4).inner_text().split()[0])


def record_through_the_api(served: tuple[Service, str], event: dict[str, object]) -> None:
    token = issue_token(served[1], "LCS", OTHER)
    answer = httpx.post(
        f"{served[0].url}/events", json=event, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 201, answer.text


def test_the_iro_is_told_of_a_move_acknowledges_it_and_challenges_it(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    assert page.url.endswith("/my-children")
    waiting_before = unacknowledged(page, DEAN)
    today = date.today().isoformat()
    record_through_the_api(
        served,
        {"type": "CarePlanSectionChanged", "council": OTHER, "child": "NR-0104",
         "occurred_on": today, "source": "LCS/MGT/26-0412", "change_id": "CHG-INBOX-1",
         "section": "placement", "content": "Residential home at Ashdown from today",
         "significant": True, "decided_by": {"name": "Philippa Crane", "role": "TM"},
         "authority": {"kind": "none"}},
    )  # fmt: skip
    page.reload()
    assert unacknowledged(page, DEAN) == waiting_before + 1
    accessible(page, "my-children")

    page.get_by_role("link", name="Inbox", exact=True).click()
    assert page.title() == "Inbox: careledger"
    newest = page.locator("main table tbody tr").first
    assert DEAN in newest.locator("th").inner_text()
    assert "Residential home at Ashdown from today" in newest.inner_text()
    assert "significant change" in newest.inner_text()
    assert "change recorded without authority" in newest.inner_text()
    accessible(page, "inbox")

    newest.get_by_role("link", name=DEAN).click()
    assert page.get_by_role("heading", level=1).inner_text() == DEAN
    assert (
        "Residential home at Ashdown from today" in page.locator("#plan ~ table").first.inner_text()
    )
    accessible(page, "child")

    page.get_by_role("link", name="Inbox", exact=True).click()
    entries_before = page.locator("main table tbody tr").count()
    page.locator("main table tbody tr").first.get_by_role(
        "button", name=re.compile("^Acknowledge")
    ).click()
    assert page.url.endswith("/inbox?acknowledged=1")
    assert "Acknowledged" in page.locator(".govuk-notification-banner").inner_text()
    assert page.locator("main table tbody tr").count() == entries_before - 1
    assert "Residential home at Ashdown" not in page.locator("main").inner_text()
    accessible(page, "inbox-acknowledged")
    informed = history_of(served[1], DEAN)[-1]
    assert (informed["type"], informed["recorded_by"]) == ("IROInformed", f"{IRO} (IRO)")

    page.get_by_role("link", name="My children").click()
    page.get_by_role("link", name=DEAN).click()
    history = page.locator("#history ~ table").first.inner_text()
    assert "acknowledged being informed of event" in history
    page.get_by_role("link", name="Raise a challenge").click()
    page.get_by_label("What the challenge is about").select_option("decision")
    page.get_by_label("The plan section it concerns").select_option("placement")
    page.get_by_label("Your concern").fill("Moved to a residential home without a review")
    accessible(page, "raise-a-challenge")
    page.get_by_role("button", name="Raise the challenge").click()
    assert "Moved to a residential home without a review" in (
        page.locator("#challenges ~ table").first.inner_text()
    )
    accessible(page, "child-challenged")
    raised = history_of(served[1], DEAN)[-1]
    assert (raised["type"], raised["recorded_by"]) == ("ChallengeRaised", f"{IRO} (IRO)")


def test_an_inbox_opened_before_a_later_change_is_refused_and_nothing_recorded(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    page.goto("/inbox")
    record_through_the_api(
        served,
        {"type": "SocialWorkerAllocated", "council": OTHER, "child": "NR-0104",
         "occurred_on": date.today().isoformat(), "source": "LCS/NOTE/26-9001",
         "worker_id": "SW-2301", "worker_name": "Priya Nandra"},
    )  # fmt: skip
    before = len(history_of(served[1], DEAN))
    row = page.locator("main table tbody tr").filter(has_text=DEAN).first
    row.get_by_role("button", name=re.compile("^Acknowledge")).click()
    summary = page.locator(".govuk-error-summary")
    assert "has changed since you opened your inbox" in summary.inner_text()
    assert summary.get_by_role("link").get_attribute("href") == "#entries"
    accessible(page, "inbox-stale")
    assert len(history_of(served[1], DEAN)) == before


def test_someone_who_is_no_iro_has_no_inbox(page: Page) -> None:
    sign_in(page, "tm.crane")
    response = page.goto("/inbox")
    assert response is not None and response.status == 403
    accessible(page, "not-an-iro")
