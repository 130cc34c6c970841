"""Course notebooks: built from their Markdown, free of outputs, and the intro complete."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from se4u.build import build, build_text, sources
from se4u.course import format_minutes, load_course

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"


def test_every_notebook_has_a_source_and_is_fresh():
    """Is every committed .ipynb the exact build of its .md (run `se4u build` if not)?"""
    assert build(check=True) == []
    built = {p.with_suffix(".ipynb").name for p in sources()}
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} <= built


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebooks_carry_no_outputs_or_noise(path):
    """Are notebooks free of outputs, execution counts and editor metadata?"""
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        assert not cell.get("outputs")
        assert cell.get("execution_count") is None
        assert set(cell.get("metadata", {})) <= {"tags"}
    assert set(notebook["metadata"]) == {"kernelspec", "language_info", "se4u"}


def test_build_is_deterministic(tmp_path):
    """Does building the same Markdown twice give the same bytes?"""
    md = NOTEBOOKS / "intro.md"
    assert build_text(md) == build_text(md)


def test_course_workload_is_the_planned_total():
    """Does the one course file hold the planned 18.5 hours, 30 minutes for the introduction?"""
    course = load_course()
    assert format_minutes(course.total_minutes) == "18.5 hours"
    assert course.part("intro").minutes == 30
    assert [p.id for p in course.parts][1:7] == [f"module{i}" for i in range(1, 7)]
    assert {r.id for r in course.requirements_for("live_sessions")} - {
        r.id for r in course.requirements_for("self_paced")} == {"attendance"}


def test_intro_has_an_orientation_quiz_of_five_or_more():
    """Does the introduction show at least five orientation questions and the shared tables?"""
    notebook = nbformat.read(NOTEBOOKS / "intro.ipynb", as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert code.count('activity("intro", "orientation-') >= 5
    assert "workload_table()" in code
    assert "completion_requirements(" in code
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "9/1" in text and "10/1" in text
    assert "9/11" not in text and "10/12" not in text


def test_intro_renders_without_problems(store_url):
    """Executed for real, does every activity of the intro render (no error, no problem notice)?"""
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOKS / "intro.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = json.dumps([c.get("outputs", []) for c in notebook.cells])
    assert "cannot be shown" not in outputs
    assert '"output_type": "error"' not in outputs
    widgets = outputs.count("application/vnd.jupyter.widget-view+json")
    assert widgets >= 8


def test_forum_assignment_links_to_the_hub_forum(monkeypatch):
    """On a hub, does a forum assignment link to its thread in the course service (escaped)?"""
    from se4u.banks import ForumAssignmentSpec
    from se4u.notebook import forum_assignment

    spec = ForumAssignmentSpec.model_validate({"id": "forum-x", "type": "forum", "prompt": "Discuss <this>."})
    monkeypatch.delenv("SE4U_SERVICE_URL", raising=False)
    assert "course forum" not in forum_assignment(spec, "module3/forum-x").data
    monkeypatch.setenv("SE4U_SERVICE_URL", "http://127.0.0.1:8000/services/se4u/")
    page = forum_assignment(spec, "module3/forum-x").data
    assert "href='http://127.0.0.1:8000/services/se4u/forum/module3/forum-x'" in page
    assert "Discuss &lt;this&gt;." in page
