"""A learner takes a self-assessment test in JupyterLab by keyboard; the answers file keeps every answer."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from se4u.assessment import ANSWERS_FILE
from tests.axe import page_violations
from tests.conftest import REPO, LabServer, run_all_cells

pytestmark = pytest.mark.browser


@pytest.fixture
def fetched(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The released Module 3 test as a learner fetches it, open in a real JupyterLab."""
    folder = tmp_path / "course" / "module3"
    shutil.copytree(REPO / "release" / "module3", folder)
    home = tmp_path / "home"
    home.mkdir()
    server = LabServer(folder.parent, home)
    yield server.base, folder
    server.stop()


def stop_kernels(page) -> None:
    """End every session of the server (and so its kernel) through the REST API, as the page (xsrf):
    the notebook opened next starts a new session with a new kernel."""
    stopped = page.evaluate("""async () => {
        const xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || '';
        const sessions = await (await fetch('/api/sessions')).json();
        for (const s of sessions) {
            await fetch(`/api/sessions/${s.id}`, {method: 'DELETE', headers: {'X-XSRFToken': xsrf}});
        }
        const left = await (await fetch('/api/kernels')).json();
        return sessions.length > 0 && left.length === 0;
    }""")
    assert stopped


def answers(folder: Path) -> dict:
    path = folder / ANSWERS_FILE
    return json.loads(path.read_text())["items"] if path.exists() else {}


def test_a_test_taken_by_keyboard_is_saved_and_restored(fetched, browser) -> None:
    """Are a choice, an order, a category and an essay, given by keyboard, saved beside the notebook
    and shown again when the learner reopens the test, with no key on the page?"""
    base, folder = fetched
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(f"{base}/lab/tree/module3/module3.ipynb")
        run_all_cells(page, wait=True)
        items = page.locator(".se4u-test")
        items.nth(7).wait_for(state="attached", timeout=90_000)
        # a true/false question: focus the first answer and choose it with the space bar
        first = items.first
        first.locator("input").first.focus()
        page.keyboard.press("Space")
        first.locator(".se4u-test-status", has_text="Saved").wait_for(timeout=20_000)
        chosen = first.locator("input").first.get_attribute("value")
        # an ordering question: move the first step down with Enter
        order = page.locator(".se4u-test", has=page.locator(".se4u-test-order")).first
        steps_before = order.locator(".se4u-test-step-text").all_text_contents()
        order.scroll_into_view_if_needed()
        order.locator("button[data-delta='1']").first.focus()
        page.keyboard.press("Enter")
        order.locator(".se4u-test-status", has_text="Saved").wait_for(timeout=20_000)
        steps_after = order.locator(".se4u-test-step-text").all_text_contents()
        assert steps_after[:2] == [steps_before[1], steps_before[0]]
        # a category: type the start of its name on the focused list (the browser's type-ahead)
        select = page.locator(".se4u-test-select").first
        select.scroll_into_view_if_needed()
        label = select.locator("option").nth(1).text_content()
        select.focus()
        page.keyboard.type(label[:4])
        page.wait_for_function("(s) => document.querySelector(s).value !== ''", arg=".se4u-test-select")
        picked = select.input_value()
        # the essay: type into it
        essay = page.locator(".se4u-test-essay").first
        essay.scroll_into_view_if_needed()
        essay.focus()
        page.keyboard.type("Civil society can submit information <b>to</b> the review.")
        page.wait_for_timeout(0)
        saved = {}
        for _ in range(100):
            saved = answers(folder)
            essays = [v for v in saved.values() if "text" in v.get("state", {})]
            if essays and essays[0]["state"]["text"].endswith("the review."):
                break
            page.wait_for_timeout(100)
        states = [v["state"] for v in saved.values()]
        assert {"selected": [chosen]} in states
        assert any(s.get("text", "").endswith("the review.") for s in states)
        assert len(saved) >= 4
        assert page_violations(page, ".se4u-test") == []
        synced = page.content()
        source = (REPO / "source" / "module3" / "module3.ipynb").read_text()
        assert "mark_choice" in source and "mark_choice" not in synced
        # reopen: a fresh page and a fresh kernel restore every answer
        stop_kernels(page)
        page.close()
        page = context.new_page()
        page.goto(f"{base}/lab/tree/module3/module3.ipynb")
        run_all_cells(page, wait=True)
        items = page.locator(".se4u-test")
        items.nth(7).wait_for(state="attached", timeout=90_000)
        assert items.first.locator(f"input[value='{chosen}']").is_checked()
        order = page.locator(".se4u-test", has=page.locator(".se4u-test-order")).first
        assert order.locator(".se4u-test-step-text").all_text_contents() == steps_after
        assert page.locator(".se4u-test-select").first.input_value() == picked
        assert page.locator(".se4u-test-essay").first.input_value().endswith("the review.")
    finally:
        context.close()
