"""MultipleChoice: one answer, several answers or true/false, checked in Python.

Scoring (``score`` is a fraction of the question's points):

* one answer and true/false: 1 if the chosen option is correct, else 0;
* several answers: with C the correct options, W the wrong ones and S the learner's choice,
  ``max(0, |S ∩ C| / |C| − |S ∩ W| / |W|)`` (the second term is 0 when there are no wrong
  options). Every right choice earns a share, every wrong one takes a share back, and only the
  exact set of correct options scores 1.
"""

from __future__ import annotations

import html
import random
from typing import Any, ClassVar

import traitlets as t

from se4u.activity import GradedActivity, module, stylesheet
from se4u.banks import ChoiceOption, MultipleChoiceSpec


def stable_order(items: list[Any], seed: str) -> list[Any]:
    """The items in an order fixed for one learner and activity (the same on every reopen)."""
    shuffled = list(items)
    random.Random(seed).shuffle(shuffled)  # noqa: S311 - an order, not a secret
    return shuffled


def choice_score(selected: set[str], correct: set[str], all_ids: set[str]) -> float:
    """The fraction of the points earned by a selection (see the module's docstring)."""
    if not selected:
        return 0.0
    wrong = all_ids - correct
    gained = len(selected & correct) / len(correct)
    lost = len(selected & wrong) / len(wrong) if wrong else 0.0
    return round(max(0.0, gained - lost), 6)


