"""Before Voilà's scripts arrive (a slow connection), a course page already shows its questions and
takes answers; the live widgets then adopt them. Voilà and Chromium, the scripts held back on purpose."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.axe import page_violations
from tests.conftest import NOTEBOOKS, VoilaServer

pytestmark = pytest.mark.browser
SCRIPTS = "**/voila/static/voila.js*"


@pytest.fixture(scope="module")
def preheated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    server = VoilaServer(NOTEBOOKS, tmp_path_factory.mktemp("ssr") / "responses.sqlite",
                         learner="slow-learner", preheat=True)
    yield server
    server.stop()


def test_a_question_answered_before_the_scripts_load_is_kept(preheated, browser) -> None:
    """With Voilà's scripts held back, is the text shown and a question answerable by keyboard; and
    once they arrive, does the live widget keep that answer and the keyboard focus?"""
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    held = []
    page.route(SCRIPTS, lambda route: held.append(route))
    try:
        page.goto(preheated.url("intro.ipynb"), wait_until="commit")
        snapshot = page.locator(".se4u-ssr").first
        snapshot.locator("input").first.wait_for(timeout=60_000)
        assert held, "the page asked for Voilà's scripts"
        assert page.locator(".se4u-mc").count() == 0  # nothing live yet
        assert "Check" in snapshot.locator("button[disabled]").inner_text()
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 1
        assert page_violations(page, ".se4u-ssr") == []
        choice = snapshot.locator("input").nth(1)
        value = choice.get_attribute("value")
        choice.focus()
        page.keyboard.press("Space")
        assert choice.is_checked()
        for route in held:
            route.continue_()
        page.unroute(SCRIPTS)
        page.wait_for_selector(".se4u-mc input", timeout=60_000)
        page.wait_for_function("() => document.querySelectorAll('.se4u-ssr').length === 0", timeout=30_000)
        live = page.locator(".se4u-mc").first
        assert live.locator(f"input[value='{value}']").is_checked()
        assert page.evaluate("document.activeElement.value") == value
        # the adopted choice is the widget's own: Check now marks it
        page.keyboard.press("Enter")
        live.locator(".se4u-feedback", has_text="Score:").wait_for(timeout=30_000)
    finally:
        context.close()
