"""The activities in JupyterLab 4 and Notebook 7 (not only Voilà): they render, check, and own their keys."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import NOTEBOOKS, free_port

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Jupyter server (JupyterLab 4 and Notebook 7) on the notebooks folder, no token, loopback."""
    port = free_port()
    home = tmp_path_factory.mktemp("lab-home")
    env = dict(os.environ, SE4U_STORE=str(home / "responses.sqlite"), SE4U_LEARNER="lab-learner",
               HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"))
    log = open(home / "lab.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=",
         "--ServerApp.port_retries=0", f"--ServerApp.root_dir={NOTEBOOKS}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(base + "/api/status", timeout=2).read()
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    else:
        proc.terminate()
        raise RuntimeError((home / "lab.log").read_text()[-2000:])
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def run_all_and_answer(page) -> None:
    """Run every cell, answer the first orientation question, and type in a text answer."""
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    page.get_by_text("Idle").first.wait_for(state="attached", timeout=90_000)  # the kernel is connected
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
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
        assert Path(NOTEBOOKS / "intro.ipynb").exists()
    finally:
        context.close()
