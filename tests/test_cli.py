"""The se4u command: start serves the introduction; check-banks and build report clearly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from se4u.cli import main
from tests.conftest import free_port


def test_check_banks_names_the_broken_file(tmp_path, capsys):
    """Does check-banks list each bank as ok or with its error, and fail if any is broken?"""
    (tmp_path / "good.yaml").write_text(
        "schema_version: 1\nbank: good\ntitle: Good\nactivities:\n"
        "  - {id: l1, type: likert, prompt: 'Agree?'}\n")
    (tmp_path / "bad.yaml").write_text("schema_version: 1\nbank: bad\ntitle: Bad\nactivities: []\n")
    assert main(["check-banks", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "ok: good.yaml (1 activities)" in out
    assert "bad.yaml: field 'activities' must be a non-empty list" in out


def test_build_check_passes_on_the_committed_notebooks(capsys):
    """Does `se4u build --check` report nothing stale for the committed notebooks?"""
    assert main(["build", "--check"]) == 0
    assert "stale" not in capsys.readouterr().out


@pytest.mark.slow
def test_start_serves_the_introduction(tmp_path):
    """Does `se4u start` (the README's first command) serve the introduction on localhost?"""
    port = free_port()
    env = dict(os.environ, SE4U_STORE=str(tmp_path / "start.sqlite"))
    proc = subprocess.Popen([sys.executable, "-m", "se4u.cli", "start", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert "open this address" in "".join(proc.stdout.readline() for _ in range(3))
        url = f"http://127.0.0.1:{port}/voila/render/intro.ipynb"
        deadline, body = time.monotonic() + 120, ""
        while time.monotonic() < deadline and "Introductory information" not in body:
            try:
                body = urllib.request.urlopen(url, timeout=60).read().decode()
            except OSError:
                time.sleep(0.5)
        assert "Introductory information" in body
        assert "from se4u.notebook import" not in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)