class MultipleChoice(GradedActivity):
    """A multiple-choice question with hints, explanations, attempts and a solution.

    Only the options' texts (under opaque ids ``o1``, ``o2``… in display order, so an author's
    id such as ``correct`` cannot give the answer away), the learner's selection and the feedback
    for what the learner chose are synced to the page; which options are correct stays in Python.
    """

    kind: ClassVar[str] = "multiple_choice"
    actions: ClassVar[frozenset[str]] = frozenset({"check", "hint", "solution", "retry"})
    answer_trait: ClassVar[str] = "selected"
    empty_answer_message: ClassVar[str] = "Choose an answer first, then check it."
    answer_verb: ClassVar[str] = "selected"
    _esm = module("multiple_choice.js")
    _css = stylesheet("multiple_choice.css")

    mode = t.Unicode("single", help="single, multiple or true_false.").tag(sync=True)
    options = t.List(t.Dict(), help="[{id, text}] in this learner's order; no key.").tag(sync=True)
    selected = t.List(t.Unicode(), help="The ids the learner has chosen.").tag(sync=True)
    hints = t.List(t.Unicode(), help="The hints revealed so far.").tag(sync=True)
    hints_left = t.Int(0, help="How many hints are still hidden.").tag(sync=True)

    def __init__(self, spec: MultipleChoiceSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        self._spec = spec
        self._choices: dict[str, ChoiceOption] = {o.id: o for o in spec.choices}
        self._correct = {o.id for o in spec.choices if o.correct}
        self._checked = False
        self._revealed = False
        self._hints_shown = 0
        order = list(spec.choices)
        if spec.shuffle and spec.kind != "true_false":
            order = stable_order(order, f"{learner}:{key}")
        # The page knows options only by their place in its own order.
        self._to_page = {o.id: f"o{n}" for n, o in enumerate(order, start=1)}
        self._from_page = {page: real for real, page in self._to_page.items()}
        self._choices = {self._to_page[i]: o for i, o in self._choices.items()}
        self._correct = {self._to_page[i] for i in self._correct}
        super().__init__(
            key=key, learner=learner, title=spec.title or "", prompt=spec.prompt, mode=spec.kind,
            options=[{"id": self._to_page[o.id], "text": o.text} for o in order],
            max_attempts=spec.max_attempts, hints_left=len(spec.hints), points=spec.points,
            **kwargs,
        )
        self.restore()
        self._watch_answer()

    # --- a snapshot the page shows before its scripts have loaded --------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, plus an HTML snapshot of the question the course page shows (and lets the
        learner answer) while its scripts load; the widget adopts the choice. No key is in it."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict) and "application/vnd.jupyter.widget-view+json" in data:
            data["text/html"] = self.snapshot_html()
        return bundle

    def snapshot_html(self) -> str:
        """The question as plain HTML form controls: what the page shows before the widget is live."""
        uid = f"se4u-ssr-{self.model_id[:12] if self.model_id else id(self)}"
        kind = "checkbox" if self.mode == "multiple" else "radio"
        how = ("Choose all the answers that apply" if kind == "checkbox" else "Choose one answer") + \
            "; Check works as soon as the page has finished loading."
        options = "".join(
            f"<li><label class='se4u-ssr-option'><input type='{kind}' name='{uid}' "
            f"value='{html.escape(o['id'], quote=True)}' aria-describedby='{uid}-how'> "
            f"<span>{html.escape(o['text'])}</span></label></li>" for o in self.options)
        title = f"<h3 class='se4u-ssr-title'>{html.escape(self.title)}</h3>" if self.title else ""
        return (f"<div class='se4u-ssr' data-se4u-ssr='multiple_choice'>"
                f"<section aria-labelledby='{uid}-legend'>{title}<fieldset>"
                f"<legend id='{uid}-legend'>{html.escape(self.prompt)}</legend>"
                f"<p class='se4u-ssr-how' id='{uid}-how'>{how}</p>"
                f"<ul role='list'>{options}</ul></fieldset>"
                f"<p><button type='button' disabled>Check</button> "
                f"<span class='se4u-ssr-how'>Loading…</span></p></section></div>")

    def page_ids(self, *option_ids: str) -> list[str]:
        """The ids the page knows these bank options by (for tests and tools)."""
        return [self._to_page[i] for i in option_ids]

    # --- validation of what the page sends ------------------------------------------------------
    @t.validate("selected")
    def _valid_selection(self, proposal: Any) -> list[str]:
        chosen = [c for c in dict.fromkeys(proposal["value"]) if c in self._choices]
        if self.mode != "multiple":
            chosen = chosen[-1:]
        return chosen

    def answer_from_page(self, value: Any) -> list[str] | None:
        """The selection sent with a Check message."""
        return [str(v) for v in value][:20] if isinstance(value, list) else None

    # --- actions -------------------------------------------------------------------------------
    def on_hint(self, _content: dict[str, Any]) -> None:
        """Reveal the next hint."""
        if self._hints_shown < len(self._spec.hints):
            self._hints_shown += 1
            self._show_hints()
            self.persist(verb="hinted")

    def on_solution(self, _content: dict[str, Any]) -> None:
        """Show the solution, when the bank allows it after enough attempts."""
        if self._solution_allowed() or self._out_of_attempts():
            self._revealed = True
            self._evaluate()
            self.persist(verb="revealed")

    # --- verdicts ------------------------------------------------------------------------------
    def _evaluate(self) -> None:
        chosen = set(self.selected)
        score = choice_score(chosen, self._correct, set(self._choices)) if self._checked else 0.0
        solved = self._checked and score == 1.0
        exhausted = self._out_of_attempts() and not solved
        reveal = self._revealed or exhausted
        shown = set(self._choices) if (solved or reveal) else chosen
        marks = {}
        for option_id in shown:
            if option_id in chosen:
                marks[option_id] = "right" if option_id in self._correct else "wrong"
            elif option_id in self._correct:
                marks[option_id] = "missed"
        explanations = {i: self._choices[i].explanation for i in shown if self._choices[i].explanation}
        if solved:
            verdict, message = "correct", "Correct."
        elif not self._checked:
            verdict, message = "", ""
        elif score > 0:
            verdict = "partial"
            message = f"Partly right: {round(score * 100)}% of the points. Some choices are not right."
        else:
            verdict, message = "incorrect", "Not quite."
        if reveal:
            message = (message + " " if message else "") + "The correct answer is now marked."
        elif verdict in {"partial", "incorrect"}:
            left = (f" {self.max_attempts - self.attempts} attempt(s) left."
                    if self.max_attempts else "")
            message += " Read the explanations and try again." + left
        self.score = score
        self.locked = solved or reveal
        self.can_show_solution = not self.locked and self._solution_allowed()
        self.feedback = {
            "verdict": verdict,
            "message": message.strip(),
            "score": score,
            "marks": marks,
            "explanations": explanations,
            "general": (self._spec.explanation or "") if (solved or reveal) else "",
        }

    def _show_hints(self) -> None:
        self.hints = list(self._spec.hints[: self._hints_shown])
        self.hints_left = len(self._spec.hints) - self._hints_shown

    # --- the store -----------------------------------------------------------------------------
    def saved_state(self) -> dict[str, Any]:
        """Selection, attempts and progress; never the key."""
        return {"selected": [self._from_page[i] for i in self.selected], "attempts": self.attempts,
                "checked": self._checked, "revealed": self._revealed,
                "hints_shown": self._hints_shown}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the selection and recompute the feedback from the key (never trust stored feedback)."""
        selected = state.get("selected")
        real = [str(s) for s in selected] if isinstance(selected, list) else []
        self.selected = [self._to_page[i] for i in real if i in self._to_page]
        attempts = state.get("attempts")
        self.attempts = attempts if isinstance(attempts, int) and 0 <= attempts <= 10_000 else 0
        self._checked = bool(state.get("checked")) and bool(self.selected)
        self._revealed = bool(state.get("revealed"))
        hints = state.get("hints_shown")
        self._hints_shown = min(hints, len(self._spec.hints)) if isinstance(hints, int) and hints > 0 else 0
        self._show_hints()
        if self._checked or self._revealed or self._out_of_attempts():
            self._evaluate()
