"""The base of every course activity: an anywidget that checks in Python and saves to the store."""

from __future__ import annotations

import logging
import os
import weakref
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import traitlets as t

from se4u import records
from se4u.store import ResponseStore, StoreError, default_store

STATIC = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


#: Activities created in a preheated kernel before any learner asked for the page.
_deferred: list[weakref.ref[Activity]] = []
_learner_here = False


def preheating() -> bool:
    """True in a Voilà kernel prepared in advance, until the learner's request arrives."""
    return os.environ.get("VOILA_PREHEAT") == "True" and not _learner_here


def learner_arrived() -> None:
    """Wait for the learner's request (preheated kernels only), then restore every activity.

    A preheated kernel runs the whole page in advance, so the learner's browser receives every
    activity at once; their saved answers are loaded here, at the end, for that learner and that
    moment. Outside a preheated kernel activities restore as they are created, and this returns.
    """
    global _learner_here
    if not preheating():
        return
    from se4u.apps import wait_for_learner

    wait_for_learner()
    _learner_here = True
    waiting = [ref() for ref in _deferred]
    _deferred.clear()
    for activity in waiting:
        if activity is not None:
            activity.restore()


def module(name: str) -> str:
    """One widget's ES module, preceded by the shared DOM helper (anywidget modules cannot import files)."""
    return (STATIC / "dom.js").read_text(encoding="utf-8") + "\n" + (STATIC / name).read_text(
        encoding="utf-8")


def stylesheet(name: str) -> str:
    """The shared activity styles followed by one widget's own stylesheet."""
    return (STATIC / "activity.css").read_text(encoding="utf-8") + (STATIC / name).read_text(
        encoding="utf-8")


