"""The course's parts, their planned workload and the completion requirements, read from one file."""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from se4u.config import PACKAGE_DIR

COURSE_FILE = PACKAGE_DIR / "data" / "course.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Part(_Strict):
    """One part of the course (the introduction, a module or the exit survey)."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    title: str = Field(min_length=1)
    minutes: int = Field(gt=0)
    notebook: str


class Requirement(_Strict):
    """One completion requirement and the kinds of cohort it applies to."""

    id: str
    label: str
    cohorts: list[Literal["self_paced", "live_sessions"]]


class Course(_Strict):
    """The course as a whole: title, parts in order, completion requirements."""

    schema_version: Literal[1]
    title: str
    short_title: str
    language: str
    parts: list[Part] = Field(min_length=1)
    completion: list[Requirement]

    @property
    def total_minutes(self) -> int:
        """The planned workload of the whole course, in minutes."""
        return sum(part.minutes for part in self.parts)

    def part(self, part_id: str) -> Part:
        """The part with this id; KeyError names the known ids."""
        for part in self.parts:
            if part.id == part_id:
                return part
        raise KeyError(f"no course part {part_id!r}; known: {', '.join(p.id for p in self.parts)}")

    def requirements_for(self, cohort: str) -> list[Requirement]:
        """The completion requirements for a kind of cohort (``self_paced`` or ``live_sessions``)."""
        return [req for req in self.completion if cohort in req.cohorts]


def format_minutes(minutes: int) -> str:
    """A workload as a learner reads it: ``30 minutes``, ``2.5 hours``, ``3 hours``."""
    if minutes < 60:
        return f"{minutes} minutes"
    hours = minutes / 60
    text = f"{hours:.1f}".rstrip("0").rstrip(".")
    return f"{text} hour" if text == "1" else f"{text} hours"


@lru_cache(maxsize=4)
def load_course(path: Path = COURSE_FILE) -> Course:
    """Read and validate the course file; a broken file raises ValueError naming file and field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return Course.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the course file: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: field {where!r}: {first['msg']}") from None


def workload_table_html(course: Course | None = None) -> str:
    """The workload table as an accessible HTML table (caption, header cells, total row)."""
    course = course or load_course()
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(p.title)}</th><td>{format_minutes(p.minutes)}</td></tr>"
        for p in course.parts
    )
    return (
        "<table class='se4u-workload'><caption>Planned workload</caption>"
        "<thead><tr><th scope='col'>Part</th><th scope='col'>Time</th></tr></thead>"
        f"<tbody>{rows}</tbody><tfoot><tr><th scope='row'>Total</th>"
        f"<td>{format_minutes(course.total_minutes)}</td></tr></tfoot></table>"
    )


def requirements_html(cohort: str, course: Course | None = None) -> str:
    """The completion requirements of a kind of cohort as an HTML list."""
    course = course or load_course()
    items = "".join(f"<li>{html.escape(r.label)}</li>" for r in course.requirements_for(cohort))
    return f"<ul class='se4u-requirements'>{items}</ul>"
