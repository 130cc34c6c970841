"""A cohort of synthetic learners through the real nbgrader pipeline, compared with a golden table.

generate (nbgrader) -> submit (copy into submitted/<learner>/module3/ with timestamp.txt) -> collect
-> ``se4u autograde`` (parallel) -> ``se4u feedback`` -> ``se4u grades export``.
Refresh the golden table with ``SE4U_UPDATE_GOLDEN=1`` after a deliberate change to the test.
"""

from __future__ import annotations

import ast
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

from tests.test_grading_release import REPO, hidden_calls, nbgrader, secrets

ASSIGNMENT = "module3"
GOLDEN = REPO / "tests" / "golden" / "cohort_scores.csv"
TIMEOUT = 15  # seconds a cell may run in the cohort (the looping learner hits it)


def keys(assignment: str = ASSIGNMENT) -> dict[str, tuple[str, dict]]:
    """item -> (marking function, its keyword arguments), read from the source's hidden tests."""
    found = {}
    for call in hidden_calls(REPO / "source" / assignment / f"{assignment}.ipynb").values():
        item = ast.literal_eval(call.args[0])
        found[item] = (call.func.id, {k.arg: ast.literal_eval(k.value) for k in call.keywords})
    return found


def answer(kind: str, spec: dict, right: bool) -> dict:
    """A saved state that is all right or all wrong for one item."""
    if kind == "mark_choice":
        wrong = [n for n in range(1, spec["options"] + 1) if n not in spec["correct"]]
        chosen = spec["correct"] if right else wrong[:1] if len(spec["correct"]) == 1 else wrong
        return {"selected": [f"o{n}" for n in chosen]}
    if kind == "mark_order":
        order = spec["order"] if right else spec["order"][1:] + spec["order"][:1]
        return {"order": [f"s{n}" for n in order]}
    return {"placements": {f"i{s}": f"c{c if right else (1 if c != 1 else 2)}"
                           for s, c in spec["key"].items()}}


def answers_doc(pattern: str, essay: str = "Trafficking needs exploitation; smuggling needs a border.",
                assignment: str = ASSIGNMENT) -> dict:
    """An answers.json document: pattern has one letter per item, r(ight), w(rong) or -(blank)."""
    items = {}
    for letter, (item, (kind, spec)) in zip(pattern, sorted(keys(assignment).items()), strict=True):
        if letter != "-":
            items[item] = {"kind": kind, "state": answer(kind, spec, letter == "r")}
    if essay:
        items["essay"] = {"kind": "test_essay", "state": {"text": essay}}
    return {"format": "se4u-answers/1", "assignment": assignment, "items": items}


