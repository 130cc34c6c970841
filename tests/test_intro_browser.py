"""The introduction in Voilà and Chromium: the orientation quiz by keyboard alone, restored on reload."""

from __future__ import annotations

import pytest

from tests.conftest import ARTIFACTS, wait_for_widgets

pytestmark = pytest.mark.browser
FIRST_QUIZ = ".se4u-mc >> nth=0"
OPTION_TEXT = "node => node.closest('label').querySelector('.se4u-option-text').textContent"


def focus_first_option_by_tab(page, limit: int = 80) -> None:
    """Press Tab until the first question's first option has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        inside = page.evaluate(
            "() => { const q = document.querySelector('.se4u-mc');"
            " return !!q && q.contains(document.activeElement) && document.activeElement.type === 'radio'; }")
        if inside:
            return
    raise AssertionError("Tab never reached the first question")


def test_orientation_quiz_by_keyboard_survives_reload(voila_server, page):
    """Answered with the keyboard only, is the feedback shown and still there after a reload?"""
    page.goto(voila_server.url("intro.ipynb"))
    wait_for_widgets(page, ".se4u-mc input")
    assert "from se4u.notebook import" not in page.content(), "source code must be stripped"
    assert "Traceback" not in page.inner_text("body")

    focus_first_option_by_tab(page)
    page.keyboard.press("ArrowDown")  # moves to and chooses the second option of the radio group
    chosen = page.evaluate(f"() => ({OPTION_TEXT})(document.activeElement)")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Check"
    page.keyboard.press("Enter")
    feedback = page.locator(FIRST_QUIZ).locator(".se4u-feedback")
    feedback.filter(has_text="Score:").wait_for()
    verdict = feedback.inner_text()
    assert page.locator(FIRST_QUIZ).locator(".se4u-feedback").get_attribute("aria-live") == "polite"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "intro-1280.png"), full_page=False)

    page.reload()
    wait_for_widgets(page, ".se4u-mc input")
    restored = page.locator(FIRST_QUIZ).locator(".se4u-feedback")
    restored.filter(has_text="Score:").wait_for()
    assert restored.inner_text() == verdict
    checked = page.locator(FIRST_QUIZ).locator("input:checked")
    assert checked.count() == 1
    assert checked.evaluate(OPTION_TEXT) == chosen


def test_intro_reads_well_at_360_pixels(voila_server, browser):
    """At 360 px wide, does the introduction fit without sideways scrolling, with large targets?"""
    context = browser.new_context(viewport={"width": 360, "height": 780}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(voila_server.url("intro.ipynb"))
        wait_for_widgets(page, ".se4u-mc input")
        page.locator(".se4u-mc").first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "intro-360.png"))
        quiz_width = page.locator(".se4u-mc").first.bounding_box()["width"]
        assert quiz_width <= 360
        heights = page.locator(".se4u-mc").first.locator(".se4u-option-label").evaluate_all(
            "labels => labels.map(l => l.getBoundingClientRect().height)")
        assert min(heights) >= 44, "touch targets must be at least 44 px high"
        overflow = page.evaluate(
            "() => [...document.querySelectorAll('.se4u-activity')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).length")
        assert overflow == 0
    finally:
        context.close()
