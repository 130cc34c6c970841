"""A learner's progress through the course, read from the notebooks and the response store.

What a part contains (its reading sections and its practice activities) is read from the built
notebooks themselves, so the progress pages always count what the learner actually sees.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat

from se4u.config import REPO_DIR
from se4u.course import Course, format_minutes, load_course
from se4u.store import Response, ResponseStore

NOTEBOOKS_DIR = REPO_DIR / "notebooks"
READ_CALL = re.compile(r'mark_as_read\("([a-z0-9_]+)", "([a-z0-9_-]+)"(?:, "([^"]*)")?(?:, (\d+))?')
ACTIVITY_CALL = re.compile(r'activity\("([a-z0-9_]+)", "([a-z0-9_-]+)"\)')
#: Activity types that count as practice to be done (surveys, forum posts and the like do not).
PRACTICE_TYPES = frozenset({"multiple_choice", "short_essay", "drag_to_categories", "drag_the_words",
                            "match_pairs", "order_items", "jigsaw"})


@dataclass(frozen=True)
class Section:
    """A reading section of a part, with its planned minutes."""

    key: str
    title: str
    minutes: int


@dataclass(frozen=True)
class Outline:
    """What one part of the course asks of a learner."""

    sections: tuple[Section, ...] = ()
    activities: tuple[str, ...] = ()


@dataclass
class PartProgress:
    """How far a learner is in one part."""

    part_id: str
    title: str
    notebook: str
    minutes: int
    readings_done: int = 0
    readings_total: int = 0
    activities_done: int = 0
    activities_total: int = 0
    next_step: str = ""
    unread: list[str] = field(default_factory=list)

    @property
    def done(self) -> int:
        """Readings and activities completed."""
        return self.readings_done + self.activities_done

    @property
    def total(self) -> int:
        """Readings and activities in the part."""
        return self.readings_total + self.activities_total

    @property
    def fraction(self) -> float:
        """0 to 1; a part with nothing to count is complete once opened (or never, if unknown)."""
        return self.done / self.total if self.total else 0.0

    @property
    def minutes_left(self) -> int:
        """Planned minutes still ahead, in proportion to what is left."""
        return round(self.minutes * (1 - self.fraction))


@lru_cache(maxsize=32)
def _outline(path: Path, mtime_ns: int) -> Outline:
    from se4u.banks import BankError, read_bank

    notebook = nbformat.read(path, as_version=4)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    sections = tuple(Section(f"{part}/read:{slug}", title or slug, int(minutes or 0))
                     for part, slug, title, minutes in READ_CALL.findall(code))
    activities = []
    for bank_name, activity_id in ACTIVITY_CALL.findall(code):
        try:
            spec = read_bank(path.parent / "banks" / f"{bank_name}.yaml").get(activity_id)
        except BankError:
            continue
        if spec.type in PRACTICE_TYPES:
            activities.append(f"{bank_name}/{activity_id}")
    return Outline(sections, tuple(activities))


def outline(notebook: Path) -> Outline:
    """The reading sections and practice activities a notebook shows (empty if it is missing)."""
    try:
        return _outline(notebook, notebook.stat().st_mtime_ns)
    except (OSError, ValueError):
        return Outline()


def is_done(response: Response | None) -> bool:
    """Whether a saved response counts as done: read, checked at least once, or submitted."""
    if response is None:
        return False
    if response.kind == "reading":
        return response.state.get("done") is True
    if response.kind == "short_essay":
        return response.state.get("submitted") is True
    return response.attempts > 0


def course_progress(store: ResponseStore, learner: str, course: Course | None = None,
                    notebooks_dir: Path = NOTEBOOKS_DIR) -> list[PartProgress]:
    """The learner's progress in every part of the course, in course order."""
    course = course or load_course()
    saved = {r.activity: r for r in store.responses_of(learner)}
    parts = []
    for part in course.parts:
        shape = outline(notebooks_dir / part.notebook)
        progress = PartProgress(part.id, part.title, part.notebook, part.minutes,
                                readings_total=len(shape.sections),
                                activities_total=len(shape.activities))
        for section in shape.sections:
            if is_done(saved.get(section.key)):
                progress.readings_done += 1
            else:
                progress.unread.append(section.title)
        todo = [key for key in shape.activities if not is_done(saved.get(key))]
        progress.activities_done = len(shape.activities) - len(todo)
        if progress.unread:
            progress.next_step = f"Read “{progress.unread[0]}”"
        elif todo:
            progress.next_step = f"{len(todo)} practice activit{'ies' if len(todo) > 1 else 'y'} to do"
        parts.append(progress)
    return parts


