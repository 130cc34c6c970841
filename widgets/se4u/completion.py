"""Completion rules: which requirements a learner has met for the e-certificate, and what is missing.

The rules of each kind of cohort are data (``data/completion/<cohort>.yaml``), validated here and
read by the progress page, the instructors' completion report and the certificates. The evidence
comes from several places, each behind a small interface so a test (or a later course service) can
supply it directly:

* readings and the modules' short essays: the response store and the notebooks (:mod:`se4u.progress`);
* self-assessment tests: a mapping learner → {assignment: :class:`AssessmentResult`};
  :func:`gradebook_results` fills it from nbgrader's gradebook when there is one;
* forum assignments: a mapping learner → {module: :class:`ForumCount`} (no forum yet: "not recorded");
* live sessions: :mod:`se4u.attendance` (minutes per session, imported from Microsoft Teams reports).
"""

from __future__ import annotations

import csv
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from se4u.config import PACKAGE_DIR, REPO_DIR
from se4u.course import Course, load_course

RULES_DIR = PACKAGE_DIR / "data" / "completion"
BANKS_DIR = REPO_DIR / "notebooks" / "banks"
COHORTS = ("self_paced", "live_sessions")


class CompletionError(Exception):
    """Rules, a roster or an input file cannot be used; the message names the file and the problem."""


# ==================================================================================================
# The rules, as data
# ==================================================================================================
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReadingsRule(_Strict):
    """Every reading section of these parts is marked as read."""

    id: Literal["readings"]
    parts: list[str] = Field(min_length=1)


class SelfAssessmentRule(_Strict):
    """The self-assessment test of these modules is submitted (and passed, if a pass mark is set)."""

    id: Literal["self_assessment"]
    assignments: list[str] = Field(min_length=1)
    pass_mark: float | None = Field(default=None, gt=0, le=1)


class ForumRule(_Strict):
    """The forum assignment of these modules is done (posts and replies as each bank asks)."""

    id: Literal["forum"]
    parts: list[str] = Field(min_length=1)


class EssaysRule(_Strict):
    """Every short essay of these modules is submitted."""

    id: Literal["essays"]
    parts: list[str] = Field(min_length=1)


class Session(_Strict):
    """One live session or breakout discussion."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str = Field(min_length=1)
    min_minutes: int | None = Field(default=None, ge=1)


class AttendanceRule(_Strict):
    """Every listed live session is attended for at least its minimum minutes."""

    id: Literal["attendance"]
    min_minutes: int = Field(ge=1)
    sessions: list[Session] = Field(min_length=1)

    def session(self, session_id: str) -> Session:
        """The session with this id; CompletionError names the known ones."""
        for session in self.sessions:
            if session.id == session_id:
                return session
        known = ", ".join(s.id for s in self.sessions)
        raise CompletionError(f"unknown session {session_id!r}; the sessions of this cohort are: {known}")

    def minutes_needed(self, session: Session) -> int:
        """The minutes that count as attending this session."""
        return session.min_minutes or self.min_minutes


Rule = Annotated[ReadingsRule | SelfAssessmentRule | ForumRule | EssaysRule | AttendanceRule,
                 Field(discriminator="id")]


class CohortRules(_Strict):
    """The completion rules of one kind of cohort."""

    schema_version: Literal[1]
    cohort: Literal["self_paced", "live_sessions"]
    title: str
    requirements: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> CohortRules:
        ids = [r.id for r in self.requirements]
        if len(ids) != len(set(ids)):
            raise ValueError(f"a requirement is listed twice: {ids}")
        return self

    def rule(self, rule_id: str) -> Any:
        """The rule with this id, or None if the cohort does not have it."""
        return next((r for r in self.requirements if r.id == rule_id), None)

    @property
    def attendance(self) -> AttendanceRule | None:
        """The attendance rule (cohorts with live sessions only)."""
        return self.rule("attendance")


def check_against_course(rules: CohortRules, course: Course, where: str = "") -> None:
    """The rules name only the course's parts, and exactly the requirements course.yaml lists."""
    listed = {r.id for r in course.requirements_for(rules.cohort)}
    here = {r.id for r in rules.requirements}
    if listed != here:
        raise CompletionError(f"{where}: the requirements {sorted(here)} differ from course.yaml's "
                              f"{sorted(listed)} for {rules.cohort}")
    parts = {p.id for p in course.parts}
    for rule in rules.requirements:
        for part in getattr(rule, "parts", []) + getattr(rule, "assignments", []):
            if part not in parts:
                raise CompletionError(f"{where}: requirement {rule.id!r} names {part!r}, which is not "
                                      f"a part of the course")


