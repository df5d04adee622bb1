"""The drift report as an HTML file, opened offline in a real browser (Debian's Chromium).

Two invented children of one council, recorded on the days things happened, so the report's
12-month trend reads what was known at each month end:
- Kayla (KT-0207) came into care in January 2024; her first review made two recommendations,
  one of them typed with a stray `<script>` from a pasted email. Her second review, due in
  May, was never held, and no permanence plan was recorded: by January 2025 her review and
  both recommendations are overdue.
- Reuben (RB-0519) came into care in March 2024 and was reviewed on time; his second
  review was keyed ten working days late, and his recommendation was carried out.

A missing /usr/bin/chromium fails the run in CI and is skipped, saying so, elsewhere (as
tests/conftest.py treats a missing PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

from careledger.api import opened
from careledger.cli.drift_html import render_html
from careledger.ledger.domain import payloads as p
from careledger.ledger.domain.commands import parse_command
from careledger.ledger.domain.vocabulary import Role
from careledger.projections.drift import MEASURES, By, Report, drift_report
from careledger.projections.drift_settings import DriftSettings

COUNCIL = "E10000042"
AS_OF = date(2025, 1, 31)
SCRIPT = "<script>alert(1)</script>"
LOADER = p.Actor(actor_id="loader", role=Role.ADMIN)

SW = {"name": "Nadia Hussain", "role": "SW"}
TM = {"name": "Owen Pryce", "role": "TM"}
IRO = {"name": "Margaret Ellery", "role": "IRO"}

KAYLA, REUBEN = "KT-0207", "RB-0519"


# --- the case histories --------------------------------------------------------------------


def ev(child: str, kind: str, on: str, **fields: Any) -> dict[str, Any]:
    source = f"LCS/NOTE/{child}/{on}/{kind}"
    return {
        "type": kind,
        "council": COUNCIL,
        "child": child,
        "occurred_on": on,
        "source": source,
        **fields,
    }


def review(child: str, on: str, review_id: str, *decisions: dict[str, Any]) -> dict[str, Any]:
    return ev(
        child,
        "ReviewHeld",
        on,
        review_id=review_id,
        chair=IRO,
        participation="PN1",
        child_seen_before=True,
        decisions=list(decisions),
    )


def recommend(rec_id: str, text: str, owner: dict[str, str], due_on: str) -> dict[str, Any]:
    return {
        "kind": "recommend",
        "recommendation_id": rec_id,
        "text": text,
        "owner": owner,
        "due_on": due_on,
    }


def came_into_care(child: str, on: str, **sections: str) -> list[dict[str, Any]]:
    return [
        ev(child, "ChildBecameLookedAfter", on, legal_status="C2", placement="U4"),
        ev(child, "IROAllocated", on, iro_id="IRO-11", iro_name=IRO["name"]),
        ev(
            child,
            "SocialWorkerAllocated",
            on,
            worker_id="SW-2210",
            worker_name=SW["name"],
            team="Children in Care South",
        ),
        ev(child, "CarePlanAgreed", on, sections=sections, decided_by=TM),
    ]


def kayla() -> list[dict[str, Any]]:
    return [
        *came_into_care(KAYLA, "2024-01-08", placement="Foster placement with Mr and Mrs Dale"),
        review(
            KAYLA,
            "2024-02-02",
            "REV-01",
            recommend(
                "REC-01", f"Arrange sibling contact with her brother {SCRIPT}", SW, "2024-03-15"
            ),
            recommend(
                "REC-02",
                "Share the health plan with the school (see https://nhs.example/plan)",
                TM,
                "2024-04-30",
            ),
        ),
    ]


def reuben() -> list[dict[str, Any]]:
    c, pep = REUBEN, recommend("REC-01", "PEP meeting with the virtual school", SW, "2024-05-10")
    return [
        *came_into_care(c, "2024-03-04", permanence="Long-term fostering with Ms Brennan"),
        review(c, "2024-03-28", "REV-01", pep),
        ev(
            c,
            "RecommendationCompleted",
            "2024-05-02",
            recommendation_id="REC-01",
            completed_by=SW,
            evidence="PEP held on 2 May with the virtual school head",
        ),
        review(c, "2024-06-20", "REV-02"),
        review(c, "2024-12-12", "REV-03"),
    ]


KEYED_LATE = {(REUBEN, "REV-02"): "2024-07-04"}  # ten working days after the review


def recorded_on(event: dict[str, Any]) -> str:
    """Each event is recorded the day it happened, save those keyed late."""
    return KEYED_LATE.get((event["child"], event.get("review_id")), event["occurred_on"])


def record_history(db: str) -> None:
    with opened(db, create_tables=True) as o:
        for line in sorted(kayla() + reuben(), key=recorded_on):
            when = datetime.fromisoformat(recorded_on(line)).replace(hour=12, tzinfo=UTC)
            o.ledger.clock = lambda when=when: when
            o.ledger.record([parse_command(line)], LOADER)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    db = str(tmp_path_factory.mktemp("drift-html") / "careledger.ledger.db")
    record_history(db)
    settings = DriftSettings()
    with opened(db) as o:
        o.catch_up()
        return {
            "all": drift_report(o.views, AS_OF, None, settings, trend_months=12),
            "iro": drift_report(o.views, AS_OF, By.IRO, settings, trend_months=12),
        }


@pytest.fixture(scope="module")
def report_file(reports: dict[str, Report], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("drift-html-page") / "drift.html"
    path.write_text(render_html(reports["all"]), encoding="utf-8")
    return path


# --- the browser ---------------------------------------------------------------------------


class LoadedPage:
    """A page with the report loaded, and everything the page did while loading."""

    def __init__(self, page: Page, url: str) -> None:
        self.page, self.url = page, url
        self.requests: list[str] = []
        self.refused: list[str] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.dialogs: list[str] = []
        page.route("**/*", self.only_the_file)
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("dialog", self.dismiss)

    def only_the_file(self, route: Route) -> None:
        if route.request.url == self.url:
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()

    def dismiss(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()


@pytest.fixture
def loaded(browser: Browser, report_file: Path) -> Iterator[LoadedPage]:
    context = browser.new_context(offline=True, java_script_enabled=True)
    page = context.new_page()
    opened_page = LoadedPage(page, report_file.as_uri())
    page.goto(opened_page.url, wait_until="load")
    page.wait_for_timeout(200)  # let anything deferred (it should not exist) happen
    yield opened_page
    context.close()


def test_report_opens_offline_without_errors_or_requests(loaded: LoadedPage) -> None:
    assert loaded.console_errors == []
    assert loaded.page_errors == []
    assert loaded.refused == []
    assert set(loaded.requests) <= {loaded.url}
    assert loaded.page.title().startswith("Drift report as of 31 January 2025")


def test_every_summary_link_leads_to_its_measures_section(loaded: LoadedPage) -> None:
    links = loaded.page.locator("table.summary a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(targets) == len(MEASURES)
    assert {t for t in targets if t} == {f"#{m.key}" for m in MEASURES}
    for target in targets:
        assert target
        assert loaded.page.locator(f"section[id='{target[1:]}']").count() == 1

    links.first.click()
    assert loaded.page.url.endswith(targets[0] or "")
    assert loaded.page.locator(f"section[id='{(targets[0] or '#')[1:]}'] h2").is_visible()


def test_each_measure_has_one_drawn_chart_with_its_numbers(loaded: LoadedPage) -> None:
    assert loaded.page.locator("svg").count() == len(MEASURES)
    for measure in MEASURES:
        chart = loaded.page.locator(f"section[id='{measure.key}'] svg")
        assert chart.count() == 1
        box = chart.bounding_box()
        assert box is not None and box["width"] > 0 and box["height"] > 0
        assert measure.title in (chart.locator("title").first.text_content() or "")
        assert chart.locator("rect").count() == 13  # 12 month ends and the day itself
        numbers = loaded.page.locator(f"section[id='{measure.key}'] table.numbers td")
        assert numbers.count() == 13 * 3


def test_a_script_in_a_recommendation_is_shown_as_text_and_never_runs(loaded: LoadedPage) -> None:
    section = loaded.page.locator("section[id='recommendation_overdue']")
    assert SCRIPT in section.inner_text()
    assert loaded.page.locator("script").count() == 0
    assert loaded.dialogs == []


def test_the_children_behind_the_counts_are_listed(loaded: LoadedPage) -> None:
    page = loaded.page
    overdue = page.locator("section[id='review_overdue'] table.findings tbody tr")
    assert overdue.count() == 1
    assert f"{COUNCIL}:{KAYLA}" in overdue.first.inner_text()
    owners = page.locator("section[id='recommendation_overdue'] table.owners tbody tr")
    assert [owners.nth(i).inner_text().split("\t")[0] for i in range(owners.count())] == [
        "Nadia Hussain (SW)",
        "Owen Pryce (TM)",
    ]
    assert page.locator("section[id='continuity'] p.none").inner_text() == "none"


# --- the HTML itself -----------------------------------------------------------------------


class References(HTMLParser):
    """Every attribute value, and the text of every <style>: where a page can fetch from."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for _, value in attrs if value]
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.found.append(data)


