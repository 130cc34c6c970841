"""ShortEssay, LikertItem, FreeTextItem and MarkAsRead: autosave, limits, submission and restore."""

from __future__ import annotations

from se4u.banks import FreeTextSpec, LikertSpec, ShortEssaySpec
from se4u.essay import MAX_ESSAY_CHARS, ShortEssay, count_words
from se4u.reading import MarkAsRead
from se4u.survey import FreeTextItem, LikertItem
from tests.widget_driver import page_action, page_sets

ESSAY = ShortEssaySpec.model_validate({
    "id": "e1", "type": "short_essay", "prompt": "Why engage?", "min_words": 5, "max_words": 12,
    "rubric": [{"criterion": "Clarity", "description": "Easy to follow", "points": 2}]})


def essay(store, learner="amina") -> ShortEssay:
    widget = ShortEssay(ESSAY, key="m1/e1", learner=learner, store=store)
    widget.open()
    return widget


def test_typing_is_saved_and_restored(store, comms):
    """Is text typed on the page saved and back in a new widget, with its word count?"""
    first = essay(store)
    page_sets(first, text="Civil society can monitor implementation.")
    assert first.word_count == 5
    assert first.saved_at
    again = essay(store)
    assert again.text == "Civil society can monitor implementation."
    assert again.word_count == 5
    assert essay(store, learner="bilal").text == ""


def test_word_limits_on_submit(store, comms):
    """Are too short and too long essays refused with the count, and a good one submitted?"""
    widget = essay(store)
    page_action(widget, action="submit", text="Too short.")
    assert "has 2 words; write at least 5" in widget.message
    assert not widget.submitted
    page_action(widget, action="submit", text="word " * 13)
    assert "shorten it to 12" in widget.message
    page_action(widget, action="submit", text="NGOs can add evidence from the field.")
    assert widget.submitted
    assert store.load("amina", "m1/e1").state["submitted"] is True
    page_sets(widget, text="NGOs can add evidence from the field, edited.")
    assert not widget.submitted, "an edit after submission is a new draft"


def test_oversized_essay_keeps_last_saved_version(store, comms):
    """Is an essay over the character limit refused with a message, keeping what was saved?"""
    widget = essay(store)
    page_sets(widget, text="A first version.")
    page_sets(widget, text="x" * (MAX_ESSAY_CHARS + 1))
    assert "was not saved" in widget.save_status
    assert store.load("amina", "m1/e1").state["text"] == "A first version."


def test_hostile_text_is_stored_as_text(store, comms):
    """Is markup in an essay stored verbatim (shown later as text, never run)?"""
    widget = essay(store)
    hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>\x00"
    page_sets(widget, text=hostile)
    assert store.load("amina", "m1/e1").state["text"] == hostile.replace("\x00", "")


def test_word_count_matches_the_page():
    """Does Python count words as the page does (runs of non-space characters)?"""
    assert count_words("  one\ttwo\nthree  ") == 3
    assert count_words("") == 0
    assert count_words("l'État — ça va") == 4


def test_rubric_is_synced_for_the_learner(store, comms):
    """Is the rubric (not secret) shown to the learner?"""
    widget = essay(store)
    assert widget.get_state()["rubric"] == [
        {"criterion": "Clarity", "description": "Easy to follow", "points": 2.0}]


def test_likert_saves_and_restores(store, comms):
    """Is a Likert choice saved at once, out-of-range values refused, and restored?"""
    spec = LikertSpec.model_validate({"id": "l1", "type": "likert", "prompt": "Useful?"})
    widget = LikertItem(spec, key="s/l1", learner="amina", store=store)
    widget.open()
    page_sets(widget, value=3)
    assert store.load("amina", "s/l1").state == {"value": 3, "label": "Agree"}
    page_sets(widget, value=42)
    assert widget.value == 3, "an out-of-range value keeps the last valid answer"
    again = LikertItem(spec, key="s/l1", learner="amina", store=store)
    assert again.value == 3


