"""Self-assessment tests: key-free item widgets that save the learner's answers to ``answers.json``.

A self-assessment test is an nbgrader assignment (``source/<module>/<module>.ipynb``). In the
student version every item is a read-only cell that shows one of the widgets below; the widget
knows the question and the options, never the answer. Each change is written atomically to
``answers.json`` beside the notebook (temporary file, fsync, ``os.replace``), so nbgrader collects
the answers with the notebook. At autograde the hidden test cells (:mod:`se4u.grading`) read the
file and score it. The learner sees no right/wrong feedback here, only whether the answer is saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import traitlets as t

from se4u.activity import Activity, module, stylesheet
from se4u.store import StoreError

try:  # POSIX only; elsewhere the write is still atomic, just not serialised between kernels
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

#: The file, beside the notebook, that holds every answer of one test.
ANSWERS_FILE = "answers.json"
FORMAT = "se4u-answers/1"
#: The longest essay saved (a few thousand words fit easily).
MAX_ESSAY_CHARS = 20_000
#: The largest answers file read back; anything larger is refused with a message.
MAX_FILE_BYTES = 2_000_000


class AnswersFileError(StoreError):
    """The answers file cannot be read or written; the message names the file and the problem."""


@dataclass(frozen=True)
class SavedAnswer:
    """One item's saved state, shaped like :class:`se4u.store.Response` where Activity needs it."""

    activity: str
    kind: str
    state: dict[str, Any]
    updated_at: str


def read_answers(path: Path) -> dict[str, Any]:
    """The whole answers document; an empty one if the file does not exist.

    Raises :class:`AnswersFileError` with a one-line reason when the file is unreadable, too
    large, not JSON, or not an answers file.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return {"format": FORMAT, "items": {}}
    except OSError as exc:
        raise AnswersFileError(f"{path.name} cannot be read: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise AnswersFileError(f"{path.name} is {size:,} bytes, larger than the {MAX_FILE_BYTES:,} "
                               "bytes an answers file may hold")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise AnswersFileError(f"{path.name} is not text (it is not UTF-8)") from None
    except json.JSONDecodeError as exc:
        raise AnswersFileError(f"{path.name} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
                               f"{exc.msg})") from None
    except OSError as exc:
        raise AnswersFileError(f"{path.name} cannot be read: {exc.strerror}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), dict):
        raise AnswersFileError(f"{path.name} is not an SE4U answers file (no 'items' object)")
    return data


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so a reader sees the old or the new file, never half of one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise AnswersFileError(f"your answer could not be saved to {path.name} ({exc.strerror}); "
                               "the previously saved answers are kept") from None
    with contextlib.suppress(OSError):  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _folder_lock(folder: Path):
    """Serialise read-modify-write of the answers file between kernels (an flock on the folder)."""
    if fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class AnswersFile:
    """``answers.json`` beside the notebook, with the same save/load interface as ResponseStore.

    The learner argument is accepted for that interface and ignored: the folder is the learner's.
    """

    def __init__(self, path: Path | str, assignment: str = "") -> None:
        self.path = Path(path)
        self.assignment = assignment
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        """The whole document (see :func:`read_answers`)."""
        return read_answers(self.path)

    def items(self) -> dict[str, Any]:
        """item id -> {kind, state, saved_at}."""
        return self.read()["items"]

    def save(self, learner: str, activity: str, kind: str, state: dict[str, Any], *,
             score: float | None = None, max_score: float | None = None, attempts: int = 0,
             verb: str = "saved") -> datetime:
        """Save one item's state, keeping every other item's answer."""
        del learner, score, max_score, attempts, verb  # a test keeps no scores on the learner's side
        now = datetime.now(UTC)
        entry = {"kind": kind, "state": state, "saved_at": now.isoformat(timespec="seconds")}
        with self._lock, _folder_lock(self.path.parent):
            try:
                data = self.read()
            except AnswersFileError:
                # Keep the unreadable file for the instructor and start a fresh one.
                broken = self.path.with_name(f"{self.path.stem}.unreadable-{now:%Y%m%dT%H%M%S}.json")
                with contextlib.suppress(OSError):
                    self.path.replace(broken)
                data = {"format": FORMAT, "items": {}}
            data["format"] = FORMAT
            if self.assignment:
                data["assignment"] = self.assignment
            data["items"][activity] = entry
            text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
            if len(text.encode("utf-8")) > MAX_FILE_BYTES:
                raise AnswersFileError("this answer is too large to save; the previously saved answers "
                                       "are kept")
            write_atomically(self.path, text)
        return now

    def load(self, learner: str, activity: str) -> SavedAnswer | None:
        """One item's saved state, or None; AnswersFileError if the file is unreadable."""
        del learner
        entry = self.items().get(activity)
        if not isinstance(entry, dict) or not isinstance(entry.get("state"), dict):
            return None
        return SavedAnswer(activity=activity, kind=str(entry.get("kind", "")), state=entry["state"],
                           updated_at=str(entry.get("saved_at", "")))