def test_the_html_references_nothing_on_the_web(reports: dict[str, Report]) -> None:
    html = render_html(reports["all"])
    parser = References()
    parser.feed(html)
    assert parser.found
    for value in parser.found:
        assert "http://" not in value and "https://" not in value, value
        assert "url(" not in value and "@import" not in value, value
    assert "https://nhs.example/plan" in html  # a recommendation's text: shown, as text
    assert "<script" not in html.replace("&lt;script", "")


def test_grouped_report_names_each_group(reports: dict[str, Report]) -> None:
    html = render_html(reports["iro"])
    assert "Grouped by IRO" in html
    assert '<th scope="col">IRO</th>' in html
    assert IRO["name"] in html


# --- the layout, as a new user sees it at 1300 px ------------------------------------------

WIDE = {"width": 1300, "height": 900}


@pytest.fixture
def at_1300(browser: Browser, report_file: Path) -> Iterator[Page]:
    context = browser.new_context(offline=True, viewport=WIDE)
    page = context.new_page()
    page.goto(report_file.as_uri(), wait_until="load")
    yield page
    context.close()


def test_the_settings_table_fits_within_1300_px(at_1300: Page) -> None:
    """The protocol's stages (`challenge_stages`) are one long value: it wraps in its cell,
    and no cell of the table reaches past the window's right edge."""
    cells = at_1300.locator("table.settings th, table.settings td")
    assert cells.count() >= 4 * 8
    stages = at_1300.locator("table.settings tr", has_text="challenge_stages").locator("td").nth(2)
    assert stages.inner_text().count(";") >= 2, "the stages' value is the long one"
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDE["width"], cells.nth(i).inner_text()
    assert at_1300.evaluate("document.documentElement.scrollWidth") <= WIDE["width"]


