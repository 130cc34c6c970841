"""Self-assessment tests without nbgrader: the answers file, the key-free widgets and the marking."""

from __future__ import annotations

import json
import os
import threading

import pytest

from se4u import grading, marking
from se4u.assessment import (
    ANSWERS_FILE,
    MAX_ESSAY_CHARS,
    AnswersFile,
    AnswersFileError,
    ChoiceItem,
    SelfAssessment,
    essay_text,
)
from tests.widget_driver import page_sets

# --- the answers file ------------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    """Does a saved answer come back, and do other items' answers survive a later save?"""
    answers = AnswersFile(tmp_path / ANSWERS_FILE, "module3")
    answers.save("x", "q1", "test_choice", {"selected": ["o2"]})
    answers.save("x", "q2", "test_order", {"order": ["s2", "s1"]})
    assert answers.load("x", "q1").state == {"selected": ["o2"]}
    assert answers.load("x", "q2").state == {"order": ["s2", "s1"]}
    assert answers.load("x", "q3") is None
    data = json.loads((tmp_path / ANSWERS_FILE).read_text())
    assert data["assignment"] == "module3"
    assert data["format"] == "se4u-answers/1"


def test_save_is_atomic(tmp_path, monkeypatch):
    """If writing fails half way, is the previous file kept whole and no temporary file left?"""
    answers = AnswersFile(tmp_path / ANSWERS_FILE)
    answers.save("x", "q1", "test_choice", {"selected": ["o1"]})
    before = (tmp_path / ANSWERS_FILE).read_text()

    def broken_fsync(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(AnswersFileError, match="previously saved answers are kept"):
        answers.save("x", "q1", "test_choice", {"selected": ["o3"]})
    assert (tmp_path / ANSWERS_FILE).read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [ANSWERS_FILE]


def test_concurrent_saves_lose_nothing(tmp_path):
    """Do many threads saving different items at once keep every item?"""
    answers = AnswersFile(tmp_path / ANSWERS_FILE)
    threads = [threading.Thread(target=answers.save, args=("x", f"q{n}", "test_choice", {"selected": []}))
               for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers.items()) == 30


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON"),
    ('{"items": [1, 2]}', "not an SE4U answers file"),
    ("[]", "not an SE4U answers file"),
])
def test_corrupt_file_gives_a_message(tmp_path, content, message):
    """Does an unreadable answers file raise one clear message instead of a traceback?"""
    (tmp_path / ANSWERS_FILE).write_text(content)
    with pytest.raises(AnswersFileError, match=message) as caught:
        AnswersFile(tmp_path / ANSWERS_FILE).load("x", "q1")
    assert "\n" not in str(caught.value)


def test_saving_over_a_corrupt_file_keeps_it_aside(tmp_path):
    """Is a corrupt answers file kept for the instructor while new answers are saved?"""
    (tmp_path / ANSWERS_FILE).write_text("{broken")
    AnswersFile(tmp_path / ANSWERS_FILE).save("x", "q1", "test_choice", {"selected": ["o1"]})
    assert AnswersFile(tmp_path / ANSWERS_FILE).load("x", "q1").state == {"selected": ["o1"]}
    assert [p.read_text() for p in tmp_path.glob("answers.unreadable-*.json")] == ["{broken"]


# --- the key-free widgets ----------------------------------------------------------------------------


def test_choice_syncs_no_key_and_saves(tmp_path, comms):
    """Does a test question sync only texts and the selection, and save to answers.json at once?"""
    test = SelfAssessment("module3", tmp_path)
    quiz = test.single("q1", "Which one?", ["Alpha", "Beta", "Gamma"])
    quiz.open()
    state = quiz.get_state()
    assert state["options"] == [{"id": "o1", "text": "Alpha"}, {"id": "o2", "text": "Beta"},
                                {"id": "o3", "text": "Gamma"}]
    assert not {"correct", "feedback", "score", "key", "explanation"} & set(state)
    page_sets(quiz, selected=["o2"])
    assert quiz.save_status == "saved"
    assert json.loads((tmp_path / ANSWERS_FILE).read_text())["items"]["q1"]["state"] == {"selected": ["o2"]}


