"""Administrator commands: ``se4u applications list/accept/reject`` and ``se4u cohort create``.

``se4u cohort create --call X`` turns the call's accepted applicants into the cohort's roster: an
nbgrader student each (``Gradebook.update_or_create_student``) and an entry in the hub users file
(JSON that the hub config reads; no system account is touched). It respects the call's cohort
limit and is idempotent: an enrolled applicant keeps their learner id, and running it twice
creates nobody twice.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from se4u.applications import STATUSES, ApplicationBook, ApplicationError, load_call, load_calls
from se4u.config import REPO_DIR

USERS_FILE = "hub_users.json"


@dataclass
class CohortResult:
    """What ``cohort create`` did: learners created now, already there, and applicants left waiting."""

    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)


def learner_id(email: str, taken: set[str]) -> str:
    """A hub and nbgrader user name from the e-mail address: lower-case letters and digits, unique."""
    base = re.sub(r"[^a-z0-9]", "", email.split("@")[0].casefold())[:24] or "learner"
    if base[0].isdigit():
        base = f"l{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def read_users(path: Path) -> dict[str, Any]:
    """The hub users file (``{"learners": [{"username", "name", "email", "call"}, ...]}``)."""
    if not path.is_file():
        return {"learners": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApplicationError(f"{path}: the hub users file cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("learners"), list):
        raise ApplicationError(f"{path}: the hub users file must hold a 'learners' list")
    return data


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    Path(tmp).replace(path)


def create_cohort(book: ApplicationBook, call_id: str, course: Path, users_file: Path | None = None,
                  ) -> CohortResult:
    """Enrol the call's accepted applicants, up to the cohort limit, in nbgrader and the hub users file."""
    from nbgrader.api import Gradebook

    from se4u.completion import gradebook_url

    call = load_call(call_id)
    users_file = users_file or course / USERS_FILE
    users = read_users(users_file)
    listed = {u["username"]: u for u in users["learners"] if isinstance(u, dict) and "username" in u}
    enrolled = book.search(call=call.id, status="enrolled")
    accepted = book.search(call=call.id, status="accepted")
    result = CohortResult()
    taken = set(listed) | {r["learner"] for r in book.search(status="enrolled") if r["learner"]}
    to_enrol: list[tuple[int | None, dict[str, Any]]] = [(None, r) for r in enrolled]
    places = len(accepted) if call.cohort_limit is None else call.cohort_limit - len(enrolled)
    for row in accepted:
        if places <= 0:
            result.waiting.append(row["id"])
            continue
        row["learner"] = learner_id(row["email"], taken)
        taken.add(row["learner"])
        to_enrol.append((row["id"], row))
        places -= 1
    # nbgrader creates a new gradebook with the `alembic` script of its own environment
    tools = str(Path(sys.executable).parent)
    if tools not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"
    with Gradebook(gradebook_url(course)) as gb:
        for new_id, row in to_enrol:
            first, _, last = row["name"].partition(" ")
            known = {s.id for s in gb.students}
            gb.update_or_create_student(row["learner"], first_name=first, last_name=last, email=row["email"])
            is_new = row["learner"] not in known or row["learner"] not in listed
            listed[row["learner"]] = {"username": row["learner"], "name": row["name"], "email": row["email"],
                                      "call": call.id}
            if new_id is not None:
                book.enrol(new_id, row["learner"])
            (result.created if is_new else result.existing).append(row["learner"])
    users["learners"] = sorted(listed.values(), key=lambda u: u["username"])
    _write_atomically(users_file, json.dumps(users, indent=2, ensure_ascii=False) + "\n")
    return result


# ==================================================================================================
# The commands
# ==================================================================================================
def course_folder(explicit: str | Path | None = None) -> Path:
    """The nbgrader course folder: the one given, else here if this is one, else the repository."""
    if explicit:
        return Path(explicit).resolve()
    here = Path.cwd()
    return here if (here / "nbgrader_config.py").is_file() else REPO_DIR


def _cmd_list(args: argparse.Namespace) -> int:
    book = ApplicationBook()
    rows = book.search(call=args.call, status=args.status, country=args.country)
    for r in rows:
        print(f"{r['id']:>5}  {r['call']:<14} {r['status']:<10} {r['country']:<24} "
              f"{r['organisation_type']:<15} {r['name']} <{r['email']}> — {r['organisation']}")
        if r["reasons"] and args.reasons:
            print(f"       {r['reasons']}")
    print(f"{len(rows)} application(s)")
    return 0


def _cmd_decide(args: argparse.Namespace) -> int:
    book = ApplicationBook()
    failed = 0
    for app_id in args.ids:
        try:
            book.decide(app_id, args.status, getattr(args, "reason", "") or "")
            print(f"{args.status}: application {app_id}")
        except ApplicationError as exc:
            failed += 1
            print(f"error: {exc}")
    return 1 if failed else 0


