"""What the hub puts in a user's home, whom it lets in, and how its learners' servers serve the pages."""

from __future__ import annotations

import json
import os
from pathlib import Path

from se4u.service import hub as hub_module
from se4u.service.hub import COURSE_FOLDER, MANIFEST, course_files, install_course


def _install(home: Path, **kwargs) -> list[str]:
    return install_course(home, os.getuid(), os.getgid(), **kwargs)


def test_a_learner_gets_the_course_pages_but_not_the_dashboard_or_the_application_form(tmp_path):
    """Does a learner's home get every learner page and the pictures, and no instructor page?"""
    written = _install(tmp_path)
    course = tmp_path / COURSE_FOLDER
    for page in ("home.ipynb", "intro.ipynb", "module1.ipynb", "module6.ipynb", "progress.ipynb",
                 "exit_survey.ipynb", "glossary.ipynb"):
        assert (course / page).is_file(), page
    assert not (course / "instructor.ipynb").exists()
    assert not (course / "apply.ipynb").exists()
    assert any(name.startswith("images/") for name in written)
    assert sorted(written) == sorted(course_files())
    assert (course / "module1.ipynb").read_bytes() == course_files()["module1.ipynb"].read_bytes()


def test_an_instructor_also_gets_the_dashboard(tmp_path):
    """Does an instructor's home get the instructor dashboard too?"""
    _install(tmp_path, instructor=True)
    assert (tmp_path / COURSE_FOLDER / "instructor.ipynb").is_file()


def test_a_second_start_rewrites_nothing(tmp_path):
    """When nothing changed, does installing again write no file?"""
    _install(tmp_path)
    assert _install(tmp_path) == []


def test_a_course_update_replaces_untouched_pages_and_keeps_edited_ones(tmp_path, monkeypatch):
    """After a course update, is an unedited page replaced, an edited one kept, a deleted one restored?"""
    source = tmp_path / "course"
    source.mkdir()
    for name in ("a.ipynb", "b.ipynb", "c.ipynb"):
        (source / name).write_text(f"{name} v1")
    monkeypatch.setattr(hub_module, "course_files",
                        lambda instructor=False: {p.name: p for p in sorted(source.glob("*.ipynb"))})
    home = tmp_path / "home"
    home.mkdir()
    assert _install(home) == ["a.ipynb", "b.ipynb", "c.ipynb"]
    mine = home / COURSE_FOLDER
    (mine / "b.ipynb").write_text("my notes in b")
    (mine / "c.ipynb").unlink()
    for name in ("a.ipynb", "b.ipynb"):
        (source / name).write_text(f"{name} v2")
    assert _install(home) == ["a.ipynb", "c.ipynb"]
    assert (mine / "a.ipynb").read_text() == "a.ipynb v2"
    assert (mine / "b.ipynb").read_text() == "my notes in b"
    assert (mine / "c.ipynb").read_text() == "c.ipynb v1"
    assert json.loads((mine / MANIFEST).read_text())["a.ipynb"] != json.loads(
        (mine / MANIFEST).read_text())["c.ipynb"]


def test_a_damaged_manifest_only_means_edited_pages_are_kept(tmp_path):
    """If the manifest is unreadable, is nothing lost (existing pages kept, missing ones copied)?"""
    _install(tmp_path)
    course = tmp_path / COURSE_FOLDER
    (course / MANIFEST).write_text("{not json")
    (course / "home.ipynb").write_text("edited")
    (course / "intro.ipynb").unlink()
    assert _install(tmp_path) == ["intro.ipynb"]
    assert (course / "home.ipynb").read_text() == "edited"


def test_learners_servers_render_pages_with_the_course_template(tmp_path):
    """Does the learners' server config make /voila/render/ pages course apps without tracebacks?"""
    from traitlets.config.loader import PyFileConfigLoader
    from voila.configuration import VoilaConfiguration

    from se4u.apps import AUTHOR_EXTENSIONS, server_extension_config

    (tmp_path / "jupyter_server_config.py").write_text(server_extension_config())
    loaded = PyFileConfigLoader("jupyter_server_config.py", path=str(tmp_path)).load_config()
    voila = VoilaConfiguration(config=loaded)
    assert voila.template == "se4u"
    assert voila.show_tracebacks is False
    assert list(voila.extension_denylist) == list(AUTHOR_EXTENSIONS)


def test_the_hub_lets_in_the_cohort_from_the_users_file(tmp_path, capsys):
    """With a users file from `se4u cohort create`, are its learners the hub's (and a bad file named)?"""
    from se4u.service.commands import cohort_learners, run_hub

    users = tmp_path / "hub_users.json"
    users.write_text(json.dumps({"learners": [{"username": "amina", "name": "Amina K", "email": "a@x.org"},
                                              {"username": "bo", "name": "Bo L", "email": "b@x.org"}]}))
    assert cohort_learners(users) == (["amina", "bo"], True)
    assert cohort_learners(tmp_path / "none.json") == (list(hub_module.DEMO_LEARNERS), False)
    users.write_text("[1, 2")
    assert run_hub(state=tmp_path / "state", users_file=users) == 1
    assert "hub users file cannot be read" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()