# --- the widgets ------------------------------------------------------------------------------------
class TestItem(Activity):
    """Shared by the test's items: saves on every change, shows only whether the answer is saved."""

    __test__: ClassVar[bool] = False  # not a pytest test class
    kind: ClassVar[str] = "test_item"
    _esm = module("assessment_item.js")
    _css = stylesheet("assessment_item.css")

    layout = t.Unicode(help="choice, order, categories or essay.").tag(sync=True)

    def __init__(self, *, key: str, store: AnswersFile, learner: str = "", **kwargs: Any) -> None:
        super().__init__(key=key, learner=learner or "learner", store=store, **kwargs)  # type: ignore[arg-type]
        self.restore()
        self.observe(self._changed, names=self.answer_traits)

    answer_traits: ClassVar[list[str]] = []

    def _changed(self, _change: Any) -> None:
        self.persist()


class ChoiceItem(TestItem):
    """One answer, several answers or true/false; options are known as o1, o2… in the cell's order."""

    kind: ClassVar[str] = "test_choice"
    answer_traits: ClassVar[list[str]] = ["selected"]

    mode = t.Unicode("single", help="single, multiple or true_false.").tag(sync=True)
    options = t.List(t.Dict(), help="[{id, text}]; no key.").tag(sync=True)
    selected = t.List(t.Unicode(), help="The ids the learner has chosen.").tag(sync=True)

    def __init__(self, *, options: list[str], mode: str = "single", **kwargs: Any) -> None:
        if mode == "true_false":
            options = ["True", "False"]
        super().__init__(layout="choice", mode=mode,
                         options=[{"id": f"o{n}", "text": text} for n, text in enumerate(options, 1)],
                         **kwargs)

    @t.validate("selected")
    def _valid(self, proposal: Any) -> list[str]:
        known = {o["id"] for o in self.options}
        chosen = [c for c in dict.fromkeys(proposal["value"]) if c in known]
        return chosen if self.mode == "multiple" else chosen[-1:]

    def saved_state(self) -> dict[str, Any]:
        """The chosen option ids."""
        return {"selected": list(self.selected)}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the selection (anything unknown is dropped)."""
        value = state.get("selected")
        self.selected = [str(v) for v in value] if isinstance(value, list) else []


class OrderItem(TestItem):
    """Put steps in order with Move up / Move down buttons; steps are s1, s2… in the cell's order."""

    kind: ClassVar[str] = "test_order"
    answer_traits: ClassVar[list[str]] = ["order"]

    items = t.List(t.Dict(), help="[{id, text}] in the order first shown (not the answer).").tag(sync=True)
    order = t.List(t.Unicode(), help="The learner's order of item ids.").tag(sync=True)
    touched = t.Bool(False, help="Whether the learner has arranged the items yet.").tag(sync=True)

    def __init__(self, *, steps: list[str], **kwargs: Any) -> None:
        items = [{"id": f"s{n}", "text": text} for n, text in enumerate(steps, 1)]
        super().__init__(layout="order", items=items, order=[i["id"] for i in items], **kwargs)

    @t.validate("order")
    def _valid(self, proposal: Any) -> list[str]:
        known = [i["id"] for i in self.items]
        value = [str(v) for v in proposal["value"]]
        if not known or sorted(value) == sorted(known):
            return value
        return list(self.order) if sorted(self.order) == sorted(known) else known

    def _changed(self, change: Any) -> None:
        self.touched = True
        super()._changed(change)

    def saved_state(self) -> dict[str, Any]:
        """The learner's order."""
        return {"order": list(self.order)}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the order if it is a permutation of the items."""
        value = state.get("order")
        if isinstance(value, list):
            self.order = [str(v) for v in value]
            self.touched = True


class CategoriesItem(TestItem):
    """Put each statement into a category with a list box; items i1…, categories c1… in cell order."""

    kind: ClassVar[str] = "test_categories"
    answer_traits: ClassVar[list[str]] = ["placements"]

    items = t.List(t.Dict(), help="[{id, text}].").tag(sync=True)
    categories = t.List(t.Dict(), help="[{id, label}].").tag(sync=True)
    placements = t.Dict(help="item id -> category id.").tag(sync=True)

    def __init__(self, *, categories: list[str], statements: list[str], **kwargs: Any) -> None:
        super().__init__(layout="categories",
                         items=[{"id": f"i{n}", "text": s} for n, s in enumerate(statements, 1)],
                         categories=[{"id": f"c{n}", "label": c} for n, c in enumerate(categories, 1)],
                         **kwargs)

    @t.validate("placements")
    def _valid(self, proposal: Any) -> dict[str, str]:
        items = {i["id"] for i in self.items}
        cats = {c["id"] for c in self.categories}
        return {str(k): str(v) for k, v in dict(proposal["value"]).items() if k in items and v in cats}

    def saved_state(self) -> dict[str, Any]:
        """item id -> category id."""
        return {"placements": dict(self.placements)}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the placements."""
        value = state.get("placements")
        self.placements = value if isinstance(value, dict) else {}


