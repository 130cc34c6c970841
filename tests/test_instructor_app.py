"""The instructor dashboard: only instructors see it, and it shows the cohort's tables."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from se4u.analytics import dashboard_html
from se4u.completion import ForumCount
from se4u.roles import current_role, refusal_html
from tests.conftest import NOTEBOOKS, VoilaServer, wait_for_widgets

NO_CONFIG = {"SE4U_CONFIG": "/nonexistent/se4u.toml"}


def seed(store) -> None:
    """Two learners' practice answers and exit-survey answers."""
    store.save("ana", "module1/q1", "multiple_choice", {"selected": ["o2"]}, score=1, max_score=1)
    store.save("ben", "module1/q1", "multiple_choice", {"selected": ["o1"]}, score=0, max_score=1)
    store.save("ana", "module1/q2", "multiple_choice", {"selected": ["o3"]}, score=1, max_score=1)
    store.save("ben", "module1/q2", "multiple_choice", {"selected": ["o3"]}, score=1, max_score=1)
    store.save("ana", "exit_survey/module1-useful", "likert", {"value": 4, "label": "Strongly agree"})
    store.save("ana", "exit_survey/hours-module1", "number", {"value": 3.5, "unit": "hours"})
    store.save("ben", "exit_survey/other-comments", "free_text", {"value": "<img src=x onerror=alert(1)>"})


def test_a_learner_is_refused():
    """Is a learner (no role, not in the config list) refused, with a message naming them?"""
    role = current_role({"SE4U_LEARNER": "ana", **NO_CONFIG})
    assert not role.instructor
    page = refusal_html(role)
    assert "instructors only" in page and "ana" in page


def test_role_from_environment_and_config(tmp_path, monkeypatch):
    """Do SE4U_ROLE=instructor and the config file's instructors list both grant the role?"""
    monkeypatch.delenv("SE4U_ROLE", raising=False)
    assert current_role({"SE4U_LEARNER": "ana", "SE4U_ROLE": "instructor"}).instructor
    config = tmp_path / "config.toml"
    config.write_text('[se4u]\ninstructors = ["teacher1"]\n')
    monkeypatch.setenv("SE4U_CONFIG", str(config))
    assert current_role({"SE4U_LEARNER": "teacher1"}).instructor
    assert not current_role({"SE4U_LEARNER": "ana"}).instructor


class FakeHub(BaseHTTPRequestHandler):
    groups: ClassVar[dict[str, list[str]]] = {"tok-teacher": ["instructors"], "tok-learner": ["learners"]}

    def do_GET(self) -> None:
        token = self.headers.get("Authorization", "").removeprefix("token ")
        if self.path != "/hub/api/user" or token not in self.groups:
            self.send_response(403)
            self.end_headers()
            return
        body = json.dumps({"name": "x", "groups": self.groups[token]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hub/api"
    server.shutdown()


def test_on_a_hub_the_instructors_group_decides(hub):
    """On a hub, is the group membership read from the hub API, overriding SE4U_ROLE?"""
    teacher = {"JUPYTERHUB_USER": "t", "JUPYTERHUB_API_URL": hub, "JUPYTERHUB_API_TOKEN": "tok-teacher"}
    learner = {"JUPYTERHUB_USER": "l", "JUPYTERHUB_API_URL": hub, "JUPYTERHUB_API_TOKEN": "tok-learner",
               "SE4U_ROLE": "instructor"}
    assert current_role(teacher) == current_role(teacher) and current_role(teacher).instructor
    assert current_role(teacher).source == "hub group"
    assert not current_role(learner).instructor


def test_dashboard_shows_every_table_escaped(store, monkeypatch):
    """Does the dashboard show overview, items, survey and forum, with CSV links and no raw HTML?"""
    monkeypatch.delenv("SE4U_ROSTER", raising=False)
    monkeypatch.setenv("SE4U_CONFIG", NO_CONFIG["SE4U_CONFIG"])
    seed(store)
    page = dashboard_html(store, forum={"ana": {"module1": ForumCount(2, 1)}})
    for heading in ("Cohort overview", "Completion funnel by module", "Items (flagged rows",
                    "Cronbach's alpha per test", "Likert answers per item", "Hours per part",
                    "Forum participation per thread"):
        assert heading.replace("'", "&#x27;") in page or heading in page, heading
    assert "<strong>2</strong>enrolled" in page and "<strong>2</strong>active" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert page.count("download='") >= 8
    assert "cannot be shown" not in page


# --- in Voilà and Chromium ------------------------------------------------------------------------
def serve(tmp_path: Path, role: str) -> VoilaServer:
    from se4u.store import ResponseStore

    store_path = tmp_path / "responses.sqlite"
    store = ResponseStore(f"sqlite:///{store_path}")
    seed(store)
    store.close()
    return VoilaServer(NOTEBOOKS, store_path, learner=f"{role}-user",
                       env={"SE4U_ROLE": role, "SE4U_ROSTER": "", "SE4U_FORUM_COUNTS": "", **NO_CONFIG})


@pytest.mark.browser
@pytest.mark.parametrize("role", ["learner", "instructor"])
def test_instructor_app_in_the_browser(tmp_path, page, role):
    """Is a learner refused with a clear message, and does an instructor get the tables?"""
    server = serve(tmp_path, role)
    try:
        page.goto(server.url("instructor.ipynb"))
        wait_for_widgets(page, "#rendered_cells .jp-OutputArea-output")
        text = page.inner_text("body")
        assert "Traceback" not in text and "Error" not in text
        if role == "learner":
            assert "This page is for the course's instructors only" in text
            assert page.locator(".se4u-dash").count() == 0
        else:
            assert page.locator(".se4u-dash table").count() >= 5
            assert "Completion funnel by module" in text and "Cronbach's alpha per test" in text
            assert page.locator("a[download='items.csv']").count() == 1
            assert "cannot be shown" not in text
    finally:
        server.stop()
