"""The inspector's pages, used as an inspector uses them: in Debian's Chromium, against a
real `careledger serve` over the demo's case histories, signed in with local accounts made
as `careledger users add` makes them.

The inspector (ofsted.kim) inspects E10000099 only: the demo's other council, E09000099, is
not theirs. They see the drift report's counts and rates for their council, never a child's
name or reference, until they open a named child's record stating why (break-glass); the
council's IRO manager (iro.manager.sue) then sees who opened which child, when and why.
Every page is checked with axe-core (WCAG 2.2 AA) and photographed into test-artefacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from careledger.access import Principal
from careledger.api import opened
from careledger.api import today as england_today
from careledger.projections.drift import MEASURES, Report
from tests.access_histories import HOME, OTHER, demo_events
from tests.browser import accessible as checked_accessible
from tests.service_server import PASSWORD, Service, served_demo

INSPECTOR, MANAGER, OTHER_MANAGER, IRO = (
    "ofsted.kim",
    "iro.manager.sue",
    "iro.manager.raj",
    "IRO-04",
)
TYLER, NOT_INSPECTED = f"{OTHER}:NR-0101", f"{HOME}:NR-0201"
REASON = "ILACS case sample: moved twice without a review"
ADMIN = Principal("auditor", "ADMIN", frozenset())
CHILDREN = sorted({f"{e['council']}:{e['child']}" for e in demo_events()})


@pytest.fixture(scope="module")
def served(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, str]]:
    people = [(INSPECTOR, "INSPECTOR", [OTHER]), (MANAGER, "IRO_MANAGER", [OTHER]),
              (OTHER_MANAGER, "IRO_MANAGER", [HOME]), (IRO, "IRO", [OTHER])]  # fmt: skip
    with served_demo(demo_store, tmp_path_factory.mktemp("inspector"), people) as served:
        yield served


@pytest.fixture
def page(browser: Browser, served: tuple[Service, str]) -> Iterator[Page]:
    context = browser.new_context(base_url=served[0].url, viewport={"width": 1300, "height": 900})
    opened_page = context.new_page()
    problems: list[str] = []
    opened_page.on("console", lambda message: problems.append(message.text))
    yield opened_page
    assert not [text for text in problems if "Content Security Policy" in text], problems
    context.close()


def sign_in(page: Page, name: str = INSPECTOR) -> None:
    page.goto("/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def accessible(page: Page, shot: str) -> None:
    checked_accessible(page, "inspector", shot)


def report(db: str, by: str | None = None) -> Report:
    with opened(db) as ledger:
        return ledger.drift(england_today(), by, councils=frozenset({OTHER}))


def reads_by(db: str, actor: str) -> list[dict[str, object]]:
    with opened(db) as ledger:
        return ledger.access.log(actor=actor, who=ADMIN)


def table_rows(page: Page, selector: str) -> list[list[str]]:
    rows = page.locator(f"{selector} tbody tr")
    return [
        [cell.strip() for cell in rows.nth(i).locator("th, td").all_inner_texts()]
        for i in range(rows.count())
    ]


def no_child_named(text: str) -> None:
    for child in CHILDREN:
        assert child not in text and child.partition(":")[2] not in text, child


def test_the_inspector_lands_on_counts_and_rates_of_their_council_and_no_child_is_named(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    assert page.url.endswith("/dashboard")
    assert page.get_by_role("heading", level=1).inner_text() == "Drift and delay"
    expected = {c.measure: (c.count, c.of) for c in report(served[1]).counts}
    shown = table_rows(page, "#summary-table")
    titles = {m.title: m.key for m in MEASURES}
    assert len(shown) == len(MEASURES)
    assert {titles[row[0]]: (int(row[1]), int(row[2])) for row in shown} == expected
    assert any(count for count, _ in expected.values()), "the demo's council has drift to show"
    text = page.locator("body").inner_text()
    no_child_named(text)
    assert OTHER in text and HOME not in text
    assert "every event recorded is counted" in text, "live: the projections are caught up"
    # It leads with its summary; how the counts are made (settings, sources) follows.
    headings = page.locator("main h2").all_inner_texts()
    assert headings[0].startswith("Summary") and headings[-1].startswith("How the counts")
    stages = page.locator("#settings tr", has_text="challenge_stages")
    box = stages.locator("td").nth(1).bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1300
    assert page.evaluate("document.documentElement.scrollWidth") <= 1300, "nothing off-screen"
    accessible(page, "dashboard")
    assert reads_by(served[1], INSPECTOR) == [], "counts are not a read of any child's record"


def test_the_inspector_groups_the_counts_and_sees_the_trend(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    page.get_by_label("IRO", exact=True).check()
    page.get_by_role("button", name="Show the counts").click()
    assert "group_by=iro" in page.url
    assert "IRO" in page.locator("#summary-table thead").inner_text()
    by_iro = report(served[1], "iro")
    shown = {(row[0], row[1], int(row[2])) for row in table_rows(page, "#summary-table")}
    titles = {m.key: m.title for m in MEASURES}
    assert shown == {(titles[c.measure], c.group, c.count) for c in by_iro.counts}
    no_child_named(page.locator("body").inner_text())
    accessible(page, "dashboard-by-iro")

    page.get_by_label("Council", exact=True).check()
    page.get_by_role("button", name="Show the counts").click()
    assert {row[1] for row in table_rows(page, "#summary-table")} == {OTHER}

    trend = page.locator("#trend-review_overdue")
    trend.locator("summary").click()
    months = table_rows(page, "#trend-review_overdue")
    assert len(months) == 13, "twelve month ends and today"
    assert months[-1][0].endswith("(today)")
    overdue = next(c for c in report(served[1]).counts if c.measure == "review_overdue")
    assert (int(months[-1][1]), int(months[-1][2])) == (overdue.count, overdue.of)
    assert [date.fromisoformat(d) for d in trend.locator("time").evaluate_all(
        "nodes => nodes.map(n => n.getAttribute('datetime'))")] == sorted(
        date.fromisoformat(d) for d in trend.locator("time").evaluate_all(
            "nodes => nodes.map(n => n.getAttribute('datetime'))"))  # fmt: skip
    accessible(page, "dashboard-trend")


def test_a_grouping_not_offered_is_named_in_the_error_summary(page: Page) -> None:
    sign_in(page)
    response = page.goto("/dashboard?group_by=school")
    assert response is not None and response.status == 400
    link = page.locator(".govuk-error-summary").get_by_role("link")
    assert (link.inner_text(), link.get_attribute("href")) == (
        "Select how to group the counts", "#group_by",
    )  # fmt: skip
    accessible(page, "dashboard-bad-grouping")


def test_a_child_opened_without_a_reason_is_named_in_the_error_summary_and_nothing_is_read(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page)
    page.get_by_role("link", name="Open a child's record, stating a reason").click()
    accessible(page, "break-glass-form")
    page.get_by_label("The child").fill(TYLER)
    page.get_by_role("button", name="Open the record").click()
    links = page.locator(".govuk-error-summary").get_by_role("link")
    assert [(links.nth(i).inner_text(), links.nth(i).get_attribute("href"))
            for i in range(links.count())] == [
        ("Enter why you need to open this child's record", "#reason"),
    ]  # fmt: skip
    assert page.get_by_label("The child").input_value() == TYLER, "kept as typed"
    assert page.locator("#plan").count() == 0 and page.locator("main table").count() == 0
    accessible(page, "break-glass-no-reason")

    page.get_by_label("The child").fill("NR-0101")
    page.get_by_label("Why you need to open it").fill(REASON)
    page.get_by_role("button", name="Open the record").click()
    link = page.locator(".govuk-error-summary").get_by_role("link")
    assert link.get_attribute("href") == "#child"
    assert "council's code and reference" in link.inner_text()
    assert page.locator("main table").count() == 0
    forged = page.request.post("/inspect/child", form={"child": TYLER, "reason": REASON})
    assert forged.status == 400 and "The form had expired" in forged.text()
    assert reads_by(served[1], INSPECTOR) == [], "nothing read, so nothing logged"


def test_with_a_reason_the_inspector_reads_the_child_and_the_iro_manager_sees_why(
    page: Page, browser: Browser, served: tuple[Service, str]
) -> None:
    sign_in(page)
    page.goto("/inspect/child")
    page.get_by_label("The child").fill(TYLER)
    page.get_by_label("Why you need to open it").fill(REASON)
    page.get_by_role("button", name="Open the record").click()
    assert page.get_by_role("heading", level=1).inner_text() == TYLER
    assert REASON in page.locator(".govuk-notification-banner").inner_text()
    assert "CPPCR 2010 reg 32(2)" in page.locator("#unapproved ~ table").first.inner_text()
    assert page.locator("#history ~ table tbody tr").count() > 20
    for action in ("Raise a challenge", "Escalate", "Refer to Cafcass"):
        assert page.get_by_role("link", name=action).count() == 0, action
    assert page.locator("main form").count() == 0, "read-only: no action, no other form"
    accessible(page, "break-glass-child")
    logged = [e for e in reads_by(served[1], INSPECTOR) if e["child"] == TYLER]
    assert {(e["view"], e["reason"], e["outcome"]) for e in logged} == {
        (view, REASON, "allowed")
        for view in ("plan", "history", "unapproved", "reviews", "challenges")
    }

    context = browser.new_context(base_url=served[0].url)
    manager = context.new_page()
    sign_in(manager, MANAGER)
    manager.get_by_role("link", name="Records opened with a reason").click()
    rows = table_rows(manager, "main")
    assert [row[1:4] for row in rows if row[2] == TYLER] == [
        [f"{INSPECTOR} (INSPECTOR)", TYLER, REASON]
    ]
    accessible(manager, "break-glass-reads")
    context.close()


def test_a_council_not_inspected_is_neither_counted_nor_opened(
    page: Page, browser: Browser, served: tuple[Service, str]
) -> None:
    sign_in(page)
    response = page.goto(f"/dashboard?council={HOME}")
    assert response is not None and response.status == 400
    assert HOME not in page.locator("#summary-table").inner_text()
    page.goto("/inspect/child")
    page.get_by_label("The child").fill(NOT_INSPECTED)
    page.get_by_label("Why you need to open it").fill(REASON)
    page.get_by_role("button", name="Open the record").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    assert NOT_INSPECTED not in page.locator("main").inner_text()
    refused = [e for e in reads_by(served[1], INSPECTOR) if e["child"] == NOT_INSPECTED]
    assert refused and {e["outcome"] for e in refused} == {"refused"}

    context = browser.new_context(base_url=served[0].url)
    other = context.new_page()
    sign_in(other, OTHER_MANAGER)
    other.goto("/break-glass-reads")
    assert TYLER not in other.locator("main").inner_text(), "another council's manager"
    context.close()


def test_the_dashboard_is_not_for_an_iro(page: Page) -> None:
    sign_in(page, IRO)
    response = page.goto("/dashboard")
    assert response is not None and response.status == 403
    response = page.goto("/inspect/child")
    assert response is not None and response.status == 403


def test_a_child_coming_into_care_is_counted_on_the_next_look_without_being_named(
    page: Page, served: tuple[Service, str]
) -> None:
    """Live: a child recorded as looked after four months ago, never reviewed, is a review
    overdue (reg 33: the first within 20 working days) the next time the dashboard opens."""
    sign_in(page)
    before = {row[0]: (int(row[1]), int(row[2])) for row in table_rows(page, "#summary-table")}
    newcomer = "NR-0199"
    with opened(served[1]) as ledger:
        ledger.record(
            [{"type": "ChildBecameLookedAfter", "council": OTHER, "child": newcomer,
              "occurred_on": str(england_today() - timedelta(days=120)),
              "source": "LCS/EPI/26-0412", "legal_status": "C2", "placement": "U4"}],
            actor="lcs-feed", role="ADMIN",
        )  # fmt: skip
        ledger.catch_up()
    page.reload()
    after = {row[0]: (int(row[1]), int(row[2])) for row in table_rows(page, "#summary-table")}
    overdue = next(m.title for m in MEASURES if m.key == "review_overdue")
    assert after[overdue] == (before[overdue][0] + 1, before[overdue][1] + 1)
    text = page.locator("body").inner_text()
    assert newcomer not in text
    no_child_named(text)
