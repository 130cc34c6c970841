"""The committed nbgrader course: six tests in source/, their release/ fresh and free of any key."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
MODULES = [f"module{n}" for n in range(1, 7)]
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.DOTALL)


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command on a course folder with the venv's tools on PATH."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
                          cwd=course, env=env, capture_output=True, text=True, check=False, timeout=600)


def hidden_calls(notebook: Path) -> dict[str, ast.Call]:
    """grade id -> the marking call inside that test cell's hidden region."""
    calls = {}
    for cell in nbformat.read(notebook, as_version=4).cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        for region in HIDDEN.findall(cell.source):
            for node in ast.walk(ast.parse(region)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", "").startswith("mark_"):
                    calls[grade_id] = node
    return calls


def secrets(notebook: Path) -> list[str]:
    """Every string of the hidden regions that must not reach learners (explanations, key literals)."""
    found = []
    for call in hidden_calls(notebook).values():
        for keyword in call.keywords:
            if keyword.arg == "explanation":
                found.append(ast.literal_eval(keyword.value))
            if keyword.arg in {"correct", "order", "key"}:
                found.append(f"{keyword.arg}=" + ast.unparse(keyword.value))
    return found


@pytest.mark.parametrize("name", MODULES)
def test_each_module_has_a_full_test(name):
    """Has every module test at least 8 marked items (one ordering or categorising) and one essay?"""
    notebook = REPO / "source" / name / f"{name}.ipynb"
    calls = hidden_calls(notebook)
    assert len(calls) >= 8
    kinds = {call.func.id for call in calls.values()}
    assert kinds & {"mark_order", "mark_categories"}
    assert "mark_choice" in kinds
    cells = nbformat.read(notebook, as_version=4).cells
    tasks = [c for c in cells if c.metadata.get("nbgrader", {}).get("task")]
    assert len(tasks) == 1
    assert tasks[0].metadata.nbgrader.points > 0
    tests = [c for c in cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert all("### BEGIN HIDDEN TESTS" in c.source for c in tests)


def test_release_has_no_key_hidden_test_or_solution():
    """Does no file under release/ contain hidden tests, marking calls, explanations or key literals?"""
    files = sorted(p for p in (REPO / "release").rglob("*") if p.is_file())
    assert {p.parent.name for p in files} == set(MODULES)
    banned = ["HIDDEN TESTS", "BEGIN SOLUTION", "mark_choice", "mark_order", "mark_categories",
              "se4u.grading"]
    for name in MODULES:
        banned += secrets(REPO / "source" / name / f"{name}.ipynb")
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in banned:
            assert secret not in text, f"{path.relative_to(REPO)} contains {secret[:60]!r}"


@pytest.mark.slow
def test_committed_release_is_what_nbgrader_generates(tmp_path):
    """Does regenerating release/ from source/ give exactly the committed files?"""
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source", course / "source")
    for name in MODULES:
        done = nbgrader(course, "generate_assignment", name, "--force")
        assert done.returncode == 0, done.stderr[-2000:]
    fresh = {p.relative_to(course / "release"): p.read_bytes()
             for p in (course / "release").rglob("*") if p.is_file()}
    committed = {p.relative_to(REPO / "release"): p.read_bytes()
                 for p in (REPO / "release").rglob("*") if p.is_file()}
    assert sorted(fresh) == sorted(committed), "release/ has other files: see docs/grading.md"
    stale = [str(path) for path in fresh if json.loads(fresh[path]) != json.loads(committed[path])]
    assert not stale, f"release/ is stale for {stale}: regenerate it (docs/grading.md)"
