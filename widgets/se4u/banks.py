"""Activity banks: YAML files of activities beside the notebooks, validated by one model per type.

A bank file looks like this::

    schema_version: 1
    bank: intro
    title: Introductory information
    activities:
      - id: orientation-aims
        type: multiple_choice
        ...

A malformed bank raises :class:`BankError`, whose message names the file, the activity and the
field, so a notebook can show it to an author or a learner instead of a traceback.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

SCHEMA_VERSION = 1
#: Largest bank file we read: a bank is text, and a huge file is a mistake or an attack.
MAX_BANK_BYTES = 2_000_000
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Text = Annotated[str, Field(min_length=1, max_length=5000)]


class BankError(Exception):
    """A bank cannot be used; ``str(error)`` says which file, activity and field, and why."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _unique(ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"{what} id {value!r} is used twice")
        seen.add(value)


class _Activity(_Model):
    id: Slug
    title: str | None = None
    prompt: Text
    points: float = Field(default=1, gt=0, le=100)
    hints: list[Text] = Field(default_factory=list, max_length=5)


class _Graded(_Activity):
    #: 0 means unlimited attempts (the default for practice).
    max_attempts: int = Field(default=0, ge=0, le=20)
    #: Offer "Show solution" after this many attempts (None: only once attempts run out).
    solution_after: int | None = Field(default=None, ge=1, le=20)


# --- choice ---------------------------------------------------------------------------------------
class ChoiceOption(_Model):
    """One option of a multiple-choice question; ``correct`` and ``explanation`` stay in Python."""

    id: Slug
    text: Text
    correct: bool = False
    explanation: str | None = None


class MultipleChoiceSpec(_Graded):
    """A question with one answer (``single``), several (``multiple``) or ``true_false``."""

    type: Literal["multiple_choice"]
    kind: Literal["single", "multiple", "true_false"] = "single"
    options: list[ChoiceOption] = Field(default_factory=list, max_length=12)
    #: For true_false: the right answer; the options are built from it.
    answer: bool | None = None
    explanation: str | None = None
    shuffle: bool = True

    @model_validator(mode="after")
    def _check_key(self) -> MultipleChoiceSpec:
        if self.kind == "true_false":
            if self.answer is None:
                raise ValueError("a true_false question needs 'answer: true' or 'answer: false'")
            if self.options:
                raise ValueError("a true_false question takes 'answer', not 'options'")
            return self
        if self.answer is not None:
            raise ValueError("'answer' is only for true_false questions; mark options 'correct'")
        if len(self.options) < 2:
            raise ValueError("a question needs at least 2 options")
        _unique([o.id for o in self.options], "option")
        right = sum(o.correct for o in self.options)
        if self.kind == "single" and right != 1:
            raise ValueError(f"a single-answer question needs exactly 1 correct option, not {right}")
        if self.kind == "multiple" and right < 1:
            raise ValueError("a several-answer question needs at least 1 correct option")
        return self

    @property
    def choices(self) -> list[ChoiceOption]:
        """The options, with the two of a true/false question built from its answer."""
        if self.kind != "true_false":
            return list(self.options)
        return [
            ChoiceOption(id="true", text="True", correct=self.answer is True),
            ChoiceOption(id="false", text="False", correct=self.answer is False),
        ]


# --- writing and survey ---------------------------------------------------------------------------
class RubricCriterion(_Model):
    """One line of an essay rubric, shown to the learner."""

    criterion: Text
    description: Text
    points: float | None = Field(default=None, ge=0)


class ShortEssaySpec(_Activity):
    """A short essay with word limits and a rubric; graded by a person."""

    type: Literal["short_essay"]
    min_words: int = Field(default=0, ge=0, le=5000)
    max_words: int = Field(default=500, ge=1, le=5000)
    rubric: list[RubricCriterion] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_limits(self) -> ShortEssaySpec:
        if self.min_words > self.max_words:
            raise ValueError(f"min_words ({self.min_words}) is above max_words ({self.max_words})")
        return self