def next_part(parts: list[PartProgress]) -> PartProgress | None:
    """The first part with something left to do."""
    return next((p for p in parts if p.total and p.done < p.total), None)


def home_html(parts: list[PartProgress]) -> str:
    """The course map: every part with its progress bar, time left and a link."""
    following = next_part(parts)
    left = sum(p.minutes_left if p.total else 0 for p in parts)
    rows = []
    for p in parts:
        percent = round(p.fraction * 100)
        state = "complete" if p.total and p.done == p.total else f"{percent}% done" if p.total else ""
        detail = (f"{p.readings_done} of {p.readings_total} readings, "
                  f"{p.activities_done} of {p.activities_total} activities" if p.total else
                  f"planned time {format_minutes(p.minutes)}")
        current = " aria-current='step'" if following is p else ""
        bar = (f"<progress max='100' value='{percent}' aria-label='{html.escape(p.title)}: {percent}%'>"
               f"{percent}%</progress>" if p.total else "")
        rows.append(
            f"<li class='se4u-part'{current}><a href='{html.escape(p.notebook)}'>{html.escape(p.title)}</a>"
            f"<span class='se4u-part-state'>{html.escape(state)}</span>{bar}"
            f"<span class='se4u-part-detail'>{html.escape(detail)}</span></li>")
    if following:
        suggestion = (f"<p class='se4u-next'><strong>Next step:</strong> "
                      f"<a href='{html.escape(following.notebook)}'>{html.escape(following.title)}</a>"
                      f" — {html.escape(following.next_step)}.</p>")
    else:
        suggestion = "<p class='se4u-next'><strong>All readings and activities are done.</strong></p>"
    return (f"<section class='se4u-home' aria-label='Your course map'>{suggestion}"
            f"<p class='se4u-left'>About {html.escape(format_minutes(left) if left else '0 minutes')} "
            f"of planned work left.</p><ol class='se4u-parts'>{''.join(rows)}</ol></section>")


def progress_html(parts: list[PartProgress], cohort: str = "self_paced",
                  course: Course | None = None, *, status: dict[str, bool | None] | None = None,
                  certificate_url: str = "") -> str:
    """'My progress': a table per module and the completion requirements, each met or not yet.

    ``status`` (requirement id → met) adds what the store alone cannot tell (tests, forum, attendance);
    ``certificate_url`` is the learner's own certificate, linked once every requirement is met.
    """
    course = course or load_course()
    body = "".join(
        f"<tr><th scope='row'><a href='{html.escape(p.notebook)}'>{html.escape(p.title)}</a></th>"
        f"<td>{p.readings_done} / {p.readings_total}</td><td>{p.activities_done} / {p.activities_total}</td>"
        f"<td>{round(p.fraction * 100)}%</td></tr>"
        for p in parts if p.total)
    readings_met = all(p.readings_done == p.readings_total for p in parts)
    status = {"readings": readings_met, **(status or {})}
    items = []
    for req in course.requirements_for(cohort):
        met = status.get(req.id)
        label = "met" if met else "not yet met" if met is False else "not recorded here yet"
        items.append(f"<li data-met='{'yes' if met else 'no'}'>{html.escape(req.label)}: "
                     f"<strong>{label}</strong></li>")
    certificate = "<p>The certificate can be downloaded here once every requirement is met.</p>"
    if certificate_url and all(status.get(r.id) is True for r in course.requirements_for(cohort)):
        # an embedded PDF needs a file name; a served one names itself (Content-Disposition)
        download = " download='se4u-certificate.pdf'" if certificate_url.startswith("data:") else ""
        certificate = (f"<p class='se4u-certificate'><a href='{html.escape(certificate_url)}'{download}>"
                       "Download your e-certificate (PDF)</a></p>")
    return (
        "<section class='se4u-progress'><table class='se4u-progress-table'>"
        "<caption>Readings and practice activities by module</caption><thead><tr>"
        "<th scope='col'>Part</th><th scope='col'>Readings</th><th scope='col'>Activities</th>"
        f"<th scope='col'>Done</th></tr></thead><tbody>{body}</tbody></table>"
        "<h2>Requirements for the e-certificate</h2>"
        f"<ul class='se4u-requirements'>{''.join(items)}</ul>"
        f"{certificate}</section>")
