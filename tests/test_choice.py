"""MultipleChoice: scoring, attempts, hints, solution, restore — driven through a recording comm."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from se4u.banks import MultipleChoiceSpec
from se4u.choice import MultipleChoice, choice_score
from tests.widget_driver import page_action, page_sets


def spec(**overrides) -> MultipleChoiceSpec:
    data = {
        "id": "q1", "type": "multiple_choice", "kind": "single", "prompt": "Which one?",
        "options": [
            {"id": "a", "text": "Alpha", "correct": True, "explanation": "EXPLAIN-A"},
            {"id": "b", "text": "Beta", "explanation": "EXPLAIN-B"},
            {"id": "c", "text": "Gamma", "explanation": "EXPLAIN-C"},
        ],
        "hints": ["HINT-1", "HINT-2"],
        "explanation": "GENERAL-EXPLANATION",
    }
    data.update(overrides)
    return MultipleChoiceSpec.model_validate(data)


def several() -> MultipleChoiceSpec:
    return spec(kind="multiple", options=[
        {"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B", "correct": True},
        {"id": "c", "text": "C"}, {"id": "d", "text": "D"}])


def make(store, comms, the_spec=None, learner="amina") -> MultipleChoice:
    widget = MultipleChoice(the_spec or spec(), key="bank/q1", learner=learner, store=store)
    widget.open()
    return widget


def test_right_answer_scores_and_locks(store, comms):
    """Does checking the right option score full marks, lock the question and explain it?"""
    quiz = make(store, comms)
    page_action(quiz, action="check", selected=quiz.page_ids("a"))
    assert quiz.feedback["verdict"] == "correct"
    assert quiz.score == 1.0
    assert quiz.locked
    assert quiz.feedback["general"] == "GENERAL-EXPLANATION"
    assert quiz.attempts == 1


def test_wrong_answer_explains_only_the_choice(store, comms):
    """Does a wrong answer show the chosen option's explanation and no other?"""
    quiz = make(store, comms)
    page_action(quiz, action="check", selected=quiz.page_ids("b"))
    assert quiz.feedback["verdict"] == "incorrect"
    assert quiz.feedback["marks"] == {quiz.page_ids("b")[0]: "wrong"}
    assert quiz.feedback["explanations"] == {quiz.page_ids("b")[0]: "EXPLAIN-B"}
    assert "EXPLAIN-A" not in json.dumps(quiz.get_state())
    assert not quiz.locked


def test_check_without_choice_is_not_an_attempt(store, comms):
    """Is an empty check answered with a prompt rather than counted?"""
    quiz = make(store, comms)
    page_action(quiz, action="check", selected=[])
    assert quiz.attempts == 0
    assert "Choose an answer" in quiz.feedback["message"]


def test_attempt_limit_reveals_solution(store, comms):
    """After the last allowed attempt, is the correct answer marked and the question locked?"""
    quiz = make(store, comms, spec(max_attempts=2))
    page_action(quiz, action="check", selected=quiz.page_ids("b"))
    assert not quiz.locked
    assert "1 attempt(s) left" in quiz.feedback["message"]
    page_action(quiz, action="check", selected=quiz.page_ids("c"))
    assert quiz.locked
    assert quiz.feedback["marks"][quiz.page_ids("a")[0]] == "missed"
    page_action(quiz, action="check", selected=quiz.page_ids("a"))
    assert quiz.attempts == 2, "a locked question takes no more attempts"


def test_solution_button_after_configured_attempts(store, comms):
    """Is 'Show solution' offered only after solution_after attempts, and does it reveal?"""
    quiz = make(store, comms, spec(solution_after=2))
    page_action(quiz, action="solution")
    assert not quiz.locked
    page_action(quiz, action="check", selected=quiz.page_ids("b"))
    assert not quiz.can_show_solution
    page_action(quiz, action="check", selected=quiz.page_ids("c"))
    assert quiz.can_show_solution
    page_action(quiz, action="solution")
    assert quiz.locked
    assert quiz.feedback["marks"][quiz.page_ids("a")[0]] == "missed"


def test_hints_are_revealed_one_by_one(store, comms):
    """Are hints synced only once asked for?"""
    quiz = make(store, comms)
    assert quiz.hints == []
    assert "HINT-1" not in json.dumps(quiz.get_state())
    page_action(quiz, action="hint")
    assert quiz.hints == ["HINT-1"]
    assert quiz.hints_left == 1
    assert "HINT-2" not in json.dumps(quiz.get_state())


def test_partial_credit_for_several_answers(store, comms):
    """Does a half-right selection of a several-answer question earn the documented share?"""
    quiz = make(store, comms, several())
    page_action(quiz, action="check", selected=quiz.page_ids("a", "c"))
    # 1/2 of the correct options, minus 1/2 of the wrong ones.
    assert quiz.score == 0.0
    page_action(quiz, action="check", selected=quiz.page_ids("a"))
    assert quiz.score == 0.5
    assert quiz.feedback["verdict"] == "partial"
    page_action(quiz, action="check", selected=quiz.page_ids("a", "b"))
    assert quiz.score == 1.0


@given(st.sets(st.sampled_from("abcd")))
def test_choice_score_bounds(selection):
    """Is a score always within 0..1, and 1 only for the exact correct set?"""
    score = choice_score(set(selection), {"a", "b"}, set("abcd"))
    assert 0.0 <= score <= 1.0
    assert (score == 1.0) == (set(selection) == {"a", "b"})