class LikertSpec(_Activity):
    """A survey statement rated on a scale (default: five points from disagree to agree)."""

    type: Literal["likert"]
    scale: list[Text] = Field(
        default_factory=lambda: [
            "Strongly disagree",
            "Disagree",
            "Neither agree nor disagree",
            "Agree",
            "Strongly agree",
        ],
        min_length=2,
        max_length=11,
    )


class FreeTextSpec(_Activity):
    """A survey question answered in the learner's own words."""

    type: Literal["free_text"]
    max_chars: int = Field(default=4000, ge=1, le=20000)


class NumberSpec(_Activity):
    """A survey question answered with a number (e.g. hours spent), within limits."""

    type: Literal["number"]
    minimum: float = 0
    maximum: float = Field(default=1000, le=1_000_000)
    step: float = Field(default=0.5, gt=0)
    unit: str = Field(default="", max_length=40)

    @model_validator(mode="after")
    def _check_range(self) -> NumberSpec:
        if self.minimum >= self.maximum:
            raise ValueError(f"minimum ({self.minimum}) must be below maximum ({self.maximum})")
        return self


class ChecklistOption(_Model):
    """One option of a survey checklist."""

    id: Slug
    text: Text


class ChecklistSpec(_Activity):
    """A survey question where the learner ticks every option that applies (no right answer)."""

    type: Literal["checklist"]
    options: list[ChecklistOption] = Field(min_length=2, max_length=20)

    @model_validator(mode="after")
    def _check_options(self) -> ChecklistSpec:
        _unique([o.id for o in self.options], "option")
        return self


class ForumAssignmentSpec(_Activity):
    """A discussion-forum assignment: its prompt and the participation rule."""

    type: Literal["forum"]
    min_posts: int = Field(default=1, ge=0, le=20)
    min_replies: int = Field(default=2, ge=0, le=20)


# --- placing things (drag and drop) ---------------------------------------------------------------
class Category(_Model):
    """A labelled target of a sorting activity."""

    id: Slug
    label: Text


class CategoryItem(_Model):
    """An item to sort; ``category`` (the key) and ``explanation`` stay in Python."""

    id: Slug
    text: Text
    category: Slug
    image: str | None = None
    alt: str | None = None
    explanation: str | None = None


class DragToCategoriesSpec(_Graded):
    """Sort items into 2 to 6 labelled categories."""

    type: Literal["drag_to_categories"]
    categories: list[Category] = Field(min_length=2, max_length=6)
    items: list[CategoryItem] = Field(min_length=2, max_length=30)

    @model_validator(mode="after")
    def _check_links(self) -> DragToCategoriesSpec:
        _unique([c.id for c in self.categories], "category")
        _unique([i.id for i in self.items], "item")
        known = {c.id for c in self.categories}
        for item in self.items:
            if item.category not in known:
                raise ValueError(f"item {item.id!r} names unknown category {item.category!r}")
            if item.image and not item.alt:
                raise ValueError(f"item {item.id!r} has an image but no 'alt' text")
        return self


GAP = re.compile(r"\{\{([a-z0-9][a-z0-9_-]{0,63})\}\}")


class Gap(_Model):
    """A gap of a passage and the word that fills it (the key, kept in Python)."""

    id: Slug
    answer: Text
    explanation: str | None = None


class DragTheWordsSpec(_Graded):
    """A passage with gaps marked ``{{gap-id}}`` and a bank of words, distractors allowed."""

    type: Literal["drag_the_words"]
    passage: Annotated[str, Field(min_length=1, max_length=10000)]
    gaps: list[Gap] = Field(min_length=1, max_length=30)
    distractors: list[Text] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _check_gaps(self) -> DragTheWordsSpec:
        _unique([g.id for g in self.gaps], "gap")
        marked = GAP.findall(self.passage)
        _unique(marked, "gap marker")
        if set(marked) != {g.id for g in self.gaps}:
            missing = sorted({g.id for g in self.gaps} - set(marked))
            extra = sorted(set(marked) - {g.id for g in self.gaps})
            raise ValueError(f"passage markers and gaps differ (no marker: {missing}, no gap: {extra})")
        return self


