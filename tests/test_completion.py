"""Completion rules: the rules as data, each requirement missing one at a time, the report."""

from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from se4u.cli import main
from se4u.completion import (
    AssessmentResult,
    CompletionError,
    ForumCount,
    Learner,
    LearnerRecord,
    chart_html,
    cohort_completion,
    completion_by_module,
    evaluate,
    forum_expectations,
    gradebook_results,
    load_rules,
    read_roster,
    record_from_store,
    report_table,
)
from se4u.course import load_course
from se4u.progress import NOTEBOOKS_DIR, outline

MODULES = [f"module{n}" for n in range(1, 7)]
FIXTURES = Path(__file__).parent / "fixtures" / "teams"


def complete_record(learner: str = "amina") -> LearnerRecord:
    """A learner who has done everything both kinds of cohort ask."""
    return LearnerRecord(
        learner,
        unread={p: [] for p in ["intro", *MODULES]},
        essays_missing={m: [] for m in MODULES},
        tests={m: AssessmentResult(True, 8.0, 10.0) for m in MODULES},
        forum={m: ForumCount(1, 2) for m in MODULES},
        attended={"live1": 90, "breakout1": 50, "live2": 75},
    )


# One way of missing each requirement; the value is (requirement id, change to a complete record).
MISSING_ONE = {
    "an unread section": ("readings", {"unread": {"module3": ["The Smuggling of Migrants Protocol"]}}),
    "a test not submitted": ("self_assessment",
                             {"tests": {m: AssessmentResult(True, 8, 10) for m in MODULES[:-1]}}),
    "too few forum replies": ("forum", {"forum": {**{m: ForumCount(1, 2) for m in MODULES},
                                                  "module2": ForumCount(1, 1)}}),
    "forum not recorded": ("forum", {"forum": None}),
    "an essay not submitted": ("essays", {"essays_missing": {"module5": ["essay-entry-point"]}}),
    "a session missed": ("attendance", {"attended": {"live1": 90, "live2": 75}}),
    "a session too short": ("attendance", {"attended": {"live1": 59, "breakout1": 50, "live2": 75}}),
}


@pytest.mark.parametrize("cohort", ["self_paced", "live_sessions"])
def test_rules_agree_with_course_yaml(cohort):
    """Do the rules of each cohort list exactly the requirement ids course.yaml gives that cohort?"""
    rules = load_rules(cohort)
    assert [r.id for r in rules.requirements] == [r.id for r in load_course().requirements_for(cohort)]


@pytest.mark.parametrize("cohort", ["self_paced", "live_sessions"])
def test_a_learner_who_did_everything_is_complete(cohort):
    """Is a learner with every requirement done complete, with every requirement met?"""
    result = evaluate(load_rules(cohort), complete_record())
    assert result.complete
    assert result.missing == []
    assert len(result.met_labels()) == len(load_rules(cohort).requirements)


@pytest.mark.parametrize("cohort", ["self_paced", "live_sessions"])
@pytest.mark.parametrize("case", list(MISSING_ONE))
def test_each_requirement_missing_alone_blocks_completion(cohort, case):
    """With one requirement missing, is the learner incomplete on exactly that one, and told what?"""
    rule_id, change = MISSING_ONE[case]
    rules = load_rules(cohort)
    result = evaluate(rules, dataclasses.replace(complete_record(), **change))
    if rules.rule(rule_id) is None:  # a self-paced cohort has no sessions to attend
        assert result.complete
        return
    assert not result.complete
    assert [o.id for o in result.outcomes if not o.met] == [rule_id]
    assert result.missing and all(m.text for m in result.missing)


def test_missing_items_name_the_module_and_the_item():
    """Does the list of what is missing name the module and the section, essay, forum count or session?"""
    record = dataclasses.replace(
        complete_record(), unread={"module3": ["The Firearms Protocol"]},
        essays_missing={"module5": ["My entry point"]}, forum={"module2": ForumCount(1, 0)},
        attended={"live1": 20})
    texts = [m.text for m in evaluate(load_rules("live_sessions"), record).missing]
    assert "Module 3: read “The Firearms Protocol”" in texts
    assert "Module 5: submit the essay “My entry point”" in texts
    assert "Module 2: forum 1 of 1 posts, 0 of 2 replies" in texts
    assert any("Module 1: forum 0 of 1 posts" in t for t in texts)
    assert any(t.startswith("Live session 1") and "20 of the 60 minutes" in t for t in texts)
    assert any(t.startswith("Breakout discussion 1") and "no attendance recorded" in t for t in texts)


