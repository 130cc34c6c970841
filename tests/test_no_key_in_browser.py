"""Nothing leaks: no answer key or unseen explanation is ever in the state synced to the page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from se4u.banks import MultipleChoiceSpec, read_bank
from se4u.notebook import widget_classes

BANKS = sorted((Path(__file__).resolve().parent.parent / "notebooks" / "banks").glob("*.yaml"))


def all_specs():
    """Every activity of every bank that the page shows as a widget."""
    shown = widget_classes()
    for path in BANKS:
        bank = read_bank(path)
        for spec in bank.activities:
            if spec.type in shown:
                yield pytest.param(bank, spec, id=f"{bank.bank}/{spec.id}")


def secrets_of(spec) -> list[str]:
    """Texts the page must not see before the learner has answered."""
    found = [spec.explanation] if getattr(spec, "explanation", None) else []
    found += list(getattr(spec, "hints", []))
    for option in getattr(spec, "options", []):
        if getattr(option, "explanation", None):
            found.append(option.explanation)
    return [s for s in found if s]


def synced_state(widget) -> str:
    """Every synced trait, as the page receives it."""
    return json.dumps(widget.get_state(), sort_keys=True, ensure_ascii=False)


@pytest.mark.parametrize(("bank", "spec"), list(all_specs()))
def test_no_secret_in_synced_state_before_answering(bank, spec, store, comms):
    """Walking every synced trait of every activity: is no explanation or hint there before it is earned?"""
    cls = widget_classes()[spec.type]
    widget = cls(spec, key=bank.key(spec.id), learner="leak-test", store=store)
    state = synced_state(widget)
    for secret in secrets_of(spec):
        assert secret not in state, f"{secret!r} reached the page"
    assert '"correct"' not in state


def flipped(spec: MultipleChoiceSpec) -> MultipleChoiceSpec:
    """The same question with a different key."""
    data = spec.model_dump()
    if spec.kind == "true_false":
        data["answer"] = not spec.answer
    elif spec.kind == "single":
        right = next(i for i, o in enumerate(data["options"]) if o["correct"])
        for o in data["options"]:
            o["correct"] = False
        data["options"][(right + 1) % len(data["options"])]["correct"] = True
    else:
        for o in data["options"]:
            o["correct"] = not o["correct"]
        if not any(o["correct"] for o in data["options"]):
            data["options"][0]["correct"] = True
    return MultipleChoiceSpec.model_validate(data)


CHOICES = [p for p in all_specs() if p.values[1].type == "multiple_choice"]


@pytest.mark.parametrize(("bank", "spec"), CHOICES)
def test_synced_state_does_not_depend_on_the_key(bank, spec, store, comms):
    """Does the page see exactly the same state whatever the correct answer is?"""
    from se4u.choice import MultipleChoice

    key = bank.key(spec.id)
    plain = MultipleChoice(spec.model_copy(update={"explanation": None}), key=key, learner="k",
                           store=store)
    other = MultipleChoice(flipped(spec).model_copy(update={"explanation": None}), key=key,
                           learner="k", store=store)
    def page_view(widget):
        state = widget.get_state()
        state.pop("layout")  # a reference to another widget's model, different for each widget
        return state

    assert page_view(plain) == page_view(other)
