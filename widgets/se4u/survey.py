"""Survey items: a statement rated on a Likert scale, and a question answered in free text."""

from __future__ import annotations

from typing import Any, ClassVar

import traitlets as t

from se4u.activity import STATIC, Activity, stylesheet
from se4u.banks import FreeTextSpec, LikertSpec
from se4u.essay import TextAnswer


class LikertItem(Activity):
    """One statement and a scale of labelled points; the choice is saved as soon as it is made."""

    kind: ClassVar[str] = "likert"
    _esm = STATIC / "likert_item.js"
    _css = stylesheet("likert_item.css")

    scale = t.List(t.Unicode(), help="The labels of the points, lowest first.").tag(sync=True)
    value = t.Int(-1, help="The index of the chosen point; -1 when none is chosen.").tag(sync=True)

    def __init__(self, spec: LikertSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        super().__init__(key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
                         scale=list(spec.scale), **kwargs)
        self.restore()
        self.observe(lambda _change: self.persist(verb="answered"), names="value")

    @t.validate("value")
    def _valid_value(self, proposal: Any) -> int:
        value = proposal["value"]
        return value if -1 <= value < len(self.scale) else -1

    def saved_state(self) -> dict[str, Any]:
        """The chosen point, as index and label."""
        label = self.scale[self.value] if self.value >= 0 else None
        return {"value": self.value, "label": label}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the chosen point."""
        value = state.get("value")
        if isinstance(value, int) and not isinstance(value, bool):
            self.value = value


class FreeTextItem(TextAnswer):
    """A survey question answered in the learner's own words, saved as they type."""

    kind: ClassVar[str] = "free_text"
    _esm = STATIC / "free_text_item.js"
    _css = stylesheet("free_text_item.css")

    def __init__(self, spec: FreeTextSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        super().__init__(key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
                         max_chars=spec.max_chars, **kwargs)
        self._start_saving()
