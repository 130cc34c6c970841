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


@pytest.mark.parametrize(("flags", "euid", "mode"), [
    ([], 0, "hub"), ([], 1000, "single"), (["--single"], 0, "single"), (["--lab"], 0, "single"),
    (["--lab"], 1000, "single"),
])
def test_start_runs_the_cohort_hub_as_root_and_one_learner_otherwise(flags, euid, mode):
    """Does `se4u start` start the hub when it may create accounts, and one learner's Voilà when asked?"""
    from se4u.cli import build_parser, start_mode

    assert start_mode(build_parser().parse_args(["start", *flags]), euid) == mode


@pytest.mark.slow
def test_start_serves_the_introduction(tmp_path):
    """Does `se4u start` (the README's first command) serve the introduction on localhost?"""
    port = free_port()
    env = dict(os.environ, SE4U_STORE=str(tmp_path / "start.sqlite"))
    proc = subprocess.Popen([sys.executable, "-m", "se4u.cli", "start", "--single", "--port", str(port)],
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