class Pair(_Model):
    """A left item and the right item it belongs with."""

    id: Slug
    left: Text
    right: Text
    explanation: str | None = None


class MatchPairsSpec(_Graded):
    """Connect each left item to its right item."""

    type: Literal["match_pairs"]
    pairs: list[Pair] = Field(min_length=2, max_length=12)

    @model_validator(mode="after")
    def _check_pairs(self) -> MatchPairsSpec:
        _unique([p.id for p in self.pairs], "pair")
        _unique([p.right for p in self.pairs], "right item")
        return self


class OrderItem(_Model):
    """One step of a sequence; the bank lists steps in the right order."""

    id: Slug
    text: Text
    explanation: str | None = None


class OrderItemsSpec(_Graded):
    """Put steps in sequence; the bank gives them in the right order, learners get them shuffled."""

    type: Literal["order_items"]
    items: list[OrderItem] = Field(min_length=3, max_length=12)

    @model_validator(mode="after")
    def _check_items(self) -> OrderItemsSpec:
        _unique([i.id for i in self.items], "item")
        return self


class JigsawSlot(_Model):
    """A labelled slot of a text jigsaw."""

    id: Slug
    label: Text


class JigsawPiece(_Model):
    """A piece of a text jigsaw and the slot it belongs in."""

    id: Slug
    text: Text
    slot: Slug


class JigsawSpec(_Graded):
    """Pieces into the slots of a grid: a definition from its parts (text) or a picture (image)."""

    type: Literal["jigsaw"]
    mode: Literal["text", "image"]
    takeaway: Text
    slots: list[JigsawSlot] = Field(default_factory=list, max_length=16)
    pieces: list[JigsawPiece] = Field(default_factory=list, max_length=16)
    image: str | None = None
    alt: str | None = None
    rows: int = Field(default=2, ge=1, le=6)
    cols: int = Field(default=2, ge=1, le=6)

    @model_validator(mode="after")
    def _check_mode(self) -> JigsawSpec:
        if self.mode == "image":
            if not self.image or not self.alt:
                raise ValueError("an image jigsaw needs 'image' (a file in the repo) and 'alt' text")
            if self.rows * self.cols < 2:
                raise ValueError("an image jigsaw needs at least 2 tiles")
            return self
        if len(self.pieces) < 2 or not self.slots:
            raise ValueError("a text jigsaw needs 'slots' and at least 2 'pieces'")
        _unique([s.id for s in self.slots], "slot")
        _unique([p.id for p in self.pieces], "piece")
        known = {s.id for s in self.slots}
        for piece in self.pieces:
            if piece.slot not in known:
                raise ValueError(f"piece {piece.id!r} names unknown slot {piece.slot!r}")
        return self


ActivitySpec = Annotated[
    MultipleChoiceSpec
    | ShortEssaySpec
    | LikertSpec
    | FreeTextSpec
    | NumberSpec
    | ChecklistSpec
    | ForumAssignmentSpec
    | DragToCategoriesSpec
    | DragTheWordsSpec
    | MatchPairsSpec
    | OrderItemsSpec
    | JigsawSpec,
    Field(discriminator="type"),
]
ACTIVITY_TYPES = (
    "multiple_choice",
    "short_essay",
    "likert",
    "free_text",
    "number",
    "checklist",
    "forum",
    "drag_to_categories",
    "drag_the_words",
    "match_pairs",
    "order_items",
    "jigsaw",
)
_activity_adapter: TypeAdapter[ActivitySpec] = TypeAdapter(ActivitySpec)


class Bank(_Model):
    """A validated bank: its name, title, source file and activities in file order."""

    schema_version: Literal[1]
    bank: Slug
    title: Text
    path: Path
    activities: tuple[ActivitySpec, ...]

    def get(self, activity_id: str) -> ActivitySpec:
        """The activity with this id; BankError names the bank and the ids it does have."""
        for spec in self.activities:
            if spec.id == activity_id:
                return spec
        known = ", ".join(a.id for a in self.activities) or "none"
        raise BankError(f"{self.path}: no activity {activity_id!r} (the bank has: {known})")

    def key(self, activity_id: str) -> str:
        """The store key of an activity: ``bank/activity``."""
        return f"{self.bank}/{activity_id}"


