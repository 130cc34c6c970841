"""The activities in JupyterLab 4 and Notebook 7 (not only Voilà): they render, check, and own their keys."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.conftest import NOTEBOOKS, LabServer, run_all_cells

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """JupyterLab 4 and Notebook 7 on a copy of the notebooks folder (JupyterLab saves what it opens)."""
    root = tmp_path_factory.mktemp("lab-root") / "notebooks"
    shutil.copytree(NOTEBOOKS, root)
    server = LabServer(root, tmp_path_factory.mktemp("lab-home"))
    yield server.base
    server.stop()


def run_all_and_answer(page) -> None:
    """Run every cell, answer the first orientation question, and type in a text answer."""
    run_all_cells(page)
    quiz = page.locator(".se4u-mc").first
    quiz.locator("input").first.wait_for(timeout=90_000)
    quiz.locator(".se4u-option-label").nth(1).click()
    quiz.locator("button", has_text="Check").click()
    quiz.locator(".se4u-feedback", has_text="Score:").wait_for(timeout=30_000)
    # Typing in an essay or a text answer must not trigger the notebook's shortcuts ("a", "b", "dd"…).
    cells = page.locator(".jp-Notebook .jp-Cell").count()
    answer = page.locator(".se4u-free textarea").first
    answer.click()
    page.keyboard.type("abddm")
    assert answer.input_value().endswith("abddm")
    assert page.locator(".jp-Notebook .jp-Cell").count() == cells


@pytest.mark.parametrize("path", ["lab/tree/intro.ipynb", "notebooks/intro.ipynb"],
                         ids=["jupyterlab4", "notebook7"])
def test_activities_work_in_jupyterlab_and_notebook(lab, browser, path):
    """Do the activities render and check an answer in JupyterLab 4 and in Notebook 7?"""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{lab}/{path}")
        run_all_and_answer(page)
        assert page.locator(".se4u-activity").count() >= 8
    finally:
        context.close()