def test_pass_mark_applies_only_where_the_cohort_sets_one():
    """Does a low score fail the live cohort's 60 % pass mark but not the self-paced one?"""
    low = dataclasses.replace(complete_record(),
                              tests={m: AssessmentResult(True, 5.0, 10.0) for m in MODULES})
    assert evaluate(load_rules("self_paced"), low).complete
    live = evaluate(load_rules("live_sessions"), low)
    assert not live.complete
    assert "below the pass mark of 60%" in live.missing[0].text


def test_awaiting_manual_marking_is_not_yet_a_pass():
    """Is a test whose essay the instructor has not marked reported as awaiting marking under a pass mark?"""
    waiting = dataclasses.replace(complete_record(), tests={
        m: AssessmentResult(True, 9.0, 13.0, needs_manual_grade=(m == "module4")) for m in MODULES})
    result = evaluate(load_rules("live_sessions"), waiting)
    assert [m.text for m in result.missing] == [
        "Module 4: self-assessment test awaiting marking by the instructor"]


def test_forum_not_recorded_is_reported_as_such():
    """When the forum has not reported anything, is the requirement 'not recorded' rather than failed?"""
    result = evaluate(load_rules("self_paced"), dataclasses.replace(complete_record(), forum=None))
    outcome = next(o for o in result.outcomes if o.id == "forum")
    assert outcome.met is None and outcome.state == "not recorded"
    assert not result.complete


def test_forum_expectations_come_from_the_banks():
    """Are the posts and replies asked for read from each module's forum assignment in its bank?"""
    assert forum_expectations(MODULES) == {m: ForumCount(1, 2) for m in MODULES}


def test_broken_rules_file_names_file_and_field(tmp_path):
    """Does a rules file with a bad field give one message naming the file and the field?"""
    (tmp_path / "self_paced.yaml").write_text(
        "schema_version: 1\ncohort: self_paced\ntitle: x\nrequirements:\n"
        "  - id: self_assessment\n    assignments: [module1]\n    pass_mark: 7\n")
    with pytest.raises(CompletionError, match=r"self_paced\.yaml: field 'requirements\.0\.self_assessment"):
        load_rules("self_paced", tmp_path)
    with pytest.raises(CompletionError, match="no completion rules for the cohort 'evening'"):
        load_rules("evening", tmp_path)


def test_rules_must_match_course_yaml(tmp_path):
    """Is a rules file that drops a requirement course.yaml lists refused?"""
    (tmp_path / "self_paced.yaml").write_text(
        "schema_version: 1\ncohort: self_paced\ntitle: x\nrequirements:\n"
        "  - id: readings\n    parts: [module1]\n")
    with pytest.raises(CompletionError, match=r"differ from course\.yaml"):
        load_rules("self_paced", tmp_path)


def read_everything(store, learner: str) -> None:
    """Save, as the notebooks would, every reading of every part as read and every essay as submitted."""
    for part in load_course().parts:
        for section in outline(NOTEBOOKS_DIR / part.notebook).sections:
            store.save(learner, section.key, "reading", {"done": True})
    for module in MODULES:
        for key in _essay_keys(module):
            store.save(learner, key, "short_essay", {"text": "…", "submitted": True})


def _essay_keys(module: str) -> list[str]:
    from se4u.completion import essay_keys

    return [key for key, _title in essay_keys([module])[module]]


def test_readings_and_essays_come_from_the_store(store):
    """Are readings and essays read from the response store and the real notebooks?"""
    rules = load_rules("self_paced")
    read_everything(store, "amina")
    section = outline(NOTEBOOKS_DIR / "module2.ipynb").sections[0]
    store.save("amina", section.key, "reading", {"done": False})
    store.save("amina", _essay_keys("module6")[0], "short_essay", {"text": "draft", "submitted": False})
    record = record_from_store(store, "amina", rules)
    result = evaluate(rules, dataclasses.replace(record, tests=complete_record().tests,
                                                 forum=complete_record().forum))
    assert [o.id for o in result.outcomes if not o.met] == ["readings", "essays"]
    assert record.unread["module2"] == [section.title]
    assert record.essays_missing["module6"]


