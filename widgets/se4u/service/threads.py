"""The forum's threads: one per forum assignment in the activity banks (thread id = activity key)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from se4u.banks import BankError, ForumAssignmentSpec, read_bank


@dataclass(frozen=True)
class Thread:
    """A forum assignment: its key (``module3/forum-…``), title, prompt and participation rule."""

    id: str
    title: str
    prompt: str
    min_posts: int
    min_replies: int

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "title": self.title, "prompt": self.prompt, "min_posts": self.min_posts,
                "min_replies": self.min_replies}


def forum_threads(banks_dir: Path) -> dict[str, Thread]:
    """Every forum assignment in the banks folder, in file order; unreadable banks are skipped."""
    found: dict[str, Thread] = {}
    for path in sorted(Path(banks_dir).glob("*.yaml")):
        try:
            bank = read_bank(path)
        except BankError:
            continue
        for spec in bank.activities:
            if isinstance(spec, ForumAssignmentSpec):
                key = bank.key(spec.id)
                found[key] = Thread(id=key, title=spec.title or f"{bank.title}: discussion forum",
                                    prompt=spec.prompt, min_posts=spec.min_posts,
                                    min_replies=spec.min_replies)
    return found