def test_every_item_restores_on_reopen(tmp_path, comms):
    """Does reopening a half-done test bring back every kind of answer?"""
    test = SelfAssessment("module3", tmp_path)
    widgets = [test.multiple("q1", "Which?", ["A", "B", "C"]), test.true_false("q2", "True?"),
               test.order("q3", "Order", ["one", "two", "three"]),
               test.categories("q4", "Sort", ["X", "Y"], ["a", "b"]), test.essay("essay", "Write")]
    for widget in widgets:
        widget.open()
    page_sets(widgets[0], selected=["o1", "o3"])
    page_sets(widgets[1], selected=["o2"])
    page_sets(widgets[2], order=["s3", "s1", "s2"])
    page_sets(widgets[3], placements={"i1": "c2", "i2": "c1"})
    page_sets(widgets[4], text="My <b>essay</b>")
    again = SelfAssessment("module3", tmp_path)
    assert again.multiple("q1", "Which?", ["A", "B", "C"]).selected == ["o1", "o3"]
    assert again.true_false("q2", "True?").selected == ["o2"]
    assert again.order("q3", "Order", ["one", "two", "three"]).order == ["s3", "s1", "s2"]
    assert again.categories("q4", "Sort", ["X", "Y"], ["a", "b"]).placements == {"i1": "c2", "i2": "c1"}
    assert again.essay("essay", "Write").text == "My <b>essay</b>"


def test_single_choice_keeps_one_and_ignores_unknown_ids(tmp_path, comms):
    """Does a one-answer question keep only one known option, whatever the page sends?"""
    quiz = ChoiceItem(key="q1", store=AnswersFile(tmp_path / ANSWERS_FILE), prompt="?", options=["A", "B"])
    quiz.open()
    page_sets(quiz, selected=["o1", "o9", "o2"])
    assert quiz.selected == ["o2"]


def test_order_refuses_a_list_that_is_not_the_items(tmp_path, comms):
    """Is an order that drops or invents steps refused, keeping the previous order?"""
    item = SelfAssessment("m", tmp_path).order("q1", "Order", ["a", "b", "c"])
    item.open()
    page_sets(item, order=["s3", "s1"])
    assert item.order == ["s1", "s2", "s3"]


def test_huge_essay_gives_a_message_and_keeps_the_last_save(tmp_path, comms):
    """Does a 1 MB essay get a clear 'too long' message, with the last saved version kept?"""
    essay = SelfAssessment("m", tmp_path).essay("essay", "Write")
    essay.open()
    page_sets(essay, text="A short first version.")
    page_sets(essay, text="x" * 1_000_000)
    assert "more than the" in essay.save_status
    assert AnswersFile(tmp_path / ANSWERS_FILE).load("", "essay").state["text"] == "A short first version."


def test_corrupt_answers_file_is_reported_on_the_page(tmp_path, comms):
    """Does a widget opened over a corrupt answers file say so rather than fail?"""
    (tmp_path / ANSWERS_FILE).write_text("{oops")
    quiz = SelfAssessment("m", tmp_path).single("q1", "?", ["A", "B"])
    assert "not valid JSON" in quiz.save_status


def test_essay_text_is_plain_and_capped(tmp_path):
    """Is the essay shown to the grader as plain text, cut at the limit with a note?"""
    answers = AnswersFile(tmp_path / ANSWERS_FILE)
    assert essay_text(answers, "essay") == "No essay has been saved yet."
    answers.save("", "essay", "test_essay", {"text": "y" * (MAX_ESSAY_CHARS + 5)})
    shown = essay_text(answers, "essay")
    assert shown.endswith(f"only the first {MAX_ESSAY_CHARS:,} are shown.]")


