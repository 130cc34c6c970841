"""Live-session attendance, imported from the attendance report Microsoft Teams exports for a meeting.

The report is a CSV in UTF-16 LE with a byte-order mark (or UTF-8 with a BOM in newer exports),
separated by tabs, with a summary block ("1. Summary": meeting title, start and end times …) before
the participant list ("2. Participants") and often a per-join list ("3. In-Meeting Activities").
Durations read like ``1h 5m 3s``. A person who joined several times may be listed several times:
their durations are summed. Each participant is matched to a learner of the roster by email (or UPN)
and then by name; a participant who matches no learner, or several, is listed and never guessed.

Attendance is kept in the response store's database, in its own table, and each import replaces a
session's rows in one transaction.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Float, MetaData, String, Table, delete, select
from sqlalchemy.exc import SQLAlchemyError

from se4u.completion import CompletionError, Learner, normalise_name
from se4u.store import open_engine

MAX_REPORT_BYTES = 20_000_000

metadata = MetaData()
attendance_table = Table(
    "live_attendance",
    metadata,
    Column("session", String(64), primary_key=True),
    Column("learner", String(128), primary_key=True),
    Column("minutes", Float, nullable=False),
    Column("min_minutes", Float, nullable=False),
    Column("source", String(255), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
)


class AttendanceError(CompletionError):
    """An attendance report or the attendance store cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Participant:
    """One person in the report, their joins summed."""

    name: str
    email: str
    seconds: int
    joins: int
    role: str = ""

    @property
    def minutes(self) -> float:
        """Time in the meeting, in minutes."""
        return self.seconds / 60


@dataclass
class Report:
    """A parsed Teams attendance report."""

    title: str
    participants: list[Participant]
    summary: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportResult:
    """What an import did: minutes per matched learner and the participants it could not match."""

    session: str
    minutes: dict[str, float]
    attended: list[str]
    too_short: list[str]
    unmatched: list[tuple[Participant, str]]


# ==================================================================================================
# Reading the report
# ==================================================================================================
DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$", re.IGNORECASE)
CLOCK = re.compile(r"^\s*(\d+):(\d{1,2}):(\d{1,2})\s*$")
NAME_COLUMNS = ("name", "full name", "participant", "participant name")
DURATION_COLUMNS = ("in-meeting duration", "duration", "attendance duration", "time in meeting")
EMAIL_COLUMNS = ("email", "e-mail", "email address")
UPN_COLUMNS = ("participant id (upn)", "upn", "user principal name")
SECTION = re.compile(r"^\s*(\d+)\.\s+(.+?)\s*$")


def parse_duration(text: str) -> int:
    """Seconds from a Teams duration: ``1h 5m 3s``, ``45m 12s``, ``38s`` (or ``1:05:03``)."""
    clock = CLOCK.match(text)
    if clock:
        h, m, s = (int(g) for g in clock.groups())
        return h * 3600 + m * 60 + s
    match = DURATION.match(text)
    if not text.strip() or not match or not any(match.groups()):
        raise ValueError(f"not a duration: {text!r}")
    h, m, s = (int(g or 0) for g in match.groups())
    return h * 3600 + m * 60 + s