def test_the_report_leads_with_its_summary_and_settings_and_sources_follow(at_1300: Page) -> None:
    order = at_1300.evaluate(
        """() => ['#summary', 'table.settings', 'table.rules', '#review_overdue']
             .map(s => document.querySelector(s))
             .map((node, i, all) => i === 0 ? true
               : Boolean(all[i - 1].compareDocumentPosition(node)
                         & Node.DOCUMENT_POSITION_FOLLOWING))"""
    )
    assert order == [True, True, True, True]
    first = at_1300.locator("h2").first.inner_text()
    assert first.startswith("Summary")
    summary_top = at_1300.locator("#summary").bounding_box()
    assert summary_top is not None and summary_top["y"] < WIDE["height"], "seen without scrolling"


def test_the_report_for_an_inspector_counts_without_naming_a_child(
    reports: dict[str, Report],
) -> None:
    """What the service gives an inspector, who opens a named child only with a reason: the
    counts, and a note where the children behind them would be."""
    from careledger.service.reports import counts_only

    html = render_html(counts_only(reports["all"]), children_named=False)
    assert KAYLA not in html and REUBEN not in html
    assert html.count("The children behind the count are not named") == len(MEASURES) - 1
    assert SCRIPT not in html.replace("&lt;", "<"), "a recommendation's text is a child's"
    named = render_html(reports["all"])
    assert KAYLA in named and "are not named" not in named