class Activity(anywidget.AnyWidget):
    """Shared plumbing: identity, the store, actions sent by the page, and save status.

    Subclasses sync only what the page needs to show; keys and explanations stay in attributes
    that are not traits. The page sends actions with ``model.send({action: ...})``; a subclass
    handles them in ``on_<action>`` methods.
    """

    kind: ClassVar[str] = "activity"

    activity_id = t.Unicode(help="The activity's key in the store: bank/activity.").tag(sync=True)
    title = t.Unicode("", help="An optional heading shown above the activity.").tag(sync=True)
    prompt = t.Unicode(help="The question or instruction (plain text, shown escaped).").tag(sync=True)
    save_status = t.Unicode("", help="What the page says about saving: '', 'saved', or a problem."
                            ).tag(sync=True)

    def __init__(self, *, key: str, learner: str, store: ResponseStore | None = None,
                 **kwargs: Any) -> None:
        super().__init__(activity_id=key, **kwargs)
        self._learner = learner
        self._store = store
        self.on_msg(self._on_page_message)

    # --- the store --------------------------------------------------------------------------
    @property
    def store(self) -> ResponseStore | None:
        """The store this activity saves to (opened on first use); None if it cannot be opened."""
        if self._store is None:
            try:
                self._store = default_store()
            except StoreError as exc:
                self.save_status = f"Your answers cannot be saved on this computer: {exc}"
                return None
        return self._store

    _restoring = False

    def restore(self) -> None:
        """Load the learner's saved state, if any, into the widget (later, in a preheated kernel)."""
        if preheating():
            _deferred.append(weakref.ref(self))
            return
        store = self.store
        if store is None:
            return
        self._restoring = True
        try:
            try:
                saved = store.load(self._learner, self.activity_id)
            except StoreError as exc:
                self.save_status = str(exc)
                return
            if saved is not None:
                self.apply_saved(saved.state)
            self.after_restore()
        finally:
            self._restoring = False

    def after_restore(self) -> None:
        """Hook for subclasses: what else to read once the learner's answers are restored."""

    def persist(self, *, verb: str = "saved") -> bool:
        """Save the current state; on failure say so on the page and keep what was saved before."""
        if self._restoring:
            return True  # restoring what is already saved
        store = self.store
        if store is None:
            return False
        try:
            store.save(self._learner, self.activity_id, self.kind, self.saved_state(),
                       score=self.score_for_store(), max_score=self.max_score_for_store(),
                       attempts=self.attempts_for_store(), verb=verb)
        except StoreError as exc:
            self.save_status = str(exc)
            return False
        self.save_status = "saved"
        records.record_activity_save(self, verb)
        return True

    # --- what subclasses provide --------------------------------------------------------------
    def saved_state(self) -> dict[str, Any]:
        """The learner's state as stored (never the key)."""
        raise NotImplementedError

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore a stored state; unknown or malformed parts are ignored, not fatal."""
        raise NotImplementedError

    def score_for_store(self) -> float | None:
        """The score to record (None for ungraded activities)."""
        return None

    def max_score_for_store(self) -> float | None:
        """The most the activity can score (None for ungraded activities)."""
        return None

    def attempts_for_store(self) -> int:
        """How many times the learner has checked an answer."""
        return 0

    # --- messages from the page ---------------------------------------------------------------
    def _on_page_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or not isinstance(content.get("action"), str):
            return
        handler = getattr(self, f"on_{content['action']}", None)
        if handler is None or content["action"] not in self.actions:
            return
        try:
            handler(content)
        except Exception:  # a bad message must never break the page
            log.exception("activity %s could not handle %r", self.activity_id, content["action"])
            self.save_status = "Something went wrong with that action; please try again."

    actions: ClassVar[frozenset[str]] = frozenset()


class GradedActivity(Activity):
    """What checked activities share: attempts, feedback, locking, the solution button, points.

    A subclass names the trait holding the learner's answer (``answer_trait``), turns what the page
    sends into a clean answer (``answer_from_page``) and computes the verdict in ``_evaluate``.
    """

    answer_trait: ClassVar[str] = ""
    empty_answer_message: ClassVar[str] = "Give an answer first, then check it."
    answer_verb: ClassVar[str] = "answered"

    attempts = t.Int(0, help="How many answers have been checked.").tag(sync=True)
    max_attempts = t.Int(0, help="0 for unlimited attempts.").tag(sync=True)
    feedback = t.Dict(help="Verdict, message, marks and explanations of the checked answer."
                      ).tag(sync=True)
    locked = t.Bool(False, help="True once solved, out of attempts or the solution is shown."
                    ).tag(sync=True)
    can_show_solution = t.Bool(False, help="Whether the 'Show solution' button is offered."
                               ).tag(sync=True)
    score = t.Float(0.0, help="The fraction of the points of the last checked answer.").tag(sync=True)
    points = t.Float(1.0, help="What the activity is worth.").tag(sync=True)

    _checked = False
    _revealed = False

    def _watch_answer(self) -> None:
        self.observe(self._answer_changed, names=self.answer_trait)

    def _answer_changed(self, _change: Any) -> None:
        if self.locked:
            return
        if self._checked:
            self._checked = False
            self.feedback = {}
        self.persist(verb=self.answer_verb)

    def answer_from_page(self, value: Any) -> Any:
        """The answer as sent with a Check message, or None if it is not of the right shape."""
        return value

    def on_check(self, content: dict[str, Any]) -> None:
        """Check the learner's answer (the answer may come with the message)."""
        if self.locked:
            return
        sent = self.answer_from_page(content.get(self.answer_trait))
        if sent is not None:
            self.unobserve(self._answer_changed, names=self.answer_trait)
            try:
                setattr(self, self.answer_trait, sent)
            finally:
                self._watch_answer()
        if not getattr(self, self.answer_trait):
            self.feedback = {"verdict": "", "message": self.empty_answer_message}
            return
        self.attempts += 1
        self._checked = True
        self._evaluate()
        self.persist(verb="checked")

    def on_retry(self, _content: dict[str, Any]) -> None:
        """Clear the answer for another try (not after the solution or out of attempts)."""
        if self.locked:
            return
        self._checked = False
        self.feedback = {}
        setattr(self, self.answer_trait, type(getattr(self, self.answer_trait))())

    def _evaluate(self) -> None:
        raise NotImplementedError

    def _solution_allowed(self) -> bool:
        after = self._spec.solution_after
        return after is not None and self.attempts >= after

    def _out_of_attempts(self) -> bool:
        return self.max_attempts > 0 and self.attempts >= self.max_attempts

    def score_for_store(self) -> float:
        """Points earned by the last checked answer."""
        return self.score * self.points

    def max_score_for_store(self) -> float:
        """The activity's points."""
        return self.points

    def attempts_for_store(self) -> int:
        """Checked attempts."""
        return self.attempts
