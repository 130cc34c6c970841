"""Survey items (Likert scale, free text, a number, a checklist) and the button that submits a survey.

Survey answers are saved as they are given and can be changed until the learner submits the survey;
after that every item of that survey is read-only, in this page and whenever it is reopened.
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar

import traitlets as t

from se4u.activity import Activity, module, stylesheet
from se4u.banks import ChecklistSpec, FreeTextSpec, LikertSpec, NumberSpec
from se4u.essay import TextAnswer

#: The survey items alive in this kernel, by bank, so that submitting locks them at once.
_open_items: dict[str, weakref.WeakSet[Activity]] = {}


def submission_key(bank: str) -> str:
    """The store key that records that a survey was submitted."""
    return f"{bank}/submitted"


class SurveyItem(t.HasTraits):
    """What every survey item shares: it is locked once its survey has been submitted."""

    locked = t.Bool(False, help="True once the survey is submitted: the answer can no longer change."
                    ).tag(sync=True)

    #: The last accepted answer. Validators return it to refuse a change: inside ipywidgets'
    #: held notifications the trait already holds the refused value when validation runs.
    _kept: Any = None

    def _keep(self, change: Any) -> None:
        self._kept = change["new"]

    def _answered(self, change: Any) -> None:
        # A refused change still notifies (old == new) once held notifications are released.
        if change["old"] != change["new"]:
            self.persist(verb="answered")

    def _join_survey(self) -> None:
        bank = self.activity_id.split("/", 1)[0]
        _open_items.setdefault(bank, weakref.WeakSet()).add(self)

    def after_restore(self) -> None:
        """Lock the item if its survey was already submitted."""
        bank = self.activity_id.split("/", 1)[0]
        store = self.store
        if store is None:
            return
        try:
            record = store.load(self._learner, submission_key(bank))
        except Exception:
            return
        self.locked = bool(record and record.state.get("submitted") is True)


class LikertItem(SurveyItem, Activity):
    """One statement and a scale of labelled points; the choice is saved as soon as it is made."""

    kind: ClassVar[str] = "likert"
    _esm = module("likert_item.js")
    _css = stylesheet("likert_item.css")

    scale = t.List(t.Unicode(), help="The labels of the points, lowest first.").tag(sync=True)
    value = t.Int(-1, help="The index of the chosen point; -1 when none is chosen.").tag(sync=True)

    def __init__(self, spec: LikertSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        super().__init__(key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
                         scale=list(spec.scale), **kwargs)
        self.restore()
        self._join_survey()
        self._kept = self.value
        self.observe(self._keep, names="value")
        self.observe(self._answered, names="value")

    @t.validate("value")
    def _valid_value(self, proposal: Any) -> int:
        value = proposal["value"]
        if self.locked or not -1 <= value < len(self.scale):
            return self.value if self._kept is None else self._kept
        return value

    def saved_state(self) -> dict[str, Any]:
        """The chosen point, as index and label."""
        label = self.scale[self.value] if self.value >= 0 else None
        return {"value": self.value, "label": label}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the chosen point."""
        value = state.get("value")
        if isinstance(value, int) and not isinstance(value, bool):
            self.value = value