def test_free_text_respects_its_limit(store, comms):
    """Is a free-text answer saved, and one over its limit refused?"""
    spec = FreeTextSpec.model_validate({"id": "f1", "type": "free_text", "prompt": "Comments?",
                                        "max_chars": 20})
    widget = FreeTextItem(spec, key="s/f1", learner="amina", store=store)
    widget.open()
    page_sets(widget, text="Great course")
    page_sets(widget, text="x" * 21)
    assert store.load("amina", "s/f1").state["text"] == "Great course"
    assert "longer than 20 characters" in widget.save_status


def test_mark_as_read_toggles_and_restores(store, comms):
    """Is a section marked as read saved under part/read:section and restored?"""
    widget = MarkAsRead(part="module1", section="sdg-16", learner="amina", title="SDG 16",
                        store=store)
    widget.open()
    page_action(widget, action="toggle", done=True)
    saved = store.load("amina", "module1/read:sdg-16")
    assert saved.state == {"done": True} and saved.score == 1.0
    assert MarkAsRead(part="module1", section="sdg-16", learner="amina", store=store).done
    page_action(widget, action="toggle", done=False)
    assert not MarkAsRead(part="module1", section="sdg-16", learner="amina", store=store).done


def survey_items(store, learner="amina"):
    from se4u.banks import ChecklistSpec, NumberSpec
    from se4u.survey import ChecklistItem, NumberItem

    likert = LikertItem(LikertSpec.model_validate({"id": "l1", "type": "likert", "prompt": "Useful?"}),
                        key="exit_survey/l1", learner=learner, store=store)
    hours = NumberItem(NumberSpec.model_validate({"id": "h1", "type": "number", "prompt": "Hours?",
                                                  "maximum": 100, "unit": "hours"}),
                       key="exit_survey/h1", learner=learner, store=store)
    tools = ChecklistItem(ChecklistSpec.model_validate({
        "id": "t1", "type": "checklist", "prompt": "Which?",
        "options": [{"id": "sherloc", "text": "SHERLOC"}, {"id": "e4j", "text": "E4J"}]}),
        key="exit_survey/t1", learner=learner, store=store)
    text = FreeTextItem(FreeTextSpec.model_validate({"id": "f1", "type": "free_text", "prompt": "Other?"}),
                        key="exit_survey/f1", learner=learner, store=store)
    for widget in (likert, hours, tools, text):
        widget.open()
    return likert, hours, tools, text


def test_number_and_checklist_items(store, comms):
    """Are numbers outside the limits and unknown options refused, and valid answers saved?"""
    _likert, hours, tools, _text = survey_items(store)
    page_sets(hours, value=2.5)
    page_sets(hours, value=500)
    assert hours.value == 2.5
    assert "from 0 to 100" in hours.save_status
    page_sets(tools, selected=["e4j", "nope", "e4j"])
    assert store.load("amina", "exit_survey/t1").state == {"selected": ["e4j"]}
    assert store.load("amina", "exit_survey/h1").state["value"] == 2.5


def test_survey_can_be_edited_until_submitted_then_locked(store, comms):
    """Can answers change before submission, and are they locked after it, also on reopen?"""
    from se4u.survey import SurveySubmit

    likert, hours, tools, text = survey_items(store)
    page_sets(likert, value=1)
    page_sets(likert, value=4)
    page_sets(text, text="Very practical.")
    submit = SurveySubmit("exit_survey", [w.activity_id for w in (likert, hours, tools, text)],
                          learner="amina", store=store)
    submit.open()
    page_action(submit, action="submit")
    assert submit.submitted
    assert submit.answered == 2 and submit.total == 4
    assert all(w.locked for w in (likert, hours, tools, text))
    page_sets(likert, value=0)
    page_sets(text, text="Changed my mind.")
    assert store.load("amina", "exit_survey/l1").state["value"] == 4
    assert store.load("amina", "exit_survey/f1").state["text"] == "Very practical."
    again = survey_items(store)
    assert all(w.locked for w in again)
    assert not any(w.locked for w in survey_items(store, learner="bilal"))