def decode_report(data: bytes) -> str:
    """The report's text, whatever of UTF-16 (with or without BOM) or UTF-8 (with or without BOM)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if len(data) > 1 and data[1:200:2].count(0) > len(data[1:200:2]) // 2:
        return data.decode("utf-16-le")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _index(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    return next((lowered.index(n) for n in names if n in lowered), None)


def read_report(path: Path) -> Report:
    """Parse a Teams attendance report; AttendanceError names the file and the line at fault."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise AttendanceError(f"{path}: the file is larger than {MAX_REPORT_BYTES // 1_000_000} MB; "
                                  "is it an attendance report?")
        data = path.read_bytes()
    except FileNotFoundError:
        raise AttendanceError(f"{path}: no such attendance report") from None
    except OSError as exc:
        raise AttendanceError(f"{path}: cannot read the attendance report: {exc}") from None
    try:
        text = decode_report(data)
    except UnicodeDecodeError:
        text = "\x00"
    if "\x00" in text:
        raise AttendanceError(f"{path}: the file is not text; expected a Teams attendance report (CSV)")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    delimiter = "\t" if sum("\t" in line for line in lines) >= max(1, len(lines) // 4) else ","
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    summary: dict[str, str] = {}
    section = ""
    header: list[str] | None = None
    header_line = 0
    people: dict[str, dict[str, object]] = {}
    for number, row in enumerate(rows, start=1):
        cells = [c.strip() for c in row]
        if not any(cells):
            if header is not None:
                header = None  # a blank line ends the participant list
                if people:
                    break
            continue
        heading = SECTION.match(cells[0]) if len([c for c in cells if c]) == 1 else None
        if heading:
            section = heading.group(2).lower()
            header = None
            if people:
                break  # the per-join list after the participants adds nothing
            continue
        if header is None:
            name_i, dur_i = _index(cells, NAME_COLUMNS), _index(cells, DURATION_COLUMNS)
            if name_i is not None and dur_i is not None and "summary" not in section:
                header, header_line = cells, number
                continue
            if len(cells) >= 2 and cells[0]:
                summary.setdefault(cells[0], cells[1])
            continue
        name_i, dur_i = _index(header, NAME_COLUMNS), _index(header, DURATION_COLUMNS)
        email_i, upn_i = _index(header, EMAIL_COLUMNS), _index(header, UPN_COLUMNS)
        role_i = _index(header, ("role",))

        def cell(i: int | None, cells: list[str] = cells) -> str:
            return cells[i] if i is not None and i < len(cells) else ""

        name = cell(name_i)
        try:
            seconds = parse_duration(cell(dur_i))
        except ValueError:
            raise AttendanceError(f"{path}, line {number}: {name or 'a participant'} has the duration "
                                  f"{cell(dur_i)!r}; expected e.g. '1h 5m 3s'") from None
        email = (cell(email_i) or cell(upn_i)).lower()
        upn = cell(upn_i).lower()
        key = email or upn or normalise_name(name)
        entry = people.setdefault(key, {"name": name, "email": email, "upn": upn, "seconds": 0, "joins": 0,
                                        "role": cell(role_i)})
        entry["seconds"] = int(entry["seconds"]) + seconds  # type: ignore[call-overload]
        entry["joins"] = int(entry["joins"]) + 1  # type: ignore[call-overload]
    if not people:
        if header_line:
            raise AttendanceError(f"{path}: the participant list (line {header_line}) is empty")
        raise AttendanceError(f"{path}: no participant list found; expected a Microsoft Teams attendance "
                              "report with a header such as 'Name, First Join, Last Leave, "
                              "In-Meeting Duration, Email'")
    title = summary.get("Meeting title") or summary.get("Meeting Title") or summary.get("Title") or ""
    participants = [Participant(str(p["name"]), str(p["email"] or p["upn"]), int(p["seconds"]),  # type: ignore[call-overload]
                                int(p["joins"]), str(p["role"])) for p in people.values()]  # type: ignore[call-overload]
    return Report(title, participants, summary)


# ==================================================================================================
# Matching participants to learners
# ==================================================================================================
def match(participants: list[Participant], roster: list[Learner]
          ) -> tuple[dict[str, list[Participant]], list[tuple[Participant, str]]]:
    """Participants per learner id (by email, then by exact name), and the unmatched with the reason."""
    by_email = {lr.email.lower(): lr for lr in roster if lr.email}
    by_name: dict[str, list[Learner]] = {}
    for lr in roster:
        by_name.setdefault(normalise_name(lr.name), []).append(lr)
    matched: dict[str, list[Participant]] = {}
    unmatched: list[tuple[Participant, str]] = []
    for person in participants:
        learner = by_email.get(person.email.lower()) if person.email else None
        if learner is None:
            candidates = by_name.get(normalise_name(person.name), [])
            if len(candidates) > 1:
                unmatched.append((person, "the name fits several learners: "
                                          + ", ".join(c.id for c in candidates)))
                continue
            if not candidates:
                unmatched.append((person, "no learner of the roster has this email or name"))
                continue
            learner = candidates[0]
        matched.setdefault(learner.id, []).append(person)
    return matched, unmatched


# ==================================================================================================
# The attendance store
# ==================================================================================================
class AttendanceStore:
    """Minutes per learner per live session, in the course's database (its own table)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = open_engine(url, metadata)
        except (SQLAlchemyError, OSError) as exc:
            raise AttendanceError(f"the attendance store at {url} cannot be opened: {exc}") from None

    def replace_session(self, session: str, minutes: dict[str, float], source: str,
                        min_minutes: float) -> None:
        """Replace everything recorded for a session with this import, in one transaction."""
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(attendance_table).where(attendance_table.c.session == session))
                if minutes:
                    conn.execute(attendance_table.insert(), [
                        {"session": session, "learner": learner, "minutes": value, "min_minutes": min_minutes,
                         "source": source[:255],
                         "imported_at": now} for learner, value in minutes.items()])
        except SQLAlchemyError as exc:
            raise AttendanceError(f"the attendance could not be saved ({exc}); nothing was changed") from None

    def minutes(self) -> dict[str, dict[str, float]]:
        """learner → {session: minutes}."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(attendance_table)).all()
        out: dict[str, dict[str, float]] = {}
        for row in rows:
            out.setdefault(row.learner, {})[row.session] = row.minutes
        return out

    def thresholds(self) -> dict[str, float]:
        """session → the minutes that counted as attending when it was imported."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(attendance_table.c.session, attendance_table.c.min_minutes)).all()
        return {row.session: row.min_minutes for row in rows}

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def import_report(path: Path, session: str, roster: list[Learner], store: AttendanceStore,
                  min_minutes: float) -> ImportResult:
    """Read a report, match it to the roster and record each matched learner's minutes for the session."""
    report = read_report(path)
    matched, unmatched = match(report.participants, roster)
    minutes = {learner: sum(p.seconds for p in people) / 60 for learner, people in matched.items()}
    store.replace_session(session, minutes, Path(path).name, min_minutes)
    attended = sorted(lr for lr, m in minutes.items() if m >= min_minutes)
    too_short = sorted(lr for lr, m in minutes.items() if m < min_minutes)
    return ImportResult(session, minutes, attended, too_short, unmatched)
