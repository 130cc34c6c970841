"""Marking a self-assessment test in the grading kernel: the hidden test cells call these with the key.

Each function reads the learner's ``answers.json`` beside the notebook, prints one line (the result
and the explanation) and returns the points earned; the cell's last expression is that float, which
nbgrader takes as partial credit. This module imports nothing of nbgrader or nbconvert, so a
grading kernel starts it in a few milliseconds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from se4u.assessment import ANSWERS_FILE, AnswersFile, AnswersFileError


def _saved(item: str) -> tuple[dict[str, Any] | None, str]:
    """The learner's saved state of one item, or None and the reason there is none."""
    path = Path.cwd() / ANSWERS_FILE
    if not path.exists():
        return None, f"no answer was saved ({ANSWERS_FILE} is missing from the submission)"
    try:
        saved = AnswersFile(path).load("", item)
    except AnswersFileError as exc:
        return None, f"no answer can be read ({exc})"
    if saved is None:
        return None, "no answer was saved"
    return saved.state, ""


def _report(item: str, earned: float, points: float, explanation: str, problem: str = "") -> float:
    earned = round(min(max(earned, 0.0), points), 4)
    pts = "point" if points == 1 else "points"
    head = f"{item}: {earned:g} of {points:g} {pts}"
    if problem:
        head += f" ({problem})"
    print(f"{head}. {explanation}".strip())
    return earned


def mark_choice(item: str, correct: list[int], options: int, points: float = 1.0,
                explanation: str = "") -> float:
    """Points for a choice question; ``correct`` holds the right options' numbers (1-based).

    One answer and true/false: all or nothing. Several answers: the course's partial credit
    (:func:`se4u.choice.choice_score`): right choices earn a share, wrong ones take a share back.
    """
    from se4u.choice import choice_score

    state, problem = _saved(item)
    if state is None:
        return _report(item, 0.0, points, explanation, problem)
    raw = state.get("selected")
    selected = {str(s) for s in raw} if isinstance(raw, list) else set()
    key = {f"o{n}" for n in correct}
    every = {f"o{n}" for n in range(1, options + 1)}
    selected &= every
    if not selected:
        return _report(item, 0.0, points, explanation, "no answer was chosen")
    single = len(key) == 1
    fraction = float(selected == key) if single else choice_score(selected, key, every)
    return _report(item, fraction * points, points, explanation)


def mark_order(item: str, order: list[int], points: float = 1.0, explanation: str = "") -> float:
    """Points for an ordering: the share of steps in their right place (``order``: step numbers)."""
    state, problem = _saved(item)
    if state is None:
        return _report(item, 0.0, points, explanation, problem)
    raw = state.get("order")
    given = [str(s) for s in raw] if isinstance(raw, list) else []
    key = [f"s{n}" for n in order]
    right = sum(1 for a, b in zip(given, key, strict=False) if a == b)
    return _report(item, points * right / len(key), points, explanation)


def mark_categories(item: str, key: dict[int, int], points: float = 1.0, explanation: str = "") -> float:
    """Points for a categorising item: the share of statements put in their right category."""
    state, problem = _saved(item)
    if state is None:
        return _report(item, 0.0, points, explanation, problem)
    raw = state.get("placements")
    placed = raw if isinstance(raw, dict) else {}
    right = sum(1 for s, c in key.items() if placed.get(f"i{s}") == f"c{c}")
    return _report(item, points * right / len(key), points, explanation)