def _cmd_cohort(args: argparse.Namespace) -> int:
    try:
        result = create_cohort(ApplicationBook(), args.call, course_folder(args.course),
                               Path(args.users_file) if args.users_file else None)
    except ApplicationError as exc:
        print(f"error: {exc}")
        return 1
    print(f"created {len(result.created)} learner(s): {', '.join(result.created) or '-'}")
    print(f"already enrolled: {len(result.existing)}")
    if args.accounts:
        from se4u.service.commands import hub_state
        from se4u.service.hub import PASSWORDS_FILE, HubError, ensure_accounts

        passwords = Path(args.hub_state or hub_state()) / PASSWORDS_FILE
        try:
            new = ensure_accounts([*result.created, *result.existing], [], passwords)
        except HubError as exc:
            print(f"error: {exc}")
            return 1
        print(f"hub accounts: {len(new)} new (passwords shown once; also kept in {passwords}, mode 0600)")
        for name, password in new.items():
            print(f"  {name:<16} {password}")
    if result.waiting:
        print(f"cohort full: {len(result.waiting)} accepted application(s) wait for a place: "
              f"{', '.join(map(str, result.waiting))}")
    return 0


def _cmd_calls_list(_args: argparse.Namespace) -> int:
    for call in load_calls():
        print(f"{call.id:<14} {call.title}\n{'':<14} {call.terms()}")
    return 0


def _when(value: str) -> datetime | None:
    if value.lower() == "none":
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date such as 2027-01-31 or "
                                         "2027-01-31T23:59:59+00:00") from None
    if moment.tzinfo is None:  # a bare date means the end of that day, UTC
        moment = moment.replace(hour=23, minute=59, second=59, tzinfo=UTC) if len(value) == 10 else \
            moment.replace(tzinfo=UTC)
    return moment


def _places(value: str) -> int | None:
    if value.lower() == "none":
        return None
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of places (1 or more, or none)")
    return int(value)


def _cmd_calls_set(args: argparse.Namespace) -> int:
    from se4u.applications import set_call_terms

    changes: dict[str, Any] = {}
    if args.deadline is not _KEEP:
        changes["deadline"] = args.deadline
    if args.limit is not _KEEP:
        changes["cohort_limit"] = args.limit
    if args.closed is not None:
        changes["closed"] = args.closed
    if not changes:
        print("error: nothing to set: give --deadline, --limit, --close or --open")
        return 1
    try:
        call = set_call_terms(args.call, **changes)
    except ApplicationError as exc:
        print(f"error: {exc}")
        return 1
    print(f"{call.id}: {call.terms()}")
    return 0


_KEEP: Any = object()


def add_commands(commands: Any) -> None:
    """Register ``applications`` and ``cohort`` on the se4u command's subparsers."""
    apps = commands.add_parser("applications", help="list, accept or reject applications")
    sub = apps.add_subparsers(dest="applications_command", required=True)
    listing = sub.add_parser("list", help="the applications, oldest first")
    listing.add_argument("--call")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--country")
    listing.add_argument("--reasons", action="store_true", help="also show why ineligible ones are")
    listing.set_defaults(run=_cmd_list)
    accept = sub.add_parser("accept", help="accept applications by number")
    accept.add_argument("ids", type=int, nargs="+")
    accept.set_defaults(run=_cmd_decide, status="accepted")
    reject = sub.add_parser("reject", help="reject applications by number")
    reject.add_argument("ids", type=int, nargs="+")
    reject.add_argument("--reason", default="")
    reject.set_defaults(run=_cmd_decide, status="rejected")
    calls = commands.add_parser("calls", help="the calls for applications: deadlines, places, open or closed")
    calls_sub = calls.add_subparsers(dest="calls_command", required=True)
    listed = calls_sub.add_parser("list", help="every call with its deadline and places")
    listed.set_defaults(run=_cmd_calls_list)
    terms = calls_sub.add_parser("set", help="set a call's deadline or places, or close or open it")
    terms.add_argument("call")
    terms.add_argument("--deadline", type=_when, default=_KEEP,
                       help="YYYY-MM-DD (end of that day, UTC), an ISO time with its zone, or none")
    terms.add_argument("--limit", type=_places, default=_KEEP, help="number of places, or none")
    state = terms.add_mutually_exclusive_group()
    state.add_argument("--close", dest="closed", action="store_const", const=True, default=None)
    state.add_argument("--open", dest="closed", action="store_const", const=False)
    terms.set_defaults(run=_cmd_calls_set)
    cohort = commands.add_parser("cohort", help="form a cohort from accepted applications")
    csub = cohort.add_subparsers(dest="cohort_command", required=True)
    create = csub.add_parser("create", help="enrol accepted applicants in nbgrader and the hub users file")
    create.add_argument("--call", required=True)
    create.add_argument("--course", help="the course folder (default: here, or the repository)")
    create.add_argument("--users-file", help=f"the hub users file (default: {USERS_FILE} in the course)")
    create.add_argument("--accounts", action="store_true",
                        help="also create the learners' system accounts for the local hub (as root); "
                             "they may sign in at once")
    create.add_argument("--hub-state", help="the local hub's state folder (where passwords are kept)")
    create.set_defaults(run=_cmd_cohort)
