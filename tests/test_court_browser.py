"""The court's shared chronology and the IRO's next steps in a challenge, used as people use
them: in Debian's Chromium, against a real `careledger serve` over the demo's case histories,
signed in with local accounts made as `careledger users add` makes them.

A team manager of E10000099 shares Tyler's (NR-0101) chronology with the Family Court at
Leeds; the Leeds clerk sees that share only (not Jamal's, shared with Bradford, nor Jamal's
expired Leeds share), downloads it as PDF, HTML and CSV, and checks each on the public verify
page; a copy with one character changed is not authentic. IRO-04 escalates Tyler's open
challenge and records a referral to Cafcass from Tyler's page. Every page is checked with
axe-core (WCAG 2.2 AA) and photographed into test-artefacts/court/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from careledger.access import Principal
from careledger.api import opened, today
from tests.access_histories import OTHER
from tests.browser import accessible as checked_accessible
from tests.service_server import PASSWORD, Service, add_person, demo_copy, serving

IRO, MANAGER, CLERK, OTHER_CLERK = "IRO-04", "tm.jones", "clerk.leeds", "clerk.bradford"
LEEDS, BRADFORD = "Family Court at Leeds", "Family Court at Bradford"
TYLER, JAMAL = f"{OTHER}:NR-0101", f"{OTHER}:NR-0104"
OPEN_CHALLENGE = "CH-20261102-TYL"
ADMIN = Principal("auditor", "ADMIN", frozenset())


def folder_shot(page: Page, shot: str) -> None:
    checked_accessible(page, "court", shot)


@pytest.fixture(scope="module")
def served(
    demo_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Service, str]]:
    directory = tmp_path_factory.mktemp("court")
    db = demo_copy(demo_store, directory)
    raised = today() - timedelta(days=20)
    with opened(db) as ledger:
        ledger.record(
            [{"type": "ChallengeRaised", "council": OTHER, "child": "NR-0101",
              "occurred_on": raised.isoformat(), "source": "LCS/NOTE/8801",
              "challenge_id": OPEN_CHALLENGE, "subject": "decision",
              "concern": "A third move in a year is proposed without a review",
              "raised_by": {"name": IRO, "role": "IRO"}}],
            actor="lcs-feed", role="ADMIN",
        )  # fmt: skip
    add_person(db, IRO, "IRO", [OTHER])
    add_person(db, MANAGER, "TM", [OTHER])
    add_person(db, CLERK, "COURT_CLERK", [], court=LEEDS)
    add_person(db, OTHER_CLERK, "COURT_CLERK", [], court=BRADFORD)
    with opened(db) as ledger:
        shares = ledger.access.shares
        shares.add(JAMAL, BRADFORD, today() - timedelta(days=900), today(),
                   today() + timedelta(days=30), "tm.other")  # fmt: skip
        expired = shares.add(JAMAL, LEEDS, today() - timedelta(days=900), today(), today(), "x")
        with ledger.access.store.transaction() as cursor:  # a share whose last day has passed
            cursor.execute(
                "UPDATE {s}access_shares SET expires_on = ? WHERE share_id = ?",
                [(today() - timedelta(days=1)).isoformat(), expired.share_id],
            )
    with serving(db, directory) as service:
        yield service, db


@pytest.fixture
def page(browser: Browser, served: tuple[Service, str]) -> Iterator[Page]:
    context = browser.new_context(base_url=served[0].url, accept_downloads=True)
    opened_page = context.new_page()
    opened_page.set_default_timeout(10_000)
    problems: list[str] = []
    opened_page.on("console", lambda message: problems.append(message.text))
    yield opened_page
    assert not [text for text in problems if "Content Security Policy" in text], problems
    context.close()


def sign_in(page: Page, name: str) -> None:
    page.goto("/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def fill_date(page: Page, name: str, day: int, month: int, year: int) -> None:
    for part, value in (("day", day), ("month", month), ("year", year)):
        page.locator(f"#{name}-{part}").fill(str(value))


def shares_of(db: str, child: str) -> list[dict[str, object]]:
    with opened(db) as ledger:
        return ledger.access.shares.listing(child)


def history_of(db: str, child: str) -> list[dict[str, object]]:
    with opened(db) as ledger:
        return ledger.history(child)


def error_links(page: Page) -> list[tuple[str, str | None]]:
    links = page.locator(".govuk-error-summary").get_by_role("link")
    return [(links.nth(i).inner_text(), links.nth(i).get_attribute("href"))
            for i in range(links.count())]  # fmt: skip


def test_a_bad_share_is_named_in_the_error_summary_and_nothing_is_shared(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page, MANAGER)
    page.get_by_role("link", name="Chronologies shared with courts").click()
    page.get_by_role("button", name="Share a chronology with a court").click()
    folder_shot(page, "share-form")
    page.get_by_label("Child").fill("NR-0101")
    fill_date(page, "from", 1, 7, 2024)
    fill_date(page, "to", 1, 1, 2023)
    fill_date(page, "expires", 31, 2, 2027)
    page.get_by_role("button", name="Share the chronology").click()
    assert page.title().startswith("Error: ")
    assert error_links(page) == [
        ("Select the court", "#court"),
        ("The last date of the chronology must be on or after the first", "#to-day"),
        ("The last day the court may read it must be a real date", "#expires-day"),
    ]
    assert page.locator("#to-error").is_visible() and page.locator("#expires-error").is_visible()
    assert page.get_by_label("Child").input_value() == "NR-0101", "what was typed is kept"
    folder_shot(page, "share-form-errors")
    assert shares_of(served[1], TYLER) == []


def test_an_officer_shares_a_chronology_and_the_clerk_downloads_and_verifies_it(
    page: Page, browser: Browser, served: tuple[Service, str], tmp_path: Path
) -> None:
    service, db = served
    sign_in(page, MANAGER)
    page.goto("/shares/new")
    page.get_by_label("Child").fill(TYLER)
    page.get_by_label("Court").select_option(LEEDS)
    fill_date(page, "from", 1, 1, 2023)
    fill_date(page, "to", 30, 6, 2024)
    until = today() + timedelta(days=60)
    fill_date(page, "expires", until.day, until.month, until.year)
    page.get_by_role("button", name="Share the chronology").click()
    banner = page.locator(".govuk-notification-banner").inner_text()
    assert f"{TYLER}'s chronology from 2023-01-01 to 2024-06-30 is shared with {LEEDS}" in banner
    folder_shot(page, "shares-list")
    [share] = shares_of(db, TYLER)
    assert (share["court"], share["shared_by"], share["expires_on"]) == (
        LEEDS, MANAGER, until.isoformat(),
    )  # fmt: skip

    clerk = browser.new_context(base_url=service.url, accept_downloads=True).new_page()
    clerk.set_default_timeout(10_000)
    sign_in(clerk, CLERK)
    clerk.get_by_role("link", name="Shared chronologies").click()
    rows = clerk.locator("main table tbody tr")
    assert rows.count() == 1, "not Jamal's Bradford share, nor his expired Leeds share"
    assert rows.nth(0).locator("th").inner_text() == TYLER
    assert "2023-01-01 to 2024-06-30" in rows.nth(0).inner_text()
    folder_shot(clerk, "court")
    for form in ("PDF", "HTML", "CSV"):
        clerk.goto("/court")
        with clerk.expect_download() as download:
            rows.nth(0).get_by_role("link", name=re.compile(f"^{form} ")).click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.suffix == f".{form.lower()}"
        assert verdict_of_upload(clerk, saved) == "Authentic"
    folder_shot(clerk, "verified-authentic")
    with opened(db) as ledger:
        reads = ledger.access.log(child=TYLER, actor=CLERK, who=ADMIN)
    assert [(e["view"], e["outcome"]) for e in reads] == [("chronology", "allowed")] * 6, (
        "each download and each check is a read of the chronology, logged"
    )

    tampered = tmp_path / "tampered.csv"
    text = saved.read_text(encoding="utf-8")
    at = text.index("Foster")  # one character of an event's text, nothing else
    tampered.write_text(text[:at] + "f" + text[at + 1 :], encoding="utf-8")
    assert verdict_of_upload(clerk, tampered) == "Not authentic"
    folder_shot(clerk, "verified-not-authentic")

    with opened(db) as ledger:  # the council corrects an entry the clerk's file holds
        moved = next(row for row in ledger.history(TYLER)
                     if row["type"] == "CarePlanSectionChanged"
                     and "2023-01-01" <= str(row["occurred_on"]) <= "2024-06-30")  # fmt: skip
        ledger.record(
            [{"type": "CorrectionRecorded", "council": OTHER, "child": "NR-0101",
              "occurred_on": today().isoformat(), "source": "LCS/NOTE/8802",
              "corrects_seq": moved["event"], "reason": "keyed against the wrong placement",
              "corrected": {"content": "Placement with the Okafor family, Leeds"}}],
            actor="lcs-feed", role="ADMIN",
        )  # fmt: skip
    assert verdict_of_upload(clerk, saved) == "Authentic, but corrected since"
    assert "Okafor" not in clerk.locator("main").inner_text()
    folder_shot(clerk, "verified-corrected-since")
    clerk.context.close()


def verdict_of_upload(page: Page, file: Path) -> str:
    page.goto("/check-a-chronology")
    page.get_by_label("Upload a chronology").set_input_files(str(file))
    page.get_by_role("button", name="Check the chronology").click()
    return page.get_by_role("heading", level=1).inner_text()


def test_the_verify_page_needs_no_sign_in_and_names_a_file_that_is_not_a_chronology(
    page: Page, tmp_path: Path
) -> None:
    page.goto("/check-a-chronology")
    assert page.url.endswith("/check-a-chronology"), "no sign-in asked for"
    folder_shot(page, "verify")
    letter = tmp_path / "letter.txt"
    letter.write_text("Dear Sir, please find attached the care plan.\n", encoding="utf-8")
    page.get_by_label("Upload a chronology").set_input_files(str(letter))
    page.get_by_role("button", name="Check the chronology").click()
    assert error_links(page) == [
        ("The file is not a chronology produced by careledger", "#chronology")
    ]
    assert "care plan" not in page.locator("main").inner_text(), "the file is not echoed"
    folder_shot(page, "verify-not-a-chronology")
    page.get_by_role("button", name="Check the chronology").click()
    assert error_links(page) == [("Select a chronology file", "#chronology")]


def test_another_courts_share_and_an_expired_share_reveal_nothing(
    page: Page, served: tuple[Service, str]
) -> None:
    with opened(served[1]) as ledger:
        jamal = {(row["court"], row["state"]): row["share_id"]
                 for row in ledger.access.shares.listing(JAMAL)}  # fmt: skip
    sign_in(page, CLERK)
    answers = []
    for share_id in (jamal[(BRADFORD, "active")], jamal[(LEEDS, "expired")], "0a1b2c3d4e5f"):
        response = page.goto(f"/court/shares/{share_id}/chronology.csv")
        assert response is not None
        answers.append((response.status, page.locator("main").inner_text()))
    assert answers[0] == answers[1] == answers[2]
    assert answers[0][0] == 404 and "NR-0104" not in answers[0][1]
    folder_shot(page, "court-share-not-found")
    with opened(served[1]) as ledger:
        reads = ledger.access.log(child=JAMAL, actor=CLERK, who=ADMIN)
    assert [(e["view"], e["outcome"]) for e in reads] == [("chronology", "refused")] * 2


def test_the_iro_escalates_a_challenge_and_records_a_cafcass_referral(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page, IRO)
    page.goto(f"/child/{TYLER}")
    page.get_by_role("link", name=f"Escalate challenge {OPEN_CHALLENGE}").click()
    folder_shot(page, "escalate-form")
    page.get_by_label("Stage 2: Service manager").check()
    page.get_by_label("Why the last stage did not resolve it").fill(
        "The team manager has not answered in ten working days"
    )
    page.get_by_role("button", name="Escalate the challenge").click()
    assert re.search(r"/child/E10000099(:|%3A)NR-0101", page.url)
    assert "Stage 2 since" in page.locator("#challenges ~ table").first.inner_text()
    escalated = history_of(served[1], TYLER)[-1]
    assert (escalated["type"], escalated["recorded_by"]) == ("ChallengeEscalated", f"{IRO} (IRO)")

    page.get_by_role("link", name=f"Refer to Cafcass (challenge {OPEN_CHALLENGE})").click()
    page.get_by_label("The grounds of the referral").fill(
        "The council has not answered at stage 2 and Tyler's placement is at risk"
    )
    page.get_by_role("button", name="Record the referral").click()
    challenges = page.locator("#challenges ~ table").first.inner_text()
    assert f"referred to Cafcass on {today().isoformat()}" in challenges
    folder_shot(page, "child-after-cafcass")
    referred = history_of(served[1], TYLER)[-1]
    assert (referred["type"], referred["recorded_by"]) == ("CafcassReferralMade", f"{IRO} (IRO)")

    page.goto(f"/child/{TYLER}/challenges/{OPEN_CHALLENGE}/cafcass")
    page.get_by_label("The grounds of the referral").fill("Referring again")
    page.get_by_role("button", name="Record the referral").click()
    [(text, href)] = error_links(page)
    assert href == "#grounds" and "outcome is not yet recorded" in text
    folder_shot(page, "cafcass-refused")
    assert history_of(served[1], TYLER)[-1] == referred, "a second referral is not recorded"


def test_a_bad_escalation_is_named_and_nothing_is_recorded(
    page: Page, served: tuple[Service, str]
) -> None:
    sign_in(page, IRO)
    page.goto(f"/child/{TYLER}/challenges/{OPEN_CHALLENGE}/escalate")
    before = len(history_of(served[1], TYLER))
    fill_date(page, "escalated", 30, 2, 2026)
    page.get_by_role("button", name="Escalate the challenge").click()
    assert error_links(page) == [
        ("Select the stage to escalate it to", "#to_stage"),
        ("Enter why the last stage did not resolve it", "#reason"),
        ("The date escalated must be a real date", "#escalated-day"),
    ]
    folder_shot(page, "escalate-errors")
    page.get_by_label("Stage 3").check()
    page.get_by_label("Why the last stage did not resolve it").fill("No answer at stage 2")
    earlier = today() - timedelta(days=25)  # before the challenge was raised
    fill_date(page, "escalated", earlier.day, earlier.month, earlier.year)
    page.get_by_role("button", name="Escalate the challenge").click()
    [(text, href)] = error_links(page)
    assert href == "#escalated-day" and "is before its last step" in text
    assert len(history_of(served[1], TYLER)) == before
