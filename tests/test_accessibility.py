"""Accessibility scans with axe-core in Voilà and Chromium: fresh, after checking, and at 360 px.

axe-core comes from node_modules (``npm ci``; package.json pins it). Each page is scanned twice:
once limited to the course's activities (``.se4u-activity``), once whole. Violations of impact
"serious" or "critical" fail the test; no rule is switched off for the activities. The whole-page
scan runs with every rule too: Voilà's own page chrome currently raises only "moderate" findings
("region": the notebook's Markdown cells are not inside landmarks; "landmark-unique"), which the
impact filter leaves out. If a Voilà upgrade ever raises a serious one outside the activities, add
it to PAGE_CHROME_RULES with a comment naming the rule and why it is Voilà's and not ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import NOTEBOOKS, REPO, VoilaServer, wait_for_widgets

pytestmark = pytest.mark.browser

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}
#: Rules ignored in the whole-page scan only, each because of Voilà's chrome (none needed so far).
PAGE_CHROME_RULES: dict[str, str] = {}
#: How many activities each notebook renders (Voilà 0.5 renders the widgets in the page, one by one).
ACTIVITIES = {"gallery.ipynb": 8, "intro.ipynb": 8, "module3.ipynb": 17}

SORT = ".se4u-placing[data-layout='categories']"
ORDER = ".se4u-placing[data-layout='order']"
WORDS = ".se4u-placing[data-layout='words']"
PAIRS = ".se4u-placing[data-layout='pairs']"
JIGSAW = ".se4u-placing[data-layout='jigsaw']:not([data-mode='image'])"
PICTURE = ".se4u-placing[data-layout='jigsaw'][data-mode='image']"

# axe checks colour contrast only for what is on screen, and Voilà scrolls the notebook inside its
# own container: so the activities are scanned one at a time, each scrolled to the top of a
# viewport made tall enough to hold it whole (the width, and so the layout, stays the same).
RUN_AXE = """async ([scope, skip]) => {
  const rules = Object.fromEntries(skip.map((id) => [id, { enabled: false }]));
  const options = { rules, resultTypes: ['violations'] };
  const found = [];
  const contexts = scope === 'activities' ? [...document.querySelectorAll('.se4u-activity')] : [document];
  for (const context of contexts) {
    if (context !== document) context.scrollIntoView({ block: 'start' });
    const result = await axe.run(context, options);
    found.push(...result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.map((n) => n.target.join(' ')) })));
  }
  return found;
}"""


@pytest.fixture(scope="module")
def axe_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    """Voilà with its own store: checking answers here must not change what other tests see."""
    server = VoilaServer(NOTEBOOKS, tmp_path_factory.mktemp("axe") / "responses.sqlite",
                         learner="axe-learner")
    yield server
    server.stop()


@pytest.fixture
def narrow_page(browser):
    """A 360 px wide touch screen, as on a small phone."""
    context = browser.new_context(viewport={"width": 360, "height": 780}, has_touch=True,
                                  is_mobile=True, device_scale_factor=2)
    yield context.new_page()
    context.close()


def open_notebook(page, server: VoilaServer, notebook: str) -> None:
    page.goto(server.url(notebook))
    page.wait_for_function("n => document.querySelectorAll('.se4u-activity').length >= n",
                           arg=ACTIVITIES[notebook], timeout=60_000)
    assert "Traceback" not in page.inner_text("body")


def scan(page, scope: str) -> list[dict]:
    """axe violations of impact serious or critical, for the activities or the whole page."""
    assert AXE.exists(), f"{AXE} is missing: run `npm ci`"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    skip = list(PAGE_CHROME_RULES) if scope == "page" else []
    size = page.viewport_size
    tallest = page.evaluate("() => Math.max(...[...document.querySelectorAll('.se4u-activity')]"
                            ".map((node) => node.getBoundingClientRect().height))")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(tallest) + 80)})
    try:
        violations = page.evaluate(RUN_AXE, [scope, skip])
    finally:
        page.set_viewport_size(size)
    return [v for v in violations if v["impact"] in BLOCKING]


def report(violations: list[dict]) -> str:
    return "\n".join(f"[{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["targets"])
                     for v in violations)


def assert_accessible(page) -> None:
    activities = scan(page, "activities")
    assert not activities, "axe, inside the activities:\n" + report(activities)
    whole = scan(page, "page")
    assert not whole, "axe, whole page:\n" + report(whole)


def place(page, widget: str, text: str, target: str) -> None:
    """Select a piece, then its place (clicks; the same path as a tap)."""
    root = page.locator(widget)
    root.locator(".se4u-bank-items .se4u-piece").filter(has_text=text).first.click()
    root.locator(f"[data-target='{target}']").click()
    root.locator(f"[data-drop='{target}'] .se4u-piece").filter(has_text=text).first.wait_for()


def check_everything(page) -> None:
    """Answer and check every gallery activity, giving right, partly right and wrong verdicts."""
    mc = page.locator(".se4u-mc").first
    mc.locator(".se4u-option-label").filter(has_text="The Security Council").click()
    mc.locator(".se4u-button").filter(has_text="Check").click()
    mc.locator(".se4u-feedback").filter(has_text="Score:").wait_for()

    place(page, SORT, "Firearms Protocol", "protocol")  # one of four: partly right
    place(page, ORDER, "The Convention is adopted (2000)", "pos-2")  # wrong
    place(page, PAIRS, "A State that has agreed to be bound by the Convention", "state-party")
    place(page, WORDS, "three", "gap-1")
    place(page, WORDS, "10/1", "gap-2")  # all gaps: right
    place(page, JIGSAW, "acting in concert to commit serious crimes", "how")
    page.locator(PICTURE).locator(".se4u-bank-items .se4u-piece").first.click()
    page.locator(PICTURE).locator("[data-target='cell-1']").click()
    page.locator(PICTURE).locator("[data-drop='cell-1'] .se4u-piece").wait_for()
    for widget in (SORT, ORDER, PAIRS, WORDS, JIGSAW, PICTURE):
        page.locator(widget).locator(".se4u-check").click()
        page.locator(widget).locator(".se4u-feedback").filter(has_text="Score:").wait_for()
    assert page.locator(f"{WORDS}[data-verdict='correct']").count() == 1
    assert page.locator(f"{SORT}[data-verdict='partial']").count() == 1
    assert page.locator(f"{ORDER}[data-verdict='incorrect']").count() == 1
    assert page.locator(f"{SORT} [data-mark='right']").count() == 1
    assert page.locator(f"{ORDER} [data-mark='wrong']").count() == 1

    essay = page.locator(".se4u-essay")
    essay.locator("textarea").fill("Too short to submit.")
    essay.locator(".se4u-button").filter(has_text="Submit").click()
    essay.locator("[role='status']").filter(has_text=re.compile(r"\w")).wait_for()


NOTEBOOK_IDS = ["gallery", "intro", "module3"]


@pytest.mark.parametrize("notebook", list(ACTIVITIES), ids=NOTEBOOK_IDS)
def test_no_serious_axe_violations(axe_server, page, notebook):
    """As first opened at 1280 px, do the activities (and the page) pass axe?"""
    open_notebook(page, axe_server, notebook)
    assert_accessible(page)


@pytest.mark.parametrize("notebook", list(ACTIVITIES), ids=NOTEBOOK_IDS)
def test_no_serious_axe_violations_at_360px(axe_server, narrow_page, notebook):
    """On a 360 px touch screen, do the activities (and the page) pass axe?"""
    open_notebook(narrow_page, axe_server, notebook)
    assert_accessible(narrow_page)


def test_no_serious_axe_violations_after_checking(axe_server, page, narrow_page):
    """With verdicts, marks, explanations and messages shown, do the activities still pass axe?"""
    open_notebook(page, axe_server, "gallery.ipynb")
    wait_for_widgets(page, f"{PICTURE} .se4u-piece")
    check_everything(page)
    assert_accessible(page)
    # The same checked state, restored from the store, at 360 px.
    open_notebook(narrow_page, axe_server, "gallery.ipynb")
    narrow_page.locator(f"{SORT}[data-verdict='partial']").wait_for()
    narrow_page.locator(f"{WORDS}[data-verdict='correct']").wait_for()
    assert_accessible(narrow_page)
