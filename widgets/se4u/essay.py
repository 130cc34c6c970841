"""ShortEssay: a text area with a live word count, a rubric, autosave and restore."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import traitlets as t

from se4u.activity import Activity, module, stylesheet
from se4u.banks import ShortEssaySpec

#: The hard limit on what one essay may hold, whatever its word limits.
MAX_ESSAY_CHARS = 30_000


def count_words(text: str) -> int:
    """Words as the page counts them: runs of non-space characters."""
    return len(text.split())


def clean_text(text: str) -> str:
    """The text as stored: NUL characters (which some databases refuse) removed."""
    return text.replace("\x00", "")


class TextAnswer(Activity):
    """Shared by activities whose answer is text typed by the learner, saved as they type."""

    text = t.Unicode("", help="What the learner has written (shown in a text area, never as HTML)."
                     ).tag(sync=True)
    max_chars = t.Int(MAX_ESSAY_CHARS, help="The most characters saved.").tag(sync=True)
    saved_at = t.Unicode("", help="When the text was last saved (ISO 8601, UTC).").tag(sync=True)

    def _start_saving(self) -> None:
        self.restore()
        self.observe(self._on_text, names="text")

    def _on_text(self, _change: Any) -> None:
        if len(self.text) > self.max_chars:
            self.save_status = (f"Your text is longer than {self.max_chars:,} characters, so this "
                                "version was not saved. Shorten it; your last saved version is kept.")
            return
        self.text_changed()
        if self.persist(verb="drafted"):
            self.saved_at = _stamp()

    def text_changed(self) -> None:
        """Hook for subclasses: the text changed and is about to be saved."""

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the saved text (anything that is not text is ignored)."""
        value = state.get("text")
        if isinstance(value, str):
            self.text = clean_text(value)[: self.max_chars]
        stamp = state.get("saved_at")
        self.saved_at = stamp if isinstance(stamp, str) else ""

    def saved_state(self) -> dict[str, Any]:
        """The text and when it was saved."""
        return {"text": clean_text(self.text), "saved_at": _stamp()}


def _stamp() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class ShortEssay(TextAnswer):
    """A short essay: word limits, a rubric shown to the learner, autosave, and submission."""

    kind: ClassVar[str] = "short_essay"
    actions: ClassVar[frozenset[str]] = frozenset({"submit"})
    _esm = module("short_essay.js")
    _css = stylesheet("short_essay.css")

    min_words = t.Int(0, help="Fewest words for a submission.").tag(sync=True)
    max_words = t.Int(500, help="Most words for a submission.").tag(sync=True)
    rubric = t.List(t.Dict(), help="[{criterion, description, points}] shown to the learner."
                    ).tag(sync=True)
    word_count = t.Int(0, help="Words in the text, counted in Python.").tag(sync=True)
    submitted = t.Bool(False, help="Whether this version of the essay was submitted.").tag(sync=True)
    message = t.Unicode("", help="What the last submission attempt said.").tag(sync=True)

    def __init__(self, spec: ShortEssaySpec, *, key: str, learner: str, **kwargs: Any) -> None:
        self._spec = spec
        super().__init__(
            key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
            min_words=spec.min_words, max_words=spec.max_words,
            rubric=[r.model_dump() for r in spec.rubric], **kwargs,
        )
        self._start_saving()

    def text_changed(self) -> None:
        """A new version is a draft until it is submitted again."""
        self.word_count = count_words(self.text)
        self.submitted = False
        self.message = ""

    def on_submit(self, content: dict[str, Any]) -> None:
        """Submit the essay if its length is within the limits; otherwise say what is wrong."""
        if isinstance(content.get("text"), str) and content["text"] != self.text:
            self.text = content["text"]
        if len(self.text) > self.max_chars:
            return
        words = count_words(self.text)
        if words < self.min_words:
            self.message = f"Your essay has {words} words; write at least {self.min_words} to submit."
            return
        if words > self.max_words:
            self.message = f"Your essay has {words} words; shorten it to {self.max_words} to submit."
            return
        self.submitted = True
        if self.persist(verb="submitted"):
            self.saved_at = _stamp()
            self.message = f"Submitted ({words} words). You can still edit and submit again."
        else:
            self.submitted = False

    def saved_state(self) -> dict[str, Any]:
        """Text, save time and whether it was submitted."""
        return {**super().saved_state(), "submitted": self.submitted}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the text and its submission flag."""
        super().apply_saved(state)
        self.word_count = count_words(self.text)
        self.submitted = state.get("submitted") is True