def test_restore_on_reopen(store, comms):
    """Does a new widget for the same learner come back with the selection and the feedback?"""
    quiz = make(store, comms, spec(max_attempts=3))
    page_action(quiz, action="hint")
    page_action(quiz, action="check", selected=quiz.page_ids("b"))
    again = make(store, comms, spec(max_attempts=3))
    assert again.selected == again.page_ids("b")
    assert again.attempts == 1
    assert again.feedback["verdict"] == "incorrect"
    assert again.hints == ["HINT-1"]
    other = make(store, comms, spec(max_attempts=3), learner="someone-else")
    assert other.selected == [] and other.attempts == 0


def test_unchecked_selection_is_saved(store, comms):
    """Is a choice made on the page saved before it is checked?"""
    quiz = make(store, comms)
    page_sets(quiz, selected=quiz.page_ids("c"))
    assert store.load("amina", "bank/q1").state["selected"] == ["c"]


def test_page_sees_opaque_option_ids(store, comms):
    """Are options known to the page as o1, o2… so an author's id cannot reveal the key?"""
    quiz = make(store, comms, spec(options=[
        {"id": "correct", "text": "Right", "correct": True}, {"id": "wrong", "text": "No"}]))
    assert sorted(o["id"] for o in quiz.options) == ["o1", "o2"]
    page_action(quiz, action="check", selected=quiz.page_ids("correct"))
    assert store.load("amina", "bank/q1").state["selected"] == ["correct"]


def test_page_cannot_select_unknown_options(store, comms):
    """Are unknown ids and a second choice in a one-answer question refused?"""
    quiz = make(store, comms)
    page_sets(quiz, selected=["zzz", *quiz.page_ids("b", "c")])
    assert quiz.selected == quiz.page_ids("c")


def test_tampered_store_is_recomputed(store, comms):
    """Does a hand-edited store claiming success get its feedback recomputed from the key?"""
    store.save("amina", "bank/q1", "multiple_choice",
               {"selected": ["b"], "attempts": "many", "checked": True, "feedback": {"verdict": "correct"}})
    quiz = make(store, comms)
    assert quiz.feedback["verdict"] == "incorrect"
    assert quiz.attempts == 0


def test_order_is_stable_per_learner(store, comms):
    """Is the shuffled order the same on every reopen for one learner?"""
    options = [{"id": f"o{i}", "text": f"Option {i}", "correct": i == 0} for i in range(8)]
    first = make(store, comms, spec(options=options))
    second = make(store, comms, spec(options=options))
    assert first.options == second.options
    orders = {tuple(o["text"] for o in make(store, comms, spec(options=options), learner=f"l{i}").options)
              for i in range(6)}
    assert len(orders) > 1, "different learners should see different orders"


def test_true_false_is_not_shuffled(store, comms):
    """Does a true/false question show True then False, checked against its answer?"""
    quiz = make(store, comms, spec(kind="true_false", options=[], answer=False))
    assert [o["text"] for o in quiz.options] == ["True", "False"]
    page_action(quiz, action="check", selected=quiz.page_ids("false"))
    assert quiz.feedback["verdict"] == "correct"


def test_unknown_action_is_ignored(store, comms):
    """Does an unknown or malformed message from the page change nothing?"""
    quiz = make(store, comms)
    before = quiz.get_state()
    page_action(quiz, action="__init__")
    quiz.comm.page_sends({"method": "custom", "content": "not a dict"})
    assert quiz.get_state() == before


@pytest.mark.parametrize("kind", ["single", "multiple"])
def test_store_failure_is_reported_not_raised(store, comms, kind):
    """If the store breaks mid-course, does the learner see a message and keep the answer on the page?"""
    from sqlalchemy import text

    quiz = make(store, comms, spec() if kind == "single" else several())
    page_action(quiz, action="check", selected=quiz.page_ids("c"))
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE responses"))
    page_action(quiz, action="check", selected=quiz.page_ids("b"))
    assert "could not be saved" in quiz.save_status
    assert "previously saved answer is kept" in quiz.save_status
    assert quiz.selected == quiz.page_ids("b")


def test_snapshot_is_escaped_and_gives_no_key_away(store, comms):
    """Does the HTML snapshot a course page shows before its scripts load carry the question and the
    options (escaped), but nothing of which option is right, and no explanation or hint?"""
    hostile = spec(prompt="Which <script>alert(1)</script> one?", options=[
        {"id": "a", "text": "<img src=x onerror=alert(1)>", "correct": True, "explanation": "EXPLAIN-A"},
        {"id": "b", "text": "Beta", "explanation": "EXPLAIN-B"}])
    bundle = make(store, comms, hostile)._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    snapshot = data["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert snapshot.startswith("<div class='se4u-ssr' data-se4u-ssr=")
    assert "<script" not in snapshot and "<img" not in snapshot
    assert "&lt;script&gt;" in snapshot and "&lt;img src=x onerror=alert(1)&gt;" in snapshot
    assert "EXPLAIN" not in snapshot and "HINT" not in snapshot
    # the same question with the other option correct gives the same snapshot, but for its ids
    flipped = spec(prompt=hostile.prompt, options=[
        {"id": "a", "text": "<img src=x onerror=alert(1)>", "explanation": "EXPLAIN-A"},
        {"id": "b", "text": "Beta", "correct": True, "explanation": "EXPLAIN-B"}])
    other = make(store, comms, flipped)
    data2 = other._repr_mimebundle_()
    data2 = data2[0] if isinstance(data2, tuple) else data2
    strip = lambda html: html.replace(other.model_id[:12], "ID")  # noqa: E731
    assert strip(data2["text/html"]) == data["text/html"].replace(
        snapshot.split("se4u-ssr-")[1][:12], "ID")
