"""Placing activities (drag and drop, tap, keyboard): sort, order, match, fill gaps, jigsaw.

Every placing activity moves *pieces* onto *targets*; the page syncs ``placements``
(piece id -> target id) and Python checks them against the key, which never leaves Python.

* :class:`DragToCategories` — items (pieces) into categories (targets, several items each);
* :class:`OrderItems` — items into positions ``pos-1`` .. ``pos-N`` (one item each);
* :class:`MatchPairs` — right items (opaque ids ``r1`` ..) onto left items (targets, one each);
* :class:`DragTheWords` — words (opaque ids ``w1`` ..) into the gaps of a passage (``gap-1`` ..);
* :class:`JigsawPuzzle` — text pieces into labelled slots, or picture tiles ``t1`` .. ``tN`` into
  grid cells ``cell-1`` .. ``cell-N``; solving it reveals the takeaway.

Scoring (``score`` is a fraction of the activity's points): partial credit is

    score = (pieces placed on a right target) / (placements a complete answer needs)

where a complete answer needs one placement per item (categories, order, jigsaw pieces or
tiles), per pair (match) or per gap (drag the words; distractor words are never needed and a
distractor in a gap is simply wrong). Unplaced pieces earn nothing; only ``score == 1`` solves it.

What is synced before checking never depends on the key: pieces are listed in an order shuffled
per learner from a key-independent order (sorted by id or text), and ids that could reveal the
answer (words, right items, tiles) are opaque and mapped to the key in Python.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import traitlets as t

from se4u.activity import GradedActivity, module, stylesheet
from se4u.banks import (
    GAP,
    DragTheWordsSpec,
    DragToCategoriesSpec,
    JigsawSpec,
    MatchPairsSpec,
    OrderItemsSpec,
)
from se4u.choice import stable_order
from se4u.config import REPO_DIR

NOTEBOOKS_DIR = REPO_DIR / "notebooks"
#: The largest picture an image jigsaw may use (it is sent to the page as a data: URL).
MAX_IMAGE_BYTES = 1_500_000
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp"}


@dataclass(frozen=True)
class Piece:
    """A piece as Python knows it: what the page shows, and what the key says about it."""

    id: str
    text: str
    answer: str  # the target id, or for words the answer text it matches
    explanation: str = ""
    extra: tuple[tuple[str, Any], ...] = ()


def image_data_url(relative: str, base: Path = NOTEBOOKS_DIR) -> str:
    """A picture inside the notebooks folder as a data: URL; ValueError says what is wrong."""
    root = base.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"the image {relative!r} is outside the notebooks folder")
    mime = IMAGE_TYPES.get(path.suffix.lower())
    if mime is None:
        raise ValueError(f"the image {relative!r} is not PNG, JPEG, GIF or WebP")
    try:
        size = path.stat().st_size
        if size > MAX_IMAGE_BYTES:
            raise ValueError(f"the image {relative!r} is larger than {MAX_IMAGE_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"the image {relative!r} cannot be read: {exc.strerror}") from None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


class PlacingActivity(GradedActivity):
    """Shared logic: placements, check, retry, solution, attempts, marks and restore."""

    kind: ClassVar[str] = "placing"
    layout_name: ClassVar[str] = "categories"
    actions: ClassVar[frozenset[str]] = frozenset({"check", "retry", "solution"})
    answer_trait: ClassVar[str] = "placements"
    empty_answer_message: ClassVar[str] = "Place at least one item first, then check."
    answer_verb: ClassVar[str] = "placed"
    _esm = module("placing.js")
    _css = stylesheet("placing.css")

    layout = t.Unicode("categories", help="categories, order, pairs, words or jigsaw."
                       ).tag(sync=True)
    pieces = t.List(t.Dict(), help="[{id, text, ...}] in this learner's order; no key."
                    ).tag(sync=True)
    targets = t.List(t.Dict(), help="[{id, label}] where pieces can go; no key.").tag(sync=True)
    capacity = t.Int(0, help="How many pieces one target holds (0: any number).").tag(sync=True)
    placements = t.Dict(help="piece id -> target id, as the learner arranged them.").tag(sync=True)

    def __init__(self, spec: Any, pieces: list[Piece], targets: list[dict[str, str]], *,
                 key: str, learner: str, needed: int, capacity: int = 0, **kwargs: Any) -> None:
        self._spec = spec
        self._pieces = {p.id: p for p in pieces}
        self._target_ids = {target["id"] for target in targets}
        self._needed = needed
        self._checked = False
        self._revealed = False
        self._own: dict[str, str] = {}
        super().__init__(
            key=key, learner=learner, title=spec.title or "", prompt=spec.prompt,
            layout=self.layout_name,
            pieces=[{"id": p.id, "text": p.text, **dict(p.extra)} for p in pieces],
            targets=targets, capacity=capacity, max_attempts=spec.max_attempts,
            points=spec.points, **kwargs)
        self.restore()
        self._watch_answer()

    # --- what the page sends ------------------------------------------------------------------
    @t.validate("placements")
    def _valid_placements(self, proposal: Any) -> dict[str, str]:
        value = proposal["value"]
        if not isinstance(value, dict):
            return {}
        clean: dict[str, str] = {}
        for piece, target in list(value.items())[:200]:
            if piece in self._pieces and isinstance(target, str) and target in self._target_ids:
                if self.capacity == 1:  # one piece per target: the later placement wins
                    clean = {p: g for p, g in clean.items() if g != target}
                clean[piece] = target
        return clean

    def answer_from_page(self, value: Any) -> dict[str, str] | None:
        """The placements sent with a Check message."""
        return value if isinstance(value, dict) else None

    # --- actions ------------------------------------------------------------------------------
    def on_solution(self, _content: dict[str, Any]) -> None:
        """Show the solution, when the bank allows it after enough attempts."""
        if self.locked:
            return
        if self._solution_allowed() or self._out_of_attempts():
            self._own = dict(self.placements)
            self._revealed = True
            self._evaluate()
            self.persist(verb="revealed")

    # --- the key ------------------------------------------------------------------------------
    def is_right(self, piece_id: str, target_id: str) -> bool:
        """Whether a piece belongs on a target (subclasses with text answers override it)."""
        return self._pieces[piece_id].answer == target_id

    def solution(self) -> dict[str, str]:
        """A complete right arrangement: piece id -> target id."""
        return {p.id: p.answer for p in self._pieces.values() if p.answer in self._target_ids}

    def explanation(self, piece_id: str, _target_id: str, _right: bool) -> str:
        """The explanation shown for a placed piece after checking."""
        return self._pieces[piece_id].explanation

    def placing_score(self, placements: dict[str, str]) -> float:
        """Right placements over the placements a complete answer needs (module docstring)."""
        right = sum(1 for p, g in placements.items() if self.is_right(p, g))
        return round(min(1.0, right / self._needed), 6) if self._needed else 0.0

    # --- verdicts -----------------------------------------------------------------------------
    def _evaluate(self) -> None:
        own = self._own if self._revealed else dict(self.placements)
        score = self.placing_score(own) if self._checked else 0.0
        solved = self._checked and score == 1.0 and not self._revealed
        exhausted = self._out_of_attempts() and not solved
        reveal = self._revealed or exhausted
        if reveal:
            self._own = own
            self._revealed = True
        marks: dict[str, str] = {}
        explanations: dict[str, str] = {}
        if self._checked:
            for piece_id, target_id in own.items():
                right = self.is_right(piece_id, target_id)
                marks[piece_id] = "right" if right else "wrong"
                text = self.explanation(piece_id, target_id, right or reveal)
                if text:
                    explanations[piece_id] = text
        if reveal:
            shown = self.solution()
            for piece_id, target_id in shown.items():
                if marks.get(piece_id) != "right":
                    marks[piece_id] = "moved"
                text = self.explanation(piece_id, target_id, True)
                if text:
                    explanations[piece_id] = text
            for piece_id in set(marks) - set(shown):  # e.g. a distractor that was placed
                marks[piece_id] = "wrong"
        right_count = sum(1 for m in marks.values() if m == "right")
        if solved:
            verdict, message = "correct", "Correct: everything is in the right place."
        elif not self._checked:
            verdict, message = "", ""
        elif score > 0:
            verdict = "partial"
            message = (f"Partly right: {right_count} of {self._needed} in the right place "
                       f"({round(score * 100)}% of the points).")
        else:
            verdict, message = "incorrect", "Not quite: nothing is in the right place yet."
        if reveal:
            message = (message + " " if message else "") + "The solution is now shown."
        elif verdict in {"partial", "incorrect"}:
            left = (f" {self.max_attempts - self.attempts} attempt(s) left."
                    if self.max_attempts else "")
            message += " Move the items marked wrong and check again." + left
        self.score = score
        self.locked = solved or reveal
        self.can_show_solution = not self.locked and self._solution_allowed()
        if reveal:
            self.unobserve(self._answer_changed, names="placements")
            try:
                self.placements = self.solution()
            finally:
                self._watch_answer()
        self.feedback = {"verdict": verdict, "message": message.strip(), "score": score,
                         "marks": marks, "explanations": explanations}
        self.completed(solved or reveal)

    def completed(self, done: bool) -> None:
        """Hook: the activity was solved or its solution shown (``done``), or not."""

    # --- the store ----------------------------------------------------------------------------
    def saved_state(self) -> dict[str, Any]:
        """The learner's own placements, attempts and progress; never the key or the feedback."""
        own = self._own if self._revealed else dict(self.placements)
        return {"placements": own, "attempts": self.attempts, "checked": self._checked,
                "revealed": self._revealed}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore placements; the feedback is recomputed from the key (stored feedback ignored)."""
        placements = state.get("placements")
        self.placements = placements if isinstance(placements, dict) else {}
        attempts = state.get("attempts")
        self.attempts = attempts if isinstance(attempts, int) and 0 <= attempts <= 10_000 else 0
        self._checked = bool(state.get("checked")) and bool(self.placements) and self.attempts > 0
        self._revealed = bool(state.get("revealed")) and (
            self._solution_allowed() or self._out_of_attempts())
        self._own = dict(self.placements)
        if self._checked or self._revealed or self._out_of_attempts():
            self._evaluate()

def _seed(learner: str, key: str) -> str:
    return f"{learner}:{key}"


class DragToCategories(PlacingActivity):
    """Sort items into labelled categories; which category is right stays in Python."""

    kind: ClassVar[str] = "drag_to_categories"
    layout_name: ClassVar[str] = "categories"

    def __init__(self, spec: DragToCategoriesSpec, *, key: str, learner: str,
                 **kwargs: Any) -> None:
        items = stable_order(sorted(spec.items, key=lambda i: i.id), _seed(learner, key))
        pieces = [Piece(i.id, i.text, i.category, i.explanation or "") for i in items]
        targets = [{"id": c.id, "label": c.label} for c in spec.categories]
        super().__init__(spec, pieces, targets, key=key, learner=learner, needed=len(pieces),
                         **kwargs)


class OrderItems(PlacingActivity):
    """Put steps into positions 1..N; the bank's order is the key."""

    kind: ClassVar[str] = "order_items"
    layout_name: ClassVar[str] = "order"

    def __init__(self, spec: OrderItemsSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        position = {item.id: f"pos-{n}" for n, item in enumerate(spec.items, start=1)}
        items = stable_order(sorted(spec.items, key=lambda i: i.id), _seed(learner, key))
        pieces = [Piece(i.id, i.text, position[i.id], i.explanation or "") for i in items]
        targets = [{"id": f"pos-{n}", "label": f"Position {n}"}
                   for n in range(1, len(spec.items) + 1)]
        super().__init__(spec, pieces, targets, key=key, learner=learner, needed=len(pieces),
                         capacity=1, **kwargs)


class MatchPairs(PlacingActivity):
    """Match right items (opaque ids) to left items; the pairing stays in Python."""

    kind: ClassVar[str] = "match_pairs"
    layout_name: ClassVar[str] = "pairs"

    def __init__(self, spec: MatchPairsSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        by_right = {p.right: p for p in spec.pairs}
        rights = stable_order(sorted(by_right), _seed(learner, key))
        pieces = [Piece(f"r{n}", text, by_right[text].id, by_right[text].explanation or "")
                  for n, text in enumerate(rights, start=1)]
        targets = [{"id": p.id, "label": p.left} for p in spec.pairs]
        super().__init__(spec, pieces, targets, key=key, learner=learner, needed=len(pieces),
                         capacity=1, **kwargs)

    def explanation(self, piece_id: str, _target_id: str, right: bool) -> str:
        """A pair's explanation is shown once its right item is matched correctly (or revealed)."""
        return self._pieces[piece_id].explanation if right else ""


class DragTheWords(PlacingActivity):
    """Fill the gaps of a passage from a shuffled word bank (answers and distractors)."""

    kind: ClassVar[str] = "drag_the_words"
    layout_name: ClassVar[str] = "words"

    segments = t.List(t.Dict(), help="The passage: [{text}] and [{gap}] in reading order."
                      ).tag(sync=True)

    def __init__(self, spec: DragTheWordsSpec, *, key: str, learner: str, **kwargs: Any) -> None:
        gaps = {g.id: g for g in spec.gaps}
        segments: list[dict[str, str]] = []
        self._gap_of: dict[str, Any] = {}
        position = 0
        for match in GAP.finditer(spec.passage):
            if match.start() > position:
                segments.append({"text": spec.passage[position:match.start()]})
            opaque = f"gap-{len(self._gap_of) + 1}"
            self._gap_of[opaque] = gaps[match.group(1)]
            segments.append({"gap": opaque})
            position = match.end()
        if position < len(spec.passage):
            segments.append({"text": spec.passage[position:]})
        words = sorted([g.answer for g in spec.gaps] + list(spec.distractors), key=str.casefold)
        words = stable_order(words, _seed(learner, key))
        pieces = [Piece(f"w{n}", word, word) for n, word in enumerate(words, start=1)]
        targets = [{"id": opaque, "label": f"Gap {n}"}
                   for n, opaque in enumerate(self._gap_of, start=1)]
        super().__init__(spec, pieces, targets, key=key, learner=learner, needed=len(targets),
                         capacity=1, segments=segments, **kwargs)

    def is_right(self, piece_id: str, target_id: str) -> bool:
        """A word is right in a gap when its text is the gap's answer (duplicates are equal)."""
        return self._pieces[piece_id].text == self._gap_of[target_id].answer

    def solution(self) -> dict[str, str]:
        """Each gap filled with a word of the right text."""
        free = dict(self._pieces)
        shown: dict[str, str] = {}
        for piece_id, opaque in self._own.items():  # keep the learner's right words where they are
            if piece_id in free and opaque in self._gap_of and self.is_right(piece_id, opaque):
                shown[piece_id] = opaque
                del free[piece_id]
        for opaque, gap in self._gap_of.items():
            if opaque in shown.values():
                continue
            piece = next(p for p in free.values() if p.text == gap.answer)
            del free[piece.id]
            shown[piece.id] = opaque
        return shown

    def explanation(self, _piece_id: str, target_id: str, right: bool) -> str:
        """A gap's explanation, once the right word is in it (or the solution is shown)."""
        return (self._gap_of[target_id].explanation or "") if right else ""


class JigsawPuzzle(PlacingActivity):
    """Text pieces into labelled slots, or picture tiles into a grid; solving reveals a takeaway."""

    kind: ClassVar[str] = "jigsaw"
    layout_name: ClassVar[str] = "jigsaw"

    mode = t.Unicode("text", help="text or image.").tag(sync=True)
    image = t.Unicode("", help="The picture as a data: URL (image mode).").tag(sync=True)
    alt = t.Unicode("", help="What the picture shows (image mode).").tag(sync=True)
    rows = t.Int(1).tag(sync=True)
    cols = t.Int(1).tag(sync=True)
    image_problem = t.Unicode("", help="Why the picture cannot be shown, if it cannot."
                              ).tag(sync=True)
    takeaway = t.Unicode("", help="The takeaway, synced only once the puzzle is complete."
                         ).tag(sync=True)

    def __init__(self, spec: JigsawSpec, *, key: str, learner: str,
                 notebooks_dir: Path | None = None, **kwargs: Any) -> None:
        seed = _seed(learner, key)
        extra: dict[str, Any] = {"mode": spec.mode}
        if spec.mode == "image":
            count = spec.rows * spec.cols
            order = stable_order(list(range(count)), seed)
            if order == sorted(order):  # never hand out a solved picture
                order = order[1:] + order[:1]
            pieces = [Piece(f"t{n}", f"Tile {n}", f"cell-{index + 1}",
                            extra=(("row", index // spec.cols), ("col", index % spec.cols)))
                      for n, index in enumerate(order, start=1)]
            targets = [{"id": f"cell-{n}", "label": f"Cell {n} (row {(n - 1) // spec.cols + 1}, "
                        f"column {(n - 1) % spec.cols + 1})"} for n in range(1, count + 1)]
            extra.update(rows=spec.rows, cols=spec.cols, alt=spec.alt or "", capacity=1)
            try:
                extra["image"] = image_data_url(spec.image or "", notebooks_dir or NOTEBOOKS_DIR)
            except ValueError as exc:
                extra["image_problem"] = f"The picture cannot be shown: {exc}."
        else:
            items = stable_order(sorted(spec.pieces, key=lambda p: p.id), seed)
            pieces = [Piece(p.id, p.text, p.slot) for p in items]
            targets = [{"id": s.id, "label": s.label} for s in spec.slots]
        super().__init__(spec, pieces, targets, key=key, learner=learner, needed=len(pieces),
                         **extra, **kwargs)

    def completed(self, done: bool) -> None:
        """The takeaway is synced only when the puzzle is solved or its solution shown."""
        self.takeaway = self._spec.takeaway if done else ""