class FreeTextItem(SurveyItem, TextAnswer):
    """A survey question answered in the learner's own words, saved as they type."""

    kind: ClassVar[str] = "free_text"
    _esm = module("free_text_item.js")
    _css = stylesheet("free_text_item.css")

    def __init__(self, spec: FreeTextSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        super().__init__(key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
                         max_chars=spec.max_chars, **kwargs)
        self._start_saving()
        self._join_survey()
        self._kept = self.text
        self.observe(self._keep, names="text")

    @t.validate("text")
    def _keep_when_locked(self, proposal: Any) -> str:
        return self._kept if self.locked and self._kept is not None else proposal["value"]


class NumberItem(SurveyItem, Activity):
    """A question answered with a number within limits, such as the hours spent on a module."""

    kind: ClassVar[str] = "number"
    _esm = module("number_item.js")
    _css = stylesheet("number_item.css")

    value = t.Float(None, allow_none=True, help="The number given; None until answered.").tag(sync=True)
    minimum = t.Float(0, help="The smallest number accepted.").tag(sync=True)
    maximum = t.Float(1000, help="The largest number accepted.").tag(sync=True)
    step = t.Float(0.5, help="The step of the number field.").tag(sync=True)
    unit = t.Unicode("", help="What the number counts, e.g. hours.").tag(sync=True)

    def __init__(self, spec: NumberSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        super().__init__(key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
                         minimum=spec.minimum, maximum=spec.maximum, step=spec.step, unit=spec.unit,
                         **kwargs)
        self.restore()
        self._join_survey()
        self._kept = self.value
        self.observe(self._keep, names="value")
        self.observe(self._answered, names="value")

    @t.validate("value")
    def _valid_value(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if self.locked:
            return self._kept
        if value is None:
            return None
        if not self.minimum <= value <= self.maximum:
            self.save_status = (f"Please give a number from {self.minimum:g} to {self.maximum:g}; "
                                "your last valid answer is kept.")
            return self._kept
        return float(value)

    def saved_state(self) -> dict[str, Any]:
        """The number given."""
        return {"value": self.value, "unit": self.unit}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the number, if it is still within the limits."""
        value = state.get("value")
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.value = float(value)


class ChecklistItem(SurveyItem, Activity):
    """A question where the learner ticks every option that applies; there is no right answer."""

    kind: ClassVar[str] = "checklist"
    _esm = module("checklist_item.js")
    _css = stylesheet("checklist_item.css")

    options = t.List(t.Dict(), help="[{id, text}] in the bank's order.").tag(sync=True)
    selected = t.List(t.Unicode(), help="The ids of the ticked options.").tag(sync=True)

    def __init__(self, spec: ChecklistSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        super().__init__(key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
                         options=[{"id": o.id, "text": o.text} for o in spec.options], **kwargs)
        self.restore()
        self._join_survey()
        self._kept = list(self.selected)
        self.observe(self._keep, names="selected")
        self.observe(self._answered, names="selected")

    @t.validate("selected")
    def _valid_selection(self, proposal: Any) -> list[str]:
        if self.locked:
            return list(self._kept or [])
        known = {o["id"] for o in self.options}
        return [s for s in dict.fromkeys(proposal["value"]) if s in known]

    def saved_state(self) -> dict[str, Any]:
        """The ticked options."""
        return {"selected": list(self.selected)}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the ticked options."""
        selected = state.get("selected")
        if isinstance(selected, list):
            self.selected = [str(s) for s in selected]


class SurveySubmit(Activity):
    """The button that submits a survey; afterwards its answers are read-only."""

    kind: ClassVar[str] = "survey_submission"
    actions: ClassVar[frozenset[str]] = frozenset({"submit"})
    _esm = module("survey_submit.js")
    _css = stylesheet("number_item.css")

    submitted = t.Bool(False, help="Whether the survey has been submitted.").tag(sync=True)
    answered = t.Int(0, help="How many questions of the survey have an answer.").tag(sync=True)
    total = t.Int(0, help="How many questions the survey has.").tag(sync=True)

    def __init__(self, bank: str, item_keys: list[str], *, learner: str, **kwargs: Any) -> None:
        self._bank = bank
        self._item_keys = list(item_keys)
        super().__init__(key=submission_key(bank), learner=learner, prompt="Submit the survey",
                         total=len(item_keys), **kwargs)
        self.restore()

    def after_restore(self) -> None:
        """Count the survey's answers once the learner's state is known."""
        self.count_answers()

    def count_answers(self) -> int:
        """How many of the survey's questions the learner has answered (from the store)."""
        store = self.store
        if store is None:
            return 0
        saved = {r.activity: r.state for r in store.responses_of(self._learner, f"{self._bank}/")}
        self.answered = sum(1 for key in self._item_keys if _has_answer(saved.get(key)))
        return self.answered

    def on_submit(self, _content: dict[str, Any]) -> None:
        """Submit once; lock every item of this survey open in the kernel."""
        if self.submitted:
            return
        self.count_answers()
        self.submitted = True
        if not self.persist(verb="submitted"):
            self.submitted = False
            return
        for item in list(_open_items.get(self._bank, ())):
            item.locked = True

    def saved_state(self) -> dict[str, Any]:
        """Whether it was submitted, and how complete it was."""
        return {"submitted": self.submitted, "answered": self.answered, "total": self.total}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the submission."""
        self.submitted = state.get("submitted") is True


def _has_answer(state: dict[str, Any] | None) -> bool:
    if not state:
        return False
    value = state.get("value", state.get("text", state.get("selected")))
    return value not in (None, -1, "", [])