# --- marking, as in the grading kernel ------------------------------------------------------------


@pytest.fixture
def in_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return AnswersFile(tmp_path / ANSWERS_FILE)


def test_mark_choice_scores_single_and_multiple(in_folder, capsys):
    """Do choice questions score all-or-nothing for one answer and partly for several?"""
    in_folder.save("", "q1", "test_choice", {"selected": ["o2"]})
    in_folder.save("", "q2", "test_choice", {"selected": ["o1", "o2"]})
    assert marking.mark_choice("q1", correct=[2], options=4, explanation="Because.") == 1.0
    assert marking.mark_choice("q2", correct=[1, 2, 3], options=4, points=2) == pytest.approx(1.3333)
    assert capsys.readouterr().out.splitlines()[0] == "q1: 1 of 1 point. Because."


def test_mark_order_and_categories_give_partial_credit(in_folder):
    """Do ordering and categorising earn the share of pieces in the right place?"""
    in_folder.save("", "q3", "test_order", {"order": ["s2", "s1", "s3", "s4"]})
    in_folder.save("", "q4", "test_categories", {"placements": {"i1": "c1", "i2": "c1"}})
    assert marking.mark_order("q3", order=[2, 1, 4, 3], points=2) == 1.0
    assert marking.mark_categories("q4", key={1: 1, 2: 2}, points=2) == 1.0


def test_marking_without_answers_scores_zero_with_a_reason(in_folder, capsys):
    """Does a missing or corrupt answers file score 0 and say why, without an error?"""
    assert marking.mark_choice("q1", correct=[1], options=2) == 0.0
    assert "answers.json is missing" in capsys.readouterr().out
    in_folder.path.write_text("{nope")
    assert marking.mark_order("q2", order=[1, 2]) == 0.0
    assert "not valid JSON" in capsys.readouterr().out


def test_hidden_tests_are_blanked_for_feedback():
    """Does the feedback preprocessor remove the hidden marking code but keep the rest?"""
    source = ("# Leave this cell.\n### BEGIN HIDDEN TESTS\nmark_choice('q1', correct=[2])\n"
              "### END HIDDEN TESTS")
    shown = grading.hide_hidden_tests(source)
    assert "correct" not in shown
    assert shown.startswith("# Leave this cell.\n")
    assert grading.HIDDEN_NOTE in shown


def test_summary_table_has_one_line_per_learner():
    """Does the summary give each learner one line with the status, score and reason?"""
    table = grading.summary_table([
        grading.Result("amina", "graded", score=7, max_score=14, notes=["essay contains HTML"]),
        grading.Result("bo", "failed", "the notebook module3.ipynb was deleted from the submission"),
        grading.Result("cy", "skipped", "already graded (use --force to grade again)"),
    ])
    lines = table.splitlines()
    assert len(lines) == 5
    assert "7/14" in lines[1]
    assert lines[-1] == "1 graded, 1 failed, 1 skipped"


def test_metadata_check_reused_per_schema_judges_like_jsonschema():
    """Does the worker's one-validator-per-schema check accept and refuse exactly what jsonschema does?"""
    import jsonschema
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    schema = MetadataValidatorV3().schema
    checked = grading._CheckedSchemas()
    good = {"schema_version": 3, "grade": True, "solution": False, "locked": True, "points": 1,
            "grade_id": "q1", "task": False}
    bad = [dict(good, points="one"), dict(good, grade_id=7), {"schema_version": 3}]
    jsonschema.validate(good, schema)
    checked.validate(good, schema)
    for meta in bad:
        with pytest.raises(jsonschema.ValidationError) as expected:
            jsonschema.validate(meta, schema)
        with pytest.raises(jsonschema.ValidationError) as ours:
            checked.validate(meta, schema)
        assert ours.value.message == expected.value.message
    assert len(checked._validators) == 1