def _describe(error: dict) -> str:
    loc = [str(p) for p in error["loc"]]
    # The first element of a discriminated-union location is the tag; the reader knows it already.
    if loc and loc[0] in ACTIVITY_TYPES:
        loc = loc[1:]
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"] == "union_tag_invalid":
        msg = f"unknown activity type; use one of: {', '.join(ACTIVITY_TYPES)}"
    if error["type"] == "union_tag_not_found":
        return "field 'type' is missing; use one of: " + ", ".join(ACTIVITY_TYPES)
    return f"field {'.'.join(loc)!r}: {msg}" if loc else msg


def parse_bank(data: object, path: Path) -> Bank:
    """Validate already-parsed YAML data; every problem found is listed in one BankError."""
    if not isinstance(data, dict):
        raise BankError(f"{path}: a bank must be a mapping with 'schema_version', 'bank', "
                        f"'title' and 'activities', not {type(data).__name__}")
    problems: list[str] = []
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise BankError(f"{path}: field 'schema_version' must be {SCHEMA_VERSION}, not {version!r}")
    unknown = sorted(str(k) for k in data if k not in {"schema_version", "bank", "title", "activities"})
    if unknown:
        problems.append(f"unknown top-level field(s): {', '.join(unknown)}")
    raw = data.get("activities")
    if not isinstance(raw, list) or not raw:
        problems.append("field 'activities' must be a non-empty list")
        raw = []
    activities = []
    seen: set[str] = set()
    for index, item in enumerate(raw, start=1):
        label = f"activity {item.get('id')!r}" if isinstance(item, dict) and isinstance(
            item.get("id"), str) else f"activity #{index}"
        try:
            spec = _activity_adapter.validate_python(item)
        except ValidationError as exc:
            problems.extend(f"{label} (#{index}): {_describe(e)}" for e in exc.errors()[:5])
            continue
        if spec.id in seen:
            problems.append(f"{label} (#{index}): field 'id': {spec.id!r} is used twice in this bank")
        seen.add(spec.id)
        activities.append(spec)
    header = {k: data[k] for k in ("bank", "title") if k in data}
    try:
        bank = Bank(schema_version=1, path=path, activities=tuple(activities), **header)
    except ValidationError as exc:
        problems[:0] = [_describe(e) for e in exc.errors() if e["loc"][0] in {"bank", "title"}]
        bank = None
    if problems or bank is None:
        raise BankError(f"{path}: " + "; ".join(problems))
    return bank


def read_bank(path: Path) -> Bank:
    """Read and validate one bank file; any problem is a BankError naming the file."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BANK_BYTES:
            raise BankError(f"{path}: the file is larger than {MAX_BANK_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BankError(f"{path}: no such activity bank") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path}: cannot read the file: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise BankError(f"{path}{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise BankError(f"{path}: the YAML is nested too deeply") from None
    return parse_bank(data, path)


@lru_cache(maxsize=64)
def _cached(path: Path, mtime_ns: int, size: int) -> Bank:
    return read_bank(path)


def load_bank(name: str, banks_dir: Path | None = None) -> Bank:
    """Load the bank ``name`` (``banks/<name>.yaml``), cached until the file changes."""
    from se4u.config import load_settings

    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", name):
        raise BankError(f"{name!r} is not a bank name (lower-case letters, digits, - and _)")
    folder = banks_dir if banks_dir is not None else load_settings().banks_dir
    path = Path(folder) / f"{name}.yaml"
    try:
        stat = path.stat()
    except OSError:
        raise BankError(f"{path}: no such activity bank") from None
    bank = _cached(path, stat.st_mtime_ns, stat.st_size)
    if bank.bank != name:
        raise BankError(f"{path}: field 'bank' is {bank.bank!r} but the file is named {name!r}")
    return bank
