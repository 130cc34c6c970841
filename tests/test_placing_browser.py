"""Placing activities in Voilà and Chromium: keyboard alone, mouse drag, touch taps, reload."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import ARTIFACTS, NOTEBOOKS, VoilaServer, wait_for_widgets

pytestmark = pytest.mark.browser

SORT = ".se4u-placing[data-layout='categories']"
ORDER = ".se4u-placing[data-layout='order']"
PAIRS = ".se4u-placing[data-layout='pairs']"
WORDS = ".se4u-placing[data-layout='words']"
JIGSAW = ".se4u-placing[data-layout='jigsaw']:not([data-mode='image'])"
PICTURE = ".se4u-placing[data-layout='jigsaw'][data-mode='image']"

SORT_KEY = {
    "United Nations Convention against Transnational Organized Crime": "convention",
    "Trafficking in Persons Protocol": "protocol",
    "Smuggling of Migrants Protocol": "protocol",
    "Firearms Protocol": "protocol",
}


@pytest.fixture
def fresh_server(tmp_path) -> Iterator[VoilaServer]:
    """Voilà with a store of its own, for a test that must start from nothing saved."""
    server = VoilaServer(NOTEBOOKS, tmp_path / "responses.sqlite")
    yield server
    server.stop()


def open_gallery(page, server) -> None:
    page.goto(server.url("gallery.ipynb"))
    wait_for_widgets(page, f"{PICTURE} .se4u-piece")
    assert "Traceback" not in page.inner_text("body")


def active(page, widget: str, selector: str) -> bool:
    """Whether the focused element matches selector inside the first widget matching widget."""
    return page.evaluate(
        "([w, s]) => { const root = document.querySelector(w); const a = document.activeElement;"
        " return !!root && root.contains(a) && a.matches(s); }", [widget, selector])


def press_until(page, key: str, widget: str, selector: str, limit: int = 120) -> None:
    for _ in range(limit):
        if active(page, widget, selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {selector} in {widget}")


def focused_text(page) -> str:
    return page.evaluate(
        "() => document.activeElement.querySelector('.se4u-piece-text').textContent")


def place_by_keyboard(page, widget: str, answers: dict[str, str]) -> None:
    """Pick each piece with Space, walk to its place with the arrow keys, drop it with Enter."""
    remaining = dict(answers)
    while remaining:
        for _ in range(60):  # back to an unplaced piece that has a place (skipping distractors)
            if active(page, widget, ".se4u-bank-items .se4u-piece") and \
                    focused_text(page) in remaining:
                break
            page.keyboard.press("Shift+Tab")
        text = focused_text(page)
        remaining.pop(text)
        page.keyboard.press("Space")
        assert page.evaluate("() => document.activeElement.getAttribute('aria-pressed')") == "true"
        assert "Picked up" in page.locator(widget).locator(".se4u-announce").inner_text()
        press_until(page, "ArrowDown", widget, f"[data-target='{answers[text]}']", limit=20)
        page.keyboard.press("Enter")
        page.locator(widget).locator(f"[data-drop='{answers[text]}'] .se4u-piece").filter(
            has_text=text).wait_for()
        assert "placed in" in page.locator(widget).locator(".se4u-announce").inner_text()


def check_by_keyboard(page, widget: str) -> None:
    press_until(page, "Tab", widget, ".se4u-check")
    page.keyboard.press("Enter")


def test_sort_by_keyboard_alone_survives_reload(voila_server, page):
    """Tab, Space, arrows and Enter alone: is the sort solved, announced and restored on reload?"""
    open_gallery(page, voila_server)
    press_until(page, "Tab", SORT, ".se4u-bank-items .se4u-piece", limit=200)
    # Escape puts a picked item down again.
    page.keyboard.press("Space")
    page.keyboard.press("Escape")
    assert page.evaluate("() => document.activeElement.getAttribute('aria-pressed')") == "false"
    assert "Cancelled" in page.locator(SORT).locator(".se4u-announce").inner_text()
    place_by_keyboard(page, SORT, SORT_KEY)
    label = page.locator(SORT).locator("[data-target='protocol']").get_attribute("aria-label")
    assert "holds 3 items" in label
    check_by_keyboard(page, SORT)
    feedback = page.locator(SORT).locator(".se4u-feedback")
    feedback.filter(has_text="Correct").wait_for()
    assert "Correct" in page.locator(SORT).locator("[role='status']").inner_text()
    assert page.locator(SORT).locator("[data-mark='right']").count() == 4
    assert "✓ right" in page.locator(SORT).locator(".se4u-piece").first.inner_text()

    page.reload()
    wait_for_widgets(page, f"{SORT} .se4u-piece")
    page.locator(SORT).locator(".se4u-feedback").filter(has_text="Correct").wait_for()
    assert page.locator(SORT).locator("[data-drop='protocol'] .se4u-piece").count() == 3
    assert page.locator(SORT).locator(".se4u-bank-items .se4u-piece").count() == 0


def test_sort_by_mouse_drag_survives_reload(fresh_server, page):
    """Dragged with the mouse (pointer events), does an item land in the category and stay there?"""
    open_gallery(page, fresh_server)
    widget = page.locator(SORT)
    piece = widget.locator(".se4u-bank-items .se4u-piece").filter(has_text="Firearms Protocol")
    widget.locator(".se4u-board").evaluate("node => node.scrollIntoView({block: 'center'})")
    start = piece.bounding_box()
    target = widget.locator("[data-drop='protocol']").bounding_box()
    assert start["y"] >= 0 and target["y"] + target["height"] <= 900, "both must be on screen"
    page.mouse.move(start["x"] + start["width"] / 2, start["y"] + start["height"] / 2)
    page.mouse.down()
    page.mouse.move(target["x"] + target["width"] / 2, target["y"] + target["height"] / 2,
                    steps=12)
    assert widget.locator(".se4u-ghost").count() == 1
    page.mouse.up()
    widget.locator("[data-drop='protocol'] .se4u-piece").filter(
        has_text="Firearms Protocol").wait_for()
    assert widget.locator(".se4u-ghost").count() == 0
    assert "placed in A Protocol" in widget.locator(".se4u-announce").inner_text()
    page.locator(SORT).locator(".se4u-save").filter(has_text="saved").wait_for()

    page.reload()
    wait_for_widgets(page, f"{SORT} .se4u-piece")
    page.locator(SORT).locator("[data-drop='protocol'] .se4u-piece").filter(
        has_text="Firearms Protocol").wait_for()
    assert page.locator(SORT).locator(".se4u-bank-items .se4u-piece").count() == 3


def test_sort_by_touch_taps_at_360px_survives_reload(fresh_server, browser):
    """On a 360 px touch screen, do tap-to-pick and tap-to-place work, and survive a reload?"""
    context = browser.new_context(viewport={"width": 360, "height": 780}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    try:
        open_gallery(page, fresh_server)
        widget = page.locator(SORT)
        piece = widget.locator(".se4u-bank-items .se4u-piece").filter(has_text="Smuggling")
        piece.tap()
        widget.locator(".se4u-piece[aria-pressed='true']").wait_for()
        widget.locator("[data-target='protocol']").tap()
        widget.locator("[data-drop='protocol'] .se4u-piece").filter(has_text="Smuggling").wait_for()
        assert widget.locator(".se4u-piece[aria-pressed='true']").count() == 0
        # A placed item can be picked up again and put back in the bank.
        widget.locator("[data-drop='protocol'] .se4u-piece").tap()
        widget.locator(".se4u-bank-button").tap()
        widget.locator(".se4u-bank-items .se4u-piece").filter(has_text="Smuggling").wait_for()
        assert "returned to the items to place" in widget.locator(".se4u-announce").inner_text()
        widget.locator(".se4u-bank-items .se4u-piece").filter(has_text="Smuggling").tap()
        widget.locator("[data-target='protocol']").tap()
        widget.locator("[data-drop='protocol'] .se4u-piece").filter(has_text="Smuggling").wait_for()
        ARTIFACTS.mkdir(exist_ok=True)
        widget.screenshot(path=str(ARTIFACTS / "placing-sort-360.png"))
        assert widget.bounding_box()["width"] <= 360
        heights = widget.locator(".se4u-piece, .se4u-target-button").evaluate_all(
            "nodes => nodes.map(n => n.getBoundingClientRect().height)")
        assert min(heights) >= 44, "touch targets must be at least 44 px high"
        overflow = page.evaluate(
            "() => [...document.querySelectorAll('.se4u-placing')]"
            ".filter(e => e.scrollWidth > e.clientWidth + 1).length")
        assert overflow == 0
        widget.locator(".se4u-save").filter(has_text="saved").wait_for()

        page.reload()
        wait_for_widgets(page, f"{SORT} .se4u-piece")
        page.locator(SORT).locator("[data-drop='protocol'] .se4u-piece").filter(
            has_text="Smuggling").wait_for()
    finally:
        context.close()


#: The four other layouts and a right answer for each: piece text -> target id.
LAYOUTS = [
    (ORDER, {"The Convention is adopted (2000)": "pos-1",
             "The Convention enters into force (2003)": "pos-2",
             "Resolution 9/1 establishes the Review Mechanism (2018)": "pos-3",
             "Resolution 10/1 launches the reviews (2020)": "pos-4"}),
    (PAIRS, {"A State that has agreed to be bound by the Convention": "state-party",
             "An organization or person outside government with an interest in the issue":
                 "stakeholder",
             "An examination of how one State implements the Convention": "review"}),
    (WORDS, {"three": "gap-1", "10/1": "gap-2"}),
    (JIGSAW, {"A structured group of three or more persons": "who",
              "acting in concert to commit serious crimes": "how",
              "to obtain a financial or other material benefit": "why"}),
]
LAYOUT_IDS = ["order", "pairs", "words", "jigsaw-text"]


@pytest.mark.parametrize(("widget", "answers"), LAYOUTS, ids=LAYOUT_IDS)
def test_other_layouts_by_keyboard(voila_server, page, widget, answers):
    """Is each of the other layouts solvable with the keyboard alone?"""
    open_gallery(page, voila_server)
    page.locator(widget).locator(".se4u-bank-items .se4u-piece").first.focus()
    place_by_keyboard(page, widget, answers)
    check_by_keyboard(page, widget)
    page.locator(widget).locator(".se4u-feedback").filter(has_text="Correct").wait_for()
    if widget == JIGSAW:
        assert "Takeaway" in page.locator(widget).locator(".se4u-takeaway").inner_text()


def test_picture_jigsaw_by_keyboard_then_solution(voila_server, page):
    """Can a tile be placed by keyboard, checked, and the solution and takeaway shown?"""
    open_gallery(page, voila_server)
    widget = page.locator(PICTURE)
    assert widget.locator(".se4u-tile").count() == 4
    widget.locator(".se4u-bank-items .se4u-piece").first.focus()
    page.keyboard.press("Enter")
    press_until(page, "ArrowDown", PICTURE, "[data-target='cell-1']", limit=10)
    page.keyboard.press("Enter")
    widget.locator("[data-drop='cell-1'] .se4u-piece").wait_for()
    check_by_keyboard(page, PICTURE)
    widget.locator(".se4u-feedback").filter(has_text="Score:").wait_for()
    press_until(page, "Tab", PICTURE, ".se4u-solution")
    page.keyboard.press("Enter")
    widget.locator(".se4u-takeaway").filter(has_text="Takeaway").wait_for()
    assert widget.locator(".se4u-grid .se4u-tile").count() == 4


# --- the four other layouts by mouse drag and by touch taps ------------------------------------------
@pytest.fixture(scope="module")
def mouse_server(tmp_path_factory) -> Iterator[VoilaServer]:
    """A learner who does everything with the mouse (a store of their own)."""
    server = VoilaServer(NOTEBOOKS, tmp_path_factory.mktemp("mouse") / "responses.sqlite",
                         learner="mouse-learner")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def touch_server(tmp_path_factory) -> Iterator[VoilaServer]:
    """A learner who does everything on a touch screen (a store of their own)."""
    server = VoilaServer(NOTEBOOKS, tmp_path_factory.mktemp("touch") / "responses.sqlite",
                         learner="touch-learner")
    yield server
    server.stop()


def bank_piece(page, widget: str, text: str):
    """The piece in the bank whose text is exactly text (words such as 'three' are short)."""
    return page.locator(widget).locator(".se4u-bank-items").get_by_text(text, exact=True)


def placed(page, widget: str, text: str, target: str):
    return page.locator(widget).locator(f"[data-drop='{target}']").get_by_text(text, exact=True)


def centre(box: dict) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag_with_mouse(page, widget: str, text: str, target: str) -> None:
    """Press on the piece, move in steps onto the target (a ghost follows), release there."""
    root = page.locator(widget)
    root.locator(".se4u-board").evaluate("node => node.scrollIntoView({block: 'center'})")
    start = bank_piece(page, widget, text).bounding_box()
    end = root.locator(f"[data-drop='{target}']").bounding_box()
    height = page.viewport_size["height"]
    assert start["y"] >= 0 and end["y"] + end["height"] <= height, "both must be on screen"
    page.mouse.move(*centre(start))
    page.mouse.down()
    page.mouse.move(*centre(end), steps=10)
    assert root.locator(".se4u-ghost").count() == 1
    assert root.locator(f"[data-drop='{target}'].se4u-over").count() == 1
    page.mouse.up()
    placed(page, widget, text, target).wait_for()
    assert root.locator(".se4u-ghost").count() == 0


@pytest.mark.parametrize(("widget", "answers"), LAYOUTS, ids=LAYOUT_IDS)
def test_other_layouts_by_mouse_drag(mouse_server, browser, widget, answers):
    """Is each of the other layouts solvable by dragging with the mouse (words: also after reload)?"""
    context = browser.new_context(viewport={"width": 1280, "height": 1100})
    page = context.new_page()
    try:
        open_gallery(page, mouse_server)
        root = page.locator(widget)
        for text, target in answers.items():
            drag_with_mouse(page, widget, text, target)
            assert "placed in" in root.locator(".se4u-announce").inner_text()
        assert root.locator(".se4u-bank-items .se4u-piece").count() == \
            root.locator(".se4u-piece").count() - len(answers)
        root.locator(".se4u-check").click()
        root.locator(".se4u-feedback").filter(has_text="Correct").wait_for()
        assert root.locator("[data-mark='right']").count() == len(answers)
        if widget == JIGSAW:
            assert "Takeaway" in root.locator(".se4u-takeaway").inner_text()
        if widget == WORDS:  # solved, saved, and so restored (and locked) on reload
            root.locator(".se4u-save").filter(has_text="saved").wait_for()
            page.reload()
            wait_for_widgets(page, f"{WORDS} .se4u-piece")
            page.locator(f"{WORDS}[data-verdict='correct']").wait_for()
            for text, target in answers.items():
                placed(page, widget, text, target).wait_for()
            assert page.locator(widget).locator(".se4u-check").is_disabled()
    finally:
        context.close()


@pytest.mark.parametrize(("widget", "answers"), LAYOUTS, ids=LAYOUT_IDS)
def test_other_layouts_by_touch_taps(touch_server, browser, widget, answers):
    """On a 360 px touch screen, is each layout solvable by tap to pick, tap to place?"""
    context = browser.new_context(viewport={"width": 360, "height": 780}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    page = context.new_page()
    try:
        open_gallery(page, touch_server)
        root = page.locator(widget)
        for text, target in answers.items():
            bank_piece(page, widget, text).tap()
            root.locator(".se4u-piece[aria-pressed='true']").wait_for()
            root.locator(f"[data-target='{target}']").tap()
            placed(page, widget, text, target).wait_for()
            assert root.locator(".se4u-piece[aria-pressed='true']").count() == 0
        root.locator(".se4u-check").tap()
        root.locator(".se4u-feedback").filter(has_text="Correct").wait_for()
        assert root.locator("[data-mark='right']").count() == len(answers)
        if widget == PAIRS:  # restored after a reload too
            root.locator(".se4u-save").filter(has_text="saved").wait_for()
            page.reload()
            wait_for_widgets(page, f"{PAIRS} .se4u-piece")
            page.locator(f"{PAIRS}[data-verdict='correct']").wait_for()
            for text, target in answers.items():
                placed(page, widget, text, target).wait_for()
    finally:
        context.close()
