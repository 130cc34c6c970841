"""Fixtures shared by the tests: an isolated store, a recording comm, a Voilà server and Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.widget_driver import RecordingComm

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh SQLite store for one test, set as the kernel's default store too."""
    url = f"sqlite:///{tmp_path / 'responses.sqlite'}"
    monkeypatch.setenv("SE4U_STORE", url)
    return url


@pytest.fixture
def store(store_url: str):
    """A ResponseStore on the test's own SQLite file."""
    from se4u.store import ResponseStore

    opened = ResponseStore(store_url)
    yield opened
    opened.close()


@pytest.fixture
def comms(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    """Every widget created in the test gets a RecordingComm; the list holds them in order."""
    import ipywidgets.widgets.widget as widget_module

    created: list[RecordingComm] = []

    def create_comm(**kwargs: object) -> RecordingComm:
        comm = RecordingComm(**kwargs)
        created.append(comm)
        return comm

    monkeypatch.setattr(widget_module.comm, "create_comm", create_comm)
    return created


# --- the course service -----------------------------------------------------------------------------
#: Hub tokens and who they belong to, for the course service with the stubbed identity lookup.
SERVICE_USERS = {
    "tok-ana": {"name": "ana", "groups": ["learners"]},
    "tok-ben": {"name": "ben", "groups": ["learners"]},
    "tok-ines": {"name": "ines", "groups": ["instructors"]},
    "tok-noscope": {"name": "eve", "scopes": []},
}


@pytest.fixture
def service(tmp_path: Path):
    """The course service on a fresh SQLite file, on a loopback port, with stubbed identities."""
    from se4u.service.db import CourseDB
    from se4u.service.testing import ServiceThread, course_with

    db = CourseDB(str(tmp_path / "service.sqlite"))
    server = ServiceThread(course_with(db, SERVICE_USERS), cookie_secret=b"s" * 32)
    yield server
    server.stop()
    db.close()


# --- Voilà and Chromium ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_server(process: subprocess.Popen, log) -> None:
    """Stop a server started for a test (politely, then for good) and close its log."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    log.close()


class VoilaServer:
    """A real Voilà serving the course's notebooks folder, with its own store."""

    def __init__(self, root: Path, store_path: Path, learner: str = "browser-learner", *,
                 preheat: bool = False, template: str | None = "se4u",
                 env: dict[str, str] | None = None) -> None:
        from se4u.apps import voila_command, voila_env

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.store_path = store_path
        env = voila_env({**os.environ, "SE4U_STORE": str(store_path), "SE4U_LEARNER": learner, **(env or {})})
        env.pop("JUPYTERHUB_USER", None)
        self.log = open(store_path.with_suffix(".voila.log"), "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            voila_command(root, port=self.port, preheat=preheat, template=template),
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Voilà exited: {store_path.with_suffix('.voila.log').read_text()}")
            try:
                urllib.request.urlopen(self.base + "/", timeout=2).read()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        raise RuntimeError("Voilà did not start within 90 s")

    def url(self, notebook: str) -> str:
        """The address of one notebook rendered as an app."""
        return f"{self.base}/voila/render/{notebook}"

    def stop(self) -> None:
        stop_server(self.process, self.log)


class LabServer:
    """A real Jupyter server (JupyterLab 4 and Notebook 7) on ``root``: no token, loopback only."""

    def __init__(self, root: Path, home: Path, env: dict[str, str] | None = None) -> None:
        import sys

        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        full_env = dict(os.environ, SE4U_STORE=str(home / "responses.sqlite"), SE4U_LEARNER="lab-learner",
                        HOME=str(home), JUPYTER_CONFIG_DIR=str(home / ".jupyter"), **(env or {}))
        self.log_path = home / "lab.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.port={port}",
             "--ServerApp.ip=127.0.0.1", "--ServerApp.token=", "--ServerApp.password=",
             "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}",
             "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
             *(["--allow-root"] if os.geteuid() == 0 else [])],
            env=full_env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                urllib.request.urlopen(self.base + "/api/status", timeout=2).read()
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(self.log_path.read_text()[-2000:])

    def stop(self) -> None:
        stop_server(self.process, self.log)


def run_all_cells(page, *, wait: bool = False) -> None:
    """In an open JupyterLab notebook: wait for the kernel, then Run > Run All Cells (and, with
    ``wait``, until the kernel is idle again: JupyterLab moves the focus while cells run)."""
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=90_000)
    page.get_by_text("Idle").first.wait_for(state="attached", timeout=90_000)  # the kernel is connected
    if wait:
        _wait_for_idle_kernel(page)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    if not wait:
        return
    page.wait_for_timeout(300)  # the run requests reach the kernel
    _wait_for_idle_kernel(page)


def _wait_for_idle_kernel(page, timeout: float = 120) -> None:
    """Until the server has a kernel and every kernel has been idle for three polls in a row."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        states = page.evaluate("async () => (await (await fetch('/api/kernels')).json())"
                               ".map(k => k.execution_state)")
        quiet = quiet + 1 if states and all(state == "idle" for state in states) else 0
        page.wait_for_timeout(200)


@pytest.fixture(scope="session")
def voila_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoilaServer]:
    """Voilà on the course's notebooks folder, for the whole test session."""
    server = VoilaServer(NOTEBOOKS, tmp_path_factory.mktemp("voila") / "responses.sqlite")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh browser page at 1280 px wide, closed after the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def wait_for_widgets(page, selector: str, timeout: float = 60_000) -> None:
    """Wait until Voilà has run the notebook and rendered the widgets matching selector."""
    page.wait_for_selector(selector, timeout=timeout)