def test_gradebook_adapter_reads_submissions(tmp_path, monkeypatch):
    """Does the gradebook adapter report a submitted test per learner, and nothing without a gradebook?"""
    from nbgrader.api import Gradebook

    assert gradebook_results(tmp_path) == {}
    # nbgrader runs the `alembic` script of the environment it is installed in
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_assignment("module1")
        gb.add_student("amina")
        gb.add_student("bola")
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        gb.add_submission("module1", "amina")
    results = gradebook_results(tmp_path)
    assert set(results) == {"amina"}
    assert results["amina"]["module1"].submitted


def test_roster_accepts_nbgrader_format_and_reports_problems(tmp_path):
    """Is nbgrader's student CSV a roster, and is a roster without ids or with a duplicate refused clearly?"""
    roster = read_roster(FIXTURES / "roster.csv")
    assert roster[0] == Learner("amina", "Amina Diallo", "amina.diallo@ngo-sahel.org")
    (tmp_path / "r.csv").write_text("name,email\nAmina,a@x\n")
    with pytest.raises(CompletionError, match="needs an 'id' column"):
        read_roster(tmp_path / "r.csv")
    (tmp_path / "r.csv").write_text("id,name\namina,A\namina,B\n")
    with pytest.raises(CompletionError, match="line 3: the learner 'amina' is listed twice"):
        read_roster(tmp_path / "r.csv")
    with pytest.raises(CompletionError, match="no such roster file"):
        read_roster(tmp_path / "missing.csv")


def test_report_table_and_chart(store):
    """Does the report show who is complete and what is missing, and the chart the share per module?"""
    read_everything(store, "amina")
    roster = [Learner("amina", "Amina Diallo"), Learner("bola", "Bola <b>Adeyemi</b>")]
    tests = {"amina": complete_record().tests}
    forum = {"amina": complete_record().forum, "bola": {}}
    completions = cohort_completion(load_rules("self_paced"), roster, store, tests=tests, forum=forum)
    table = report_table(completions, roster)
    assert table.loc["amina", "complete"] == "yes"
    assert table.loc["bola", "complete"] == "no"
    assert "Module 1: self-assessment test not submitted" in table.loc["bola", "missing"]
    shares = completion_by_module(completions)
    assert set(shares.values()) == {0.5}
    page = chart_html(shares)
    assert "<caption>Learners who completed each module</caption>" in page
    assert "<td>50%</td>" in page


def test_completion_report_command_writes_csv_and_chart(tmp_path, store, store_url, capsys):
    """Does `se4u completion report --csv` write the table and an HTML chart beside it?"""
    read_everything(store, "amina")
    forum = tmp_path / "forum.csv"
    forum.write_text("learner,module,posts,replies\n" + "".join(f"amina,{m},1,2\n" for m in MODULES))
    out = tmp_path / "report" / "completion.csv"
    code = main(["completion", "report", "--csv", str(out), "--roster", str(FIXTURES / "roster.csv"),
                 "--store", store_url, "--forum", str(forum), "--course", str(tmp_path)])
    assert code == 0
    table = pd.read_csv(out, index_col="learner")
    assert list(table.index) == ["amina", "bola", "chen", "dolores", "eitan"]
    assert table.loc["amina", "readings"] == "met"
    assert table.loc["amina", "forum"] == "met"
    assert table.loc["bola", "forum"] == "not yet met"
    assert (out.with_suffix(".html")).exists()
    assert "0 of 5 learners complete" in capsys.readouterr().out


def test_report_with_a_bad_forum_file_is_one_message(tmp_path, store_url, capsys):
    """Does a forum file with a non-number give one error line naming the line, and no traceback?"""
    forum = tmp_path / "forum.csv"
    forum.write_text("learner,module,posts,replies\namina,module1,one,2\n")
    code = main(["completion", "report", "--csv", str(tmp_path / "c.csv"), "--roster",
                 str(FIXTURES / "roster.csv"), "--store", store_url, "--forum", str(forum)])
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("error: ") and "forum.csv, line 2" in out and out.count("\n") == 1
