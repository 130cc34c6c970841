"""MarkAsRead: the control at the end of a reading section that records it as read."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import traitlets as t

from se4u.activity import STATIC, Activity, stylesheet


class MarkAsRead(Activity):
    """A toggle button: pressed once the learner has read the section; saved at once."""

    kind: ClassVar[str] = "reading"
    actions: ClassVar[frozenset[str]] = frozenset({"toggle"})
    _esm = STATIC / "mark_as_read.js"
    _css = stylesheet("mark_as_read.css")

    done = t.Bool(False, help="Whether the learner marked the section as read.").tag(sync=True)
    minutes = t.Int(0, help="The planned reading time of the section, in minutes.").tag(sync=True)

    def __init__(self, *, part: str, section: str, learner: str, title: str = "",
                 minutes: int = 0, **kwargs: Any) -> None:
        for name, value in (("part", part), ("section", section)):
            if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", value):
                raise ValueError(f"{name} {value!r} must be lower-case letters, digits, - and _")
        super().__init__(key=f"{part}/read:{section}", learner=learner, title=title,
                         prompt=title or section, minutes=minutes, **kwargs)
        self.restore()

    def on_toggle(self, content: dict[str, Any]) -> None:
        """Mark (or unmark) the section as read and save it."""
        wanted = content.get("done")
        self.done = bool(wanted) if isinstance(wanted, bool) else not self.done
        self.persist(verb="read" if self.done else "unread")

    def saved_state(self) -> dict[str, Any]:
        """Whether the section is read."""
        return {"done": self.done}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the read mark."""
        self.done = state.get("done") is True

    def score_for_store(self) -> float:
        """1 when read, so progress can be summed like scores."""
        return 1.0 if self.done else 0.0

    def max_score_for_store(self) -> float:
        """A section counts once."""
        return 1.0