def submit(course: Path, learner: str, *, notebook: str | None = "release", answers: object = None,
           edit=None, assignment: str = ASSIGNMENT) -> Path:
    """Put one learner's submission where nbgrader's collect puts it."""
    folder = course / "submitted" / learner / assignment
    folder.mkdir(parents=True)
    (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
    target = folder / f"{assignment}.ipynb"
    if notebook == "release":
        nb = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        if edit:
            edit(nb)
        nbformat.write(nb, target)
    elif notebook is not None:
        target.write_text(notebook)
    if isinstance(answers, dict):
        (folder / "answers.json").write_text(json.dumps(answers))
    elif isinstance(answers, str):
        (folder / "answers.json").write_text(answers)
    return folder


def edit_cells(nb) -> None:
    """A learner who rewrites a test cell to give full marks and changes a question's text."""
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id == "test-q2":
            cell.source = "1.0"
        if grade_id == "item-q5":
            cell.source = cell.source.replace("article 5", "article 99")


def delete_cell(nb) -> None:
    """A learner who deletes the test cell of question 2."""
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test-q2"]


def add_loop(nb) -> None:
    """A learner who adds a cell that never finishes."""
    nb.cells.insert(2, nbformat.v4.new_code_cell("while True:\n    pass"))


COHORT = {
    "all-right": {"answers": answers_doc("rrrrrrrr")},
    "all-wrong": {"answers": answers_doc("wwwwwwww")},
    "partial": {"answers": answers_doc("rrrrwwww")},
    "blank": {"answers": answers_doc("--------", essay="")},
    "notebook-deleted": {"notebook": None, "answers": answers_doc("rrrrrrrr")},
    "notebook-invalid": {"notebook": '{"cells": [', "answers": answers_doc("rrrrrrrr")},
    "answers-missing": {"answers": None},
    "answers-corrupt": {"answers": '{"items": {"q1": '},
    "cells-edited": {"answers": answers_doc("rwrrrrrr"), "edit": edit_cells},
    "cell-deleted": {"answers": answers_doc("rrrrrrrr"), "edit": delete_cell},
    "essay-1mb": {"answers": answers_doc("rrrrrrrr", essay="word " * 210_000)},
    "essay-html": {"answers": answers_doc(
        "rrrrrrrr", essay='<script>alert("x")</script><img src=x onerror=alert(1)> My <b>essay</b>.')},
    "loops-forever": {"answers": answers_doc("rrrrrrrr"), "edit": add_loop},
    "unknown-learner": {"answers": answers_doc("rrrrrrrr")},
}
ROSTER = [name for name in COHORT if name != "unknown-learner"]


def se4u(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run([sys.executable, "-m", "se4u.cli", *args, "--course", str(course)], cwd=course,
                          env=env, capture_output=True, text=True, check=False, timeout=900)


def summary_rows(path: Path) -> dict[str, tuple[str, str, str]]:
    """learner -> (status, score, details) from the summary CSV written by se4u autograde."""
    with path.open(newline="") as handle:
        return {row["learner"]: (row["status"], row["score"], row["details"])
                for row in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def graded_course():
    """The course generated, the cohort submitted and autograded (feedback and export in the tests).

    A private temporary folder, not pytest's numbered ones, which other pytest sessions on the
    machine may prune while this slow fixture is in use.
    """
    with tempfile.TemporaryDirectory(prefix="se4u-cohort-") as tmp:
        yield from _graded_course(Path(tmp) / "course")


def _graded_course(course: Path):
    from nbgrader.api import Gradebook

    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    done = nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    assert done.returncode == 0, done.stderr[-2000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for learner in ROSTER:
            gb.update_or_create_student(learner)
    for learner, spec in COHORT.items():
        submit(course, learner, **spec)
    graded = se4u(course, "autograde", ASSIGNMENT, "--timeout", str(TIMEOUT), "--workers", "4",
                  "--summary", str(course / "summary.csv"))
    assert "Traceback" not in graded.stdout + graded.stderr, graded.stderr[-3000:]
    graded.rows = summary_rows(course / "summary.csv")
    yield course, graded


def gradebook_scores(course: Path) -> dict[str, dict[str, float | None]]:
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(ASSIGNMENT):
            notebook = submission.notebooks[0]
            row = {g.name: g.score for g in notebook.grades}
            row["total"] = submission.score
            scores[submission.student.id] = row
    return scores


@pytest.mark.slow
def test_cohort_scores_match_the_golden_table(graded_course):
    """Does every learner get the expected status, score and one-line reason (tests/golden)?"""
    course, graded = graded_course
    summary = graded.rows
    assert set(summary) == set(COHORT)
    scores = gradebook_scores(course)
    items = sorted({name for row in scores.values() for name in row if name != "total"})
    table = [["learner", "status", "total", *items, "details"]]
    for learner in COHORT:
        status, _, details = summary[learner]
        row = scores.get(learner, {})
        cells = [row.get(name) for name in ["total", *items]]
        table.append([learner, status, *["" if v is None else f"{v:g}" for v in cells], details])
    if os.environ.get("SE4U_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        with GOLDEN.open("w", newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerows(table)
    with GOLDEN.open(newline="") as handle:
        golden = list(csv.reader(handle))
    assert table == golden, ("scores differ from tests/golden/cohort_scores.csv "
                             "(SE4U_UPDATE_GOLDEN=1 refreshes it)")


@pytest.mark.slow
def test_nothing_is_lost_in_the_gradebook(graded_course):
    """Is every graded learner in the gradebook exactly once, with an autograded folder, and no failed one?"""
    course, graded = graded_course
    summary = graded.rows
    graded_names = {name for name, row in summary.items() if row[0] == "graded"}
    assert graded_names == set(gradebook_scores(course))
    assert graded_names == {p.parent.name for p in (course / "autograded").glob(f"*/{ASSIGNMENT}")}
    assert "unknown-learner" not in gradebook_scores(course)
    assert graded.returncode == 1  # some submissions failed, and the exit code says so


@pytest.mark.slow
def test_second_run_skips_what_is_graded(graded_course):
    """Does running autograde again skip every graded submission (resumable) without --force?"""
    course, _ = graded_course
    again = se4u(course, "autograde", ASSIGNMENT, "--student", "all-right", "--student", "blank",
                 "--summary", str(course / "again.csv"))
    assert again.returncode == 0, again.stdout + again.stderr[-2000:]
    rows = summary_rows(course / "again.csv")
    assert {name: row[0] for name, row in rows.items()} == {"all-right": "skipped", "blank": "skipped"}
    assert "already graded" in rows["all-right"][2]


@pytest.mark.slow
def test_feedback_shows_results_without_the_key(graded_course):
    """Does feedback give each item's result and explanation but no hidden code, and the essay as text?"""
    course, _ = graded_course
    done = se4u(course, "feedback", ASSIGNMENT)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    pages = {p.parts[-3]: p.read_text() for p in (course / "feedback").glob(f"*/{ASSIGNMENT}/*.html")}
    graded = {name for name, row in graded_course[1].rows.items() if row[0] == "graded"}
    assert set(pages) == graded
    key_literals = [s for s in secrets(REPO / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
                    if s.startswith(("correct=", "order=", "key="))]
    for page in pages.values():
        assert "HIDDEN TESTS" not in page
        assert "mark_choice" not in page
        assert not [k for k in key_literals if k in page]
    assert "q1: 1 of 1 point. False. A State must be a party" in pages["all-right"]
    assert "<script>alert" not in pages["essay-html"]
    assert "&lt;script&gt;alert" in pages["essay-html"]
    assert "only the first 20,000 are shown" in pages["essay-1mb"]


@pytest.mark.slow
def test_export_writes_one_row_per_learner(graded_course):
    """Does the export give one row per learner, columns per test and item, and a completion view?"""
    import pandas as pd

    course, _ = graded_course
    out = course / "grades.csv"
    done = se4u(course, "grades", "export", "--out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    table = pd.read_csv(out, index_col="learner")
    assert sorted(table.index) == sorted(ROSTER)
    assert table.loc["all-right", f"{ASSIGNMENT} total"] == 10
    assert f"{ASSIGNMENT} test-q3" in table.columns
    completion = pd.read_csv(course / "grades-completion.csv", index_col="learner")
    assert list(completion.columns) == [f"module{n}" for n in range(1, 7)] + ["tests completed"]
    assert completion.loc["all-right", ASSIGNMENT] == "awaiting manual grading"
    assert completion.loc["notebook-deleted", ASSIGNMENT] == "not submitted"
    assert completion.loc["all-right", "tests completed"] == "0 of 6"
