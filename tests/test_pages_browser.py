"""The IRO's pages, used as an IRO uses them: in Debian's Chromium, against a real
`careledger serve` (uvicorn on a free port) over the demo's case histories, signed in with a
local account made as `careledger users add` makes it.

In the demo, IRO-04 is the IRO of NR-0101 (Tyler: moved without a review, a challenge upheld)
and NR-0104 at council E10000099; NR-0201 is another IRO's child at E09000099. Every page is
checked with axe-core (WCAG 2.2 AA) in the page, and photographed into test-artefacts/.

A missing /usr/bin/chromium fails the run in CI and is skipped, saying so, elsewhere (as
tests/conftest.py treats a missing PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from careledger.access import Principal
from careledger.api import opened
from tests.access_histories import OTHER
from tests.browser import accessible as checked_accessible
from tests.service_server import PASSWORD, Service, served_demo

IRO = "IRO-04"
TYLER, JAMAL = f"{OTHER}:NR-0101", f"{OTHER}:NR-0104"
NOT_THEIRS, NOBODY = "E09000099:NR-0201", "E09000099:NR-9999"
ADMIN = Principal("auditor", "ADMIN", frozenset())


@pytest.fixture(scope="module")
def served(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, str]]:
    people = [(IRO, "IRO", [OTHER])]
    with served_demo(demo_store, tmp_path_factory.mktemp("pages"), people) as served:
        yield served


@pytest.fixture
def page(browser: Browser, served: tuple[Service, str]) -> Iterator[Page]:
    context = browser.new_context(base_url=served[0].url)
    opened_page = context.new_page()
    problems: list[str] = []
    opened_page.on("console", lambda message: problems.append(message.text))
    opened_page.on("pageerror", lambda error: problems.append(str(error)))
    yield opened_page
    # The pages run no script, and the Content-Security-Policy refuses nothing they need.
    assert not [text for text in problems if "Content Security Policy" in text], problems
    context.close()


def sign_in(page: Page, name: str = IRO, password: str = PASSWORD) -> None:
    page.goto("/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def accessible(page: Page, shot: str) -> None:
    checked_accessible(page, "pages", shot)


def reads_logged(db: str, child: str) -> set[tuple[str, str, str]]:
    with opened(db) as ledger:
        entries = ledger.access.log(child=child, actor=IRO, who=ADMIN)
    return {(entry["actor"], entry["view"], entry["outcome"]) for entry in entries}


def test_an_iro_signs_in_and_sees_their_children(page: Page, served: tuple[Service, str]) -> None:
    page.goto("/my-children")
    assert page.url.endswith("/sign-in"), "a page asked for before sign-in goes to sign in"
    accessible(page, "sign-in")
    sign_in(page)
    assert page.url.endswith("/my-children")
    assert page.title() == "My children: careledger"
    rows = page.locator("main table tbody tr")
    assert [rows.nth(i).locator("th").inner_text() for i in range(rows.count())] == [TYLER, JAMAL]
    assert NOT_THEIRS not in page.locator("main").inner_text()
    tyler = rows.nth(0).locator("td")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d.*", tyler.nth(0).inner_text().strip())
    assert int(tyler.nth(3).inner_text()) >= 1, "Tyler's moves without a review are flagged"
    accessible(page, "my-children")
    assert (IRO, "reviews", "allowed") in reads_logged(served[1], TYLER)


def test_the_iro_opens_a_child_and_sees_the_moves_made_without_review(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    page.get_by_role("link", name=TYLER).click()
    assert page.get_by_role("heading", level=1).inner_text() == TYLER
    flagged = page.locator("#unapproved ~ table").first.inner_text()
    assert "made without review approval" in flagged and "CPPCR 2010 reg 32(2)" in flagged
    assert "Informal" in page.locator("#challenges ~ table").first.inner_text()
    assert page.locator("#history ~ table tbody tr").count() > 20
    accessible(page, "child")
    for view in ("plan", "history", "unapproved", "reviews", "challenges"):
        assert (IRO, view, "allowed") in reads_logged(served[1], TYLER)


def test_the_plan_on_a_chosen_date(page: Page) -> None:
    sign_in(page)
    page.goto(f"/child/{TYLER}")
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year").fill("2023")
    page.get_by_role("button", name="Show the plan on this date").click()
    then = page.locator("#plan-on-date table")
    assert "The plan in force on 2023-06-01" in then.locator("caption").inner_text()
    assert then.locator("tbody tr").count() >= 1
    accessible(page, "child-plan-on-a-date")


def test_a_bad_date_is_named_in_the_error_summary_and_nothing_is_shown_for_it(page: Page) -> None:
    sign_in(page)
    page.goto(f"/child/{TYLER}?plan-date-day=31&plan-date-month=2&plan-date-year=2024")
    assert page.title().startswith("Error: ")
    summary = page.locator(".govuk-error-summary")
    assert summary.get_by_role("link").inner_text() == "The date of the plan must be a real date"
    assert summary.get_by_role("link").get_attribute("href") == "#plan-date-day"
    assert page.locator("#plan-date-error").is_visible()
    assert page.locator("#plan-on-date").count() == 0
    page.goto(f"/child/{TYLER}?plan-date-day=1&plan-date-month=&plan-date-year=2024")
    link = page.locator(".govuk-error-summary").get_by_role("link")
    assert link.inner_text() == "The date of the plan must include a month"
    assert link.get_attribute("href") == "#plan-date-month"
    accessible(page, "child-bad-date")


def test_a_child_not_allocated_is_refused_without_revealing_it_exists(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    answers = []
    for child in (NOT_THEIRS, NOBODY):
        response = page.goto(f"/child/{child}")
        assert response is not None
        answers.append((response.status, page.locator("main").inner_text()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404 and "Page not found" in answers[0][1]
    assert NOT_THEIRS not in answers[0][1]
    accessible(page, "child-not-theirs")
    assert (IRO, "plan", "refused") in reads_logged(served[1], NOT_THEIRS)


def test_a_wrong_password_is_named_in_the_error_summary(page: Page) -> None:
    sign_in(page, password="not the password")
    assert page.url.endswith("/sign-in")
    summary = page.locator(".govuk-error-summary")
    assert summary.get_by_role("link").get_attribute("href") == "#password"
    assert page.context.cookies() == [] or all(
        cookie["name"] != "careledger_session" for cookie in page.context.cookies()
    )
    accessible(page, "sign-in-wrong-password")


def test_signing_out_ends_the_session(page: Page) -> None:
    sign_in(page)
    page.get_by_role("button", name="Sign out").click()
    assert page.url.endswith("/sign-in")
    page.goto("/my-children")
    assert page.url.endswith("/sign-in")


def history_of(db: str, child: str) -> list[dict[str, object]]:
    with opened(db) as ledger:
        return ledger.history(child)


def test_the_iro_raises_a_challenge_from_the_childs_page(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    page.goto(f"/child/{JAMAL}")
    page.get_by_role("link", name="Raise a challenge").click()
    accessible(page, "raise-a-challenge")
    page.get_by_label("What the challenge is about").select_option("drift_and_delay")
    page.get_by_label("The plan section it concerns").select_option("permanence")
    page.get_by_label("Your concern").fill("No permanence plan two reviews after his return")
    page.get_by_role("button", name="Raise the challenge").click()
    assert re.search(r"/child/E10000099(:|%3A)NR-0104", page.url)
    challenges = page.locator("#challenges ~ table").first.inner_text()
    assert "No permanence plan two reviews after his return" in challenges
    assert "Informal" in challenges and "open" in challenges
    raised = history_of(served[1], JAMAL)[-1]
    assert (raised["type"], raised["recorded_by"]) == ("ChallengeRaised", f"{IRO} (IRO)")


def test_a_challenge_without_its_concern_or_with_a_bad_date_is_named_and_not_recorded(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    before = len(history_of(served[1], JAMAL))
    page.goto(f"/child/{JAMAL}/challenge")
    page.get_by_label("What the challenge is about").select_option("participation")
    page.get_by_label("Month").fill("13")
    page.get_by_role("button", name="Raise the challenge").click()
    links = page.locator(".govuk-error-summary").get_by_role("link")
    assert [(links.nth(i).inner_text(), links.nth(i).get_attribute("href"))
            for i in range(links.count())] == [
        ("Enter the concern", "#concern"),
        ("The date raised must be a real date", "#raised-day"),
    ]  # fmt: skip
    assert page.get_by_label("What the challenge is about").input_value() == "participation"
    accessible(page, "raise-a-challenge-errors")
    assert len(history_of(served[1], JAMAL)) == before


def test_a_challenge_form_opened_before_the_record_changed_is_refused(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    page.goto(f"/child/{JAMAL}/challenge")
    page.get_by_label("What the challenge is about").select_option("decision")
    page.get_by_label("Your concern").fill("The move was decided without me")
    with opened(served[1]) as ledger:  # meanwhile, the council records a new social worker
        ledger.record(
            [{"type": "SocialWorkerAllocated", "council": OTHER, "child": "NR-0104",
              "occurred_on": "2026-01-05", "source": "LCS/NOTE/9001", "worker_id": "SW-2301",
              "worker_name": "Priya Nandra", "team": "Children in Care North"}],
            actor="lcs-feed", role="ADMIN",
        )  # fmt: skip
    before = len(history_of(served[1], JAMAL))
    page.get_by_role("button", name="Raise the challenge").click()
    summary = page.locator(".govuk-error-summary").inner_text()
    assert "has changed since you opened this form" in summary
    assert len(history_of(served[1], JAMAL)) == before


def test_a_child_not_theirs_has_no_challenge_form(page: Page) -> None:
    sign_in(page)
    response = page.goto(f"/child/{NOT_THEIRS}/challenge")
    assert response is not None and response.status == 404
