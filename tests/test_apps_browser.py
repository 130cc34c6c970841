"""The learner apps in Voilà and Chromium: home, a module, my progress, the survey and the glossary."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.axe import page_violations
from tests.conftest import ARTIFACTS, NOTEBOOKS, VoilaServer, wait_for_widgets

pytestmark = pytest.mark.browser
APPS = ["home.ipynb", "module1.ipynb", "progress.ipynb", "exit_survey.ipynb", "glossary.ipynb",
        "apply.ipynb", "instructor.ipynb", "forum.ipynb"]
READY = "#rendered_cells .jp-OutputArea-output"


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    """The apps as a learner gets them, with a store of their own."""
    server = VoilaServer(NOTEBOOKS, tmp_path_factory.mktemp("apps") / "responses.sqlite",
                         learner="app-learner")
    yield server
    server.stop()


def open_app(page, server: VoilaServer, notebook: str) -> None:
    page.goto(server.url(notebook))
    wait_for_widgets(page, READY)
    page.wait_for_function(
        "() => getComputedStyle(document.getElementById('rendered_cells')).display !== 'none'"
        " && !document.body.innerText.includes('Loading widget')")


@pytest.mark.parametrize("notebook", APPS)
def test_app_shows_no_code_and_reads_well(apps, browser, notebook):
    """Does each app show the course header, no code, no traceback, and fit 360 and 1280 px?"""
    for width in (1280, 360):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        try:
            open_app(page, apps, notebook)
            text = page.inner_text("body")
            assert "from se4u" not in page.content().split("rendered_cells", 1)[1]
            assert "Traceback" not in text and "cannot be shown" not in text
            assert page.locator(".se4u-header a", has_text="SE4U course home").count() == 1
            overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{notebook} scrolls sideways by {overflow}px at {width}px"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"app-{notebook.removesuffix('.ipynb')}-{width}.png"))
        finally:
            context.close()


@pytest.mark.parametrize("notebook", APPS)
def test_app_has_no_serious_accessibility_violations(apps, page, notebook):
    """Does axe-core find no serious or critical violation on the whole app page?"""
    open_app(page, apps, notebook)
    assert page_violations(page) == []


def test_module_pages_have_contents_and_course_navigation(apps, page):
    """Does a module app list its sections and link to the previous and next parts?"""
    open_app(page, apps, "module3.ipynb")
    toc = page.locator(".se4u-toc a")
    assert toc.count() >= 5
    assert page.locator("a[rel=prev]").get_attribute("href") == "module2.ipynb"
    assert page.locator("a[rel=next]").get_attribute("href") == "module4.ipynb"
    page.locator("a[rel=next]").click()
    page.wait_for_url("**/module4.ipynb")


def test_work_in_a_module_shows_on_home_and_progress(apps, page):
    """After reading a section and checking an answer in Module 1, do home and progress count them?"""
    open_app(page, apps, "module1.ipynb")
    page.locator(".se4u-read-button").first.click()
    page.locator(".se4u-read-button[aria-pressed=true]").first.wait_for()
    quiz = page.locator(".se4u-mc").first
    quiz.locator("input").first.check()
    quiz.locator("button", has_text="Check").click()
    quiz.locator(".se4u-feedback", has_text="Score:").wait_for()
    page.locator(".se4u-save", has_text="saved").first.wait_for()

    open_app(page, apps, "home.ipynb")
    page.locator(".se4u-home").wait_for()
    module1 = page.locator(".se4u-part", has=page.locator("a[href='module1.ipynb']"))
    assert re.search(r"\b1 of \d+ readings, 1 of \d+ activities", module1.inner_text())
    assert "Next step" in page.locator(".se4u-next").inner_text()
    open_app(page, apps, "progress.ipynb")
    page.locator(".se4u-progress-table").wait_for()
    row = page.locator("tr", has=page.locator("a[href='module1.ipynb']"))
    cells = row.locator("td").all_inner_texts()
    assert re.fullmatch(r"1 / \d+", cells[0]) and re.fullmatch(r"1 / \d+", cells[1])


def test_preheated_kernel_restores_the_latest_answer(tmp_path, browser):
    """With preheated kernels, does a reopened page show the answer given a moment ago (not a stale one)?"""
    server = VoilaServer(NOTEBOOKS, tmp_path / "responses.sqlite", learner="preheat-learner", preheat=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_app(page, server, "intro.ipynb")
        quiz = page.locator(".se4u-mc").first
        quiz.locator("input").nth(2).check()
        quiz.locator("button", has_text="Check").click()
        quiz.locator(".se4u-feedback", has_text="Score:").wait_for()
        chosen = quiz.locator("input:checked").evaluate(
            "node => node.closest('label').querySelector('.se4u-option-text').textContent")
        open_app(page, server, "intro.ipynb")
        again = page.locator(".se4u-mc").first
        again.locator(".se4u-feedback", has_text="Score:").wait_for()
        assert again.locator("input:checked").evaluate(
            "node => node.closest('label').querySelector('.se4u-option-text').textContent") == chosen
    finally:
        context.close()
        server.stop()


def test_failed_cell_shows_a_plain_message_not_a_traceback(tmp_path, browser):
    """When a cell fails, does the learner see a plain message with a reload button, and no traceback?"""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A page with a broken cell"),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_markdown_cell("The rest of the page is still here."),
    ])
    nbformat.write(notebook, tmp_path / "broken.ipynb")
    server = VoilaServer(tmp_path, tmp_path / "responses.sqlite", learner="broken")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(server.url("broken.ipynb"))
        trouble = page.locator(".se4u-trouble[role=alert]")
        trouble.wait_for(timeout=60_000)
        assert "could not be shown" in trouble.inner_text()
        assert trouble.locator("button", has_text="Reload").count() == 1
        text = page.inner_text("body")
        assert "ZeroDivisionError" not in text and "Traceback" not in text
        assert "A page with a broken cell" in text
    finally:
        context.close()
        server.stop()


def test_lost_connection_says_how_to_reload(tmp_path, browser):
    """If the course server goes away while a page is open, does the page say so and offer a reload?"""
    server = VoilaServer(NOTEBOOKS, tmp_path / "responses.sqlite", learner="lost")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        open_app(page, server, "glossary.ipynb")
        banner = page.locator("#se4u-connection")
        assert banner.is_hidden()
        server.stop()
        banner.wait_for(state="visible", timeout=30_000)
        assert "Your saved answers are safe" in banner.inner_text()
        assert banner.locator("button", has_text="Reload the page").count() == 1
    finally:
        context.close()
        server.stop()