@lru_cache(maxsize=8)
def load_rules(cohort: str = "self_paced", folder: Path = RULES_DIR) -> CohortRules:
    """The validated completion rules of a kind of cohort; CompletionError names the file and field."""
    path = Path(folder) / f"{cohort}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in Path(folder).glob("*.yaml"))) or "none"
        raise CompletionError(f"no completion rules for the cohort {cohort!r} ({path}); known: {known}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        rules = CohortRules.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CompletionError(f"{path}: cannot read the completion rules: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CompletionError(f"{path}: field {where!r}: {first['msg']}") from None
    if rules.cohort != cohort:
        raise CompletionError(f"{path}: the file is for the cohort {rules.cohort!r}, not {cohort!r}")
    check_against_course(rules, load_course(), str(path))
    return rules


# ==================================================================================================
# The evidence for one learner
# ==================================================================================================
@dataclass(frozen=True)
class AssessmentResult:
    """A self-assessment test as the gradebook knows it."""

    submitted: bool = True
    score: float | None = None
    max_score: float | None = None
    needs_manual_grade: bool = False


@dataclass(frozen=True)
class ForumCount:
    """A learner's contributions to one module's forum assignment."""

    posts: int = 0
    replies: int = 0


@dataclass
class LearnerRecord:
    """Everything the rules look at for one learner. ``None`` means "not recorded"."""

    learner: str
    unread: dict[str, list[str]] = field(default_factory=dict)
    essays_missing: dict[str, list[str]] = field(default_factory=dict)
    tests: dict[str, AssessmentResult] = field(default_factory=dict)
    forum: dict[str, ForumCount] | None = None
    attended: dict[str, float] = field(default_factory=dict)
    #: minutes that counted as attending, per session, when the instructor set them at import
    needed: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Missing:
    """One thing still to do, tied to a part of the course where there is one."""

    part: str | None
    text: str


@dataclass
class Outcome:
    """One requirement for one learner: met, not yet met, or not recorded (``met is None``)."""

    id: str
    label: str
    met: bool | None
    missing: list[Missing] = field(default_factory=list)

    @property
    def state(self) -> str:
        """``met``, ``not yet met`` or ``not recorded``."""
        return "met" if self.met else "not recorded" if self.met is None else "not yet met"


@dataclass
class Completion:
    """Where a learner stands against the cohort's rules."""

    learner: str
    cohort: str
    outcomes: list[Outcome]

    @property
    def complete(self) -> bool:
        """Every requirement is met (a requirement not recorded is not met)."""
        return all(o.met is True for o in self.outcomes)

    @property
    def missing(self) -> list[Missing]:
        """What is left, in requirement order."""
        return [m for o in self.outcomes if not o.met for m in (o.missing or [Missing(None, o.label)])]

    def met_labels(self) -> list[str]:
        """The labels of the requirements met (printed on the certificate)."""
        return [o.label for o in self.outcomes if o.met]

    def status(self) -> dict[str, bool | None]:
        """Requirement id → met / not met / not recorded."""
        return {o.id: o.met for o in self.outcomes}


def forum_expectations(parts: Iterable[str], banks_dir: Path = BANKS_DIR) -> dict[str, ForumCount]:
    """Posts and replies each module's forum assignments ask for, summed, read from the banks."""
    from se4u.banks import BankError, read_bank

    wanted: dict[str, ForumCount] = {}
    for part in parts:
        try:
            bank = read_bank(Path(banks_dir) / f"{part}.yaml")
        except BankError:
            continue
        forums = [a for a in bank.activities if a.type == "forum"]
        if forums:
            wanted[part] = ForumCount(sum(a.min_posts for a in forums), sum(a.min_replies for a in forums))
    return wanted


def essay_keys(parts: Iterable[str], banks_dir: Path = BANKS_DIR) -> dict[str, list[tuple[str, str]]]:
    """Each module's short essays as (store key, title), read from the banks."""
    from se4u.banks import BankError, read_bank

    keys: dict[str, list[tuple[str, str]]] = {}
    for part in parts:
        try:
            bank = read_bank(Path(banks_dir) / f"{part}.yaml")
        except BankError:
            continue
        keys[part] = [(f"{bank.bank}/{a.id}", getattr(a, "title", None) or a.id)
                      for a in bank.activities if a.type == "short_essay"]
    return keys


def record_from_store(store: Any, learner: str, rules: CohortRules, *,
                      tests: Mapping[str, AssessmentResult] | None = None,
                      forum: Mapping[str, ForumCount] | None = None,
                      attended: Mapping[str, float] | None = None,
                      needed: Mapping[str, float] | None = None,
                      notebooks_dir: Path | None = None, banks_dir: Path = BANKS_DIR) -> LearnerRecord:
    """A learner's record: readings and essays from the store, the rest as given."""
    from se4u.progress import NOTEBOOKS_DIR, course_progress, is_done

    parts = course_progress(store, learner, notebooks_dir=notebooks_dir or NOTEBOOKS_DIR)
    unread = {p.part_id: list(p.unread) for p in parts}
    essays_missing: dict[str, list[str]] = {}
    essays = rules.rule("essays")
    if essays:
        for part, items in essay_keys(essays.parts, banks_dir).items():
            essays_missing[part] = [title for key, title in items if not is_done(store.load(learner, key))]
    return LearnerRecord(learner, unread=unread, essays_missing=essays_missing, tests=dict(tests or {}),
                         forum=None if forum is None else dict(forum), attended=dict(attended or {}),
                         needed=dict(needed or {}))


# ==================================================================================================
# Evaluating the rules
# ==================================================================================================
def _titles(course: Course) -> dict[str, str]:
    return {p.id: p.title.split(":")[0] for p in course.parts}


def evaluate(rules: CohortRules, record: LearnerRecord, *, course: Course | None = None,
             forum_wanted: Mapping[str, ForumCount] | None = None) -> Completion:
    """Each of the cohort's requirements for this learner: met, and if not, what is missing."""
    course = course or load_course()
    labels = {r.id: r.label for r in course.completion}
    names = _titles(course)
    outcomes = []
    for rule in rules.requirements:
        missing: list[Missing] = []
        met: bool | None
        if isinstance(rule, ReadingsRule):
            for part in rule.parts:
                missing += [Missing(part, f"{names[part]}: read “{title}”")
                            for title in record.unread.get(part, [])]
            met = not missing
        elif isinstance(rule, EssaysRule):
            for part in rule.parts:
                missing += [Missing(part, f"{names[part]}: submit the essay “{title}”")
                            for title in record.essays_missing.get(part, [])]
            met = not missing
        elif isinstance(rule, SelfAssessmentRule):
            for part in rule.assignments:
                result = record.tests.get(part)
                problem = _test_problem(result, rule.pass_mark)
                if problem:
                    missing.append(Missing(part, f"{names[part]}: self-assessment test {problem}"))
            met = not missing
        elif isinstance(rule, ForumRule):
            wanted = forum_expectations(rule.parts) if forum_wanted is None else forum_wanted
            if record.forum is None:
                met = None
                missing.append(Missing(None, "forum participation is not recorded yet"))
            else:
                for part in rule.parts:
                    need = wanted.get(part)
                    if need is None:
                        continue
                    have = record.forum.get(part, ForumCount())
                    if have.posts < need.posts or have.replies < need.replies:
                        missing.append(Missing(part, f"{names[part]}: forum {have.posts} of {need.posts} "
                                                     f"posts, {have.replies} of {need.replies} replies"))
                met = not missing
        else:
            for session in rule.sessions:
                need = record.needed.get(session.id, rule.minutes_needed(session))
                minutes = record.attended.get(session.id)
                if minutes is None:
                    missing.append(Missing(None, f"{session.title}: no attendance recorded"))
                elif minutes < need:
                    missing.append(Missing(None, f"{session.title}: attended {minutes:.0f} of the "
                                                 f"{need:.0f} minutes needed"))
            met = not missing
        outcomes.append(Outcome(rule.id, labels.get(rule.id, rule.id), met, missing))
    return Completion(record.learner, rules.cohort, outcomes)


def _test_problem(result: AssessmentResult | None, pass_mark: float | None) -> str:
    if result is None or not result.submitted:
        return "not submitted"
    if pass_mark is None:
        return ""
    if result.needs_manual_grade:
        return "awaiting marking by the instructor"
    if not result.max_score:
        return "not graded yet"
    share = (result.score or 0) / result.max_score
    if share + 1e-9 < pass_mark:
        return f"scored {share:.0%}, below the pass mark of {pass_mark:.0%}"
    return ""


# ==================================================================================================
# Inputs: the roster, the forum counts, the gradebook
# ==================================================================================================
@dataclass(frozen=True)
class Learner:
    """A learner of the cohort as the roster names them."""

    id: str
    name: str
    email: str = ""


def read_roster(path: Path) -> list[Learner]:
    """The cohort's learners from a CSV roster: ``id`` (or ``learner``/``username``), ``name`` (or
    ``first_name`` and ``last_name``) and optionally ``email`` — nbgrader's student import format works."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CompletionError(f"{path}: no such roster file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CompletionError(f"{path}: cannot read the roster: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    columns = {c.strip().lower(): c for c in reader.fieldnames or []}
    id_col = next((columns[c] for c in ("id", "learner", "username") if c in columns), None)
    if id_col is None:
        raise CompletionError(f"{path}: the roster needs an 'id' column (found: "
                              f"{', '.join(reader.fieldnames or []) or 'nothing'})")
    learners, seen = [], set()
    for line, row in enumerate(reader, start=2):
        learner = (row.get(id_col) or "").strip()
        if not learner:
            continue
        if learner in seen:
            raise CompletionError(f"{path}, line {line}: the learner {learner!r} is listed twice")
        seen.add(learner)
        name = (row.get(columns.get("name", ""), "") or "").strip() if "name" in columns else ""
        if not name:
            first = (row.get(columns.get("first_name", ""), "") or "").strip()
            last = (row.get(columns.get("last_name", ""), "") or "").strip()
            name = " ".join(p for p in (first, last) if p) or learner
        email = (row.get(columns["email"]) or "").strip() if "email" in columns else ""
        learners.append(Learner(learner, name, email))
    if not learners:
        raise CompletionError(f"{path}: the roster lists no learners")
    return learners


def read_forum_counts(path: Path) -> dict[str, dict[str, ForumCount]]:
    """Forum contributions from a CSV with columns learner, module, posts, replies."""
    path = Path(path)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise CompletionError(f"{path}: cannot read the forum counts: {exc}") from None
    counts: dict[str, dict[str, ForumCount]] = {}
    for line, row in enumerate(rows, start=2):
        try:
            learner, module = row["learner"].strip(), row["module"].strip()
            count = ForumCount(int(row.get("posts") or 0), int(row.get("replies") or 0))
        except (KeyError, AttributeError, ValueError):
            raise CompletionError(f"{path}, line {line}: expected learner, module, posts, replies "
                                  "(whole numbers)") from None
        counts.setdefault(learner, {})[module] = count
    return counts


def gradebook_url(course_dir: Path) -> str:
    """The gradebook's URL: ``CourseDirectory.db_url`` in nbgrader_config.py, else gradebook.db there."""
    config_file = Path(course_dir) / "nbgrader_config.py"
    if config_file.is_file():
        try:
            from traitlets.config.loader import PyFileConfigLoader

            config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
            url = config.CourseDirectory.get("db_url")
            if url:
                return str(url)
        except Exception:  # noqa: S110 - a config we cannot load falls back to nbgrader's default
            pass
    return f"sqlite:///{Path(course_dir) / 'gradebook.db'}"


def gradebook_results(course_dir: Path, url: str | None = None) -> dict[str, dict[str, AssessmentResult]]:
    """learner → {assignment: AssessmentResult} from nbgrader's gradebook (empty when there is none)."""
    url = url or gradebook_url(course_dir)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return {}
    from nbgrader.api import Gradebook, MissingEntry

    results: dict[str, dict[str, AssessmentResult]] = {}
    try:
        with Gradebook(url) as gb:
            for assignment in gb.assignments:
                for student in gb.students:
                    try:
                        sub = gb.find_submission(assignment.name, student.id)
                    except MissingEntry:
                        continue
                    results.setdefault(student.id, {})[assignment.name] = AssessmentResult(
                        True, sub.score, sub.max_score, bool(sub.needs_manual_grade))
    except Exception as exc:  # nbgrader raises many kinds; the instructor needs one line
        raise CompletionError(f"the gradebook at {url} cannot be read: {exc}") from None
    return results


# ==================================================================================================
# A cohort at once, and the instructors' report
# ==================================================================================================
def cohort_completion(rules: CohortRules, learners: list[Learner], store: Any, *,
                      tests: Mapping[str, Mapping[str, AssessmentResult]] | None = None,
                      forum: Mapping[str, Mapping[str, ForumCount]] | None = None,
                      attendance: Mapping[str, Mapping[str, float]] | None = None,
                      needed: Mapping[str, float] | None = None,
                      notebooks_dir: Path | None = None) -> list[Completion]:
    """Every learner of the roster evaluated against the cohort's rules."""
    course = load_course()
    forum_rule = rules.rule("forum")
    wanted = forum_expectations(forum_rule.parts) if forum_rule else {}
    out = []
    for learner in learners:
        record = record_from_store(
            store, learner.id, rules, tests=(tests or {}).get(learner.id),
            forum=None if forum is None else (forum.get(learner.id) or {}),
            attended=(attendance or {}).get(learner.id), needed=needed, notebooks_dir=notebooks_dir)
        out.append(evaluate(rules, record, course=course, forum_wanted=wanted))
    return out


def report_table(completions: list[Completion], learners: list[Learner] | None = None) -> Any:
    """A pandas table: one row per learner, a column per requirement, complete or not, what is missing."""
    import pandas as pd

    names = {lr.id: lr.name for lr in learners or []}
    rows = []
    for c in completions:
        row: dict[str, Any] = {"learner": c.learner, "name": names.get(c.learner, "")}
        row.update({o.id: o.state for o in c.outcomes})
        row["complete"] = "yes" if c.complete else "no"
        row["missing"] = "; ".join(m.text for m in c.missing)
        rows.append(row)
    return pd.DataFrame(rows).set_index("learner") if rows else pd.DataFrame()


def completion_by_module(completions: list[Completion], course: Course | None = None) -> dict[str, float]:
    """Module title → share of learners with nothing missing in that module."""
    course = course or load_course()
    modules = [p for p in course.parts if p.id.startswith("module")]
    if not completions:
        return {p.title: 0.0 for p in modules}
    return {p.title: sum(all(m.part != p.id for m in c.missing) for c in completions) / len(completions)
            for p in modules}


def chart_html(shares: Mapping[str, float], caption: str = "Learners who completed each module") -> str:
    """An accessible HTML bar chart: a table of the numbers, with bars drawn by CSS widths."""
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(title)}</th><td>{share:.0%}</td>"
        f"<td aria-hidden='true'><div style='background:#1f5f8b;height:1em;width:{share * 100:.0f}%'>"
        f"</div></td></tr>"
        for title, share in shares.items())
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(caption)}</title></head><body>"
            f"<table style='width:100%'><caption>{html.escape(caption)}</caption>"
            "<thead><tr><th scope='col'>Module</th><th scope='col'>Completed</th>"
            f"<th scope='col'><span class='visually-hidden'>Bar</span></th></tr></thead><tbody>{rows}"
            "</tbody></table></body></html>")


def chart_png(shares: Mapping[str, float], path: Path) -> bool:
    """A PNG bar chart with matplotlib when it is installed; False when it is not."""
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = [t.split(":")[0] for t in shares]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(labels, [v * 100 for v in shares.values()], color="#1f5f8b")
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of learners")
    ax.set_title("Completion by module")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True


def normalise_name(name: str) -> str:
    """A name for matching: accents dropped, case folded, spaces collapsed, "Last, First" turned round."""
    name = unicodedata.normalize("NFKD", name)
    name = "".join(ch for ch in name if not unicodedata.combining(ch))
    name = re.sub(r"\s*\((?:guest|external|unverified|gast)\)\s*$", "", name, flags=re.IGNORECASE)
    if name.count(",") == 1:
        last, first = name.split(",")
        name = f"{first} {last}"
    return " ".join(name.casefold().split())