class EssayItem(TestItem):
    """A short essay, graded by the instructor; saved as the learner types, always shown as text."""

    kind: ClassVar[str] = "test_essay"
    answer_traits: ClassVar[list[str]] = ["text"]

    text = t.Unicode("", help="The essay (shown in a text area, never as HTML).").tag(sync=True)
    max_chars = t.Int(MAX_ESSAY_CHARS).tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(layout="essay", **kwargs)

    def _changed(self, change: Any) -> None:
        if len(self.text) > self.max_chars:
            self.save_status = (f"Your essay is {len(self.text):,} characters long, more than the "
                                f"{self.max_chars:,} allowed, so this version was not saved. Shorten it; "
                                "your last saved version is kept.")
            return
        super()._changed(change)

    def saved_state(self) -> dict[str, Any]:
        """The essay text."""
        return {"text": self.text.replace("\x00", "")}

    def apply_saved(self, state: dict[str, Any]) -> None:
        """Restore the text (up to the limit)."""
        value = state.get("text")
        if isinstance(value, str):
            self.text = value[: self.max_chars]


class SelfAssessment:
    """One module's test in the learner's notebook: creates the item widgets on ``answers.json``."""

    def __init__(self, assignment: str, folder: Path | str | None = None) -> None:
        self.assignment = assignment
        self.answers = AnswersFile(Path(folder or Path.cwd()) / ANSWERS_FILE, assignment)

    def _learner(self) -> str:
        from se4u.config import current_learner

        return current_learner()

    def single(self, item: str, prompt: str, options: list[str], title: str = "") -> ChoiceItem:
        """A question with one right answer."""
        return ChoiceItem(key=item, store=self.answers, prompt=prompt, options=options, mode="single",
                          title=title)

    def multiple(self, item: str, prompt: str, options: list[str], title: str = "") -> ChoiceItem:
        """A question where every right answer must be chosen."""
        return ChoiceItem(key=item, store=self.answers, prompt=prompt, options=options,
                          mode="multiple", title=title)

    def true_false(self, item: str, prompt: str, title: str = "") -> ChoiceItem:
        """A true-or-false statement (option o1 is True, o2 is False)."""
        return ChoiceItem(key=item, store=self.answers, prompt=prompt, options=[], mode="true_false",
                          title=title)

    def order(self, item: str, prompt: str, steps: list[str], title: str = "") -> OrderItem:
        """Put steps in order (shown in the order given, which is not the answer)."""
        return OrderItem(key=item, store=self.answers, prompt=prompt, steps=steps, title=title)

    def categories(self, item: str, prompt: str, categories: list[str], statements: list[str],
                   title: str = "") -> CategoriesItem:
        """Put each statement into one of the categories."""
        return CategoriesItem(key=item, store=self.answers, prompt=prompt, categories=categories,
                              statements=statements, title=title)

    def essay(self, item: str, prompt: str, title: str = "") -> EssayItem:
        """A short essay for the instructor to grade."""
        return EssayItem(key=item, store=self.answers, prompt=prompt, title=title)

    def show_essay(self, item: str, limit: int = MAX_ESSAY_CHARS) -> None:
        """Print the saved essay as plain text (what the instructor grades; HTML stays text)."""
        print(essay_text(self.answers, item, limit))


def essay_text(answers: AnswersFile, item: str, limit: int = MAX_ESSAY_CHARS) -> str:
    """The saved essay as the instructor sees it, with a clear note when it is missing or too long."""
    try:
        saved = answers.load("", item)
    except AnswersFileError as exc:
        return f"No essay can be shown: {exc}."
    text = saved.state.get("text") if saved else None
    if not isinstance(text, str) or not text.strip():
        return "No essay has been saved yet."
    words = len(text.split())
    head = f"Saved essay ({words:,} words, {len(text):,} characters):\n\n"
    if len(text) > limit:
        return (head + text[:limit] + f"\n\n[The essay is {len(text):,} characters long, more than the "
                f"{limit:,} allowed; only the first {limit:,} are shown.]")
    return head + text
