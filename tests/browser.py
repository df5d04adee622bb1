"""Debian's Chromium, driven by Playwright, for every test of what a person sees: one place
that finds the browser, starts it, and checks a page with axe-core.

A missing /usr/bin/chromium fails the run in CI and is skipped, saying so, elsewhere (as
tests/conftest.py treats a missing PostgreSQL). The fixtures are module-scoped: one browser
per test module, closed when the module ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ARTEFACTS = Path(__file__).parent.parent / "test-artefacts"


@pytest.fixture(scope="module")
def chromium() -> str:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: what people see cannot be checked", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); in CI this fails")


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def photographed(page: Page, folder: str, shot: str) -> None:
    """The whole page saved as test-artefacts/FOLDER/SHOT.png (git-ignored)."""
    (ARTEFACTS / folder).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / folder / f"{shot}.png"), full_page=True)


def accessible(page: Page, folder: str, shot: str) -> None:
    """axe-core's WCAG 2.2 AA rules find nothing on the page; the page is photographed."""
    photographed(page, folder, shot)
    page.evaluate(AXE.read_text(encoding="utf-8"))  # evaluated by the test, not by the page
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
        ".then(r => r.violations.map(v => ({id: v.id, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' '))})))",
        WCAG_22_AA,
    )
    assert found == [], found
