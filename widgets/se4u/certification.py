"""Instructor commands: ``se4u attendance import``, ``se4u completion report``, ``se4u certificates``.

Every problem with an input (a malformed Teams report, an unknown session, a missing roster, no
key) ends the command with one ``error:`` line and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from se4u.completion import COHORTS, CompletionError


def _store_url(args: argparse.Namespace) -> str:
    from se4u.config import load_settings, store_url_from

    return store_url_from(args.store) if args.store else load_settings().store_url


def _course_dir(value: str | None) -> Path:
    from se4u.config import REPO_DIR

    if value:
        return Path(value).resolve()
    return Path.cwd() if (Path.cwd() / "nbgrader_config.py").exists() else REPO_DIR


def _cohort(args: argparse.Namespace) -> list[Any]:
    """The cohort's completions and roster, from every source of evidence."""
    from se4u.attendance import AttendanceStore
    from se4u.completion import (
        cohort_completion,
        gradebook_results,
        load_rules,
        read_forum_counts,
        read_roster,
    )
    from se4u.store import ResponseStore

    rules = load_rules(args.cohort)
    roster = read_roster(Path(args.roster))
    url = _store_url(args)
    store = ResponseStore(url)
    attendance = AttendanceStore(url)
    try:
        forum = read_forum_counts(Path(args.forum)) if args.forum else None
        completions = cohort_completion(
            rules, roster, store, tests=gradebook_results(_course_dir(args.course)), forum=forum,
            attendance=attendance.minutes(), needed=attendance.thresholds())
    finally:
        store.close()
        attendance.close()
    return [rules, roster, completions, url]


def _attendance_import(args: argparse.Namespace) -> int:
    from se4u.attendance import AttendanceStore, import_report
    from se4u.completion import load_rules, read_roster

    rules = load_rules("live_sessions")
    session = rules.attendance.session(args.session)
    min_minutes = args.min_minutes
    if min_minutes is None:
        min_minutes = rules.attendance.minutes_needed(session)
    roster = read_roster(Path(args.roster))
    store = AttendanceStore(_store_url(args))
    try:
        result = import_report(Path(args.file), session.id, roster, store, min_minutes)
    finally:
        store.close()
    print(f"{session.title}: {len(result.minutes)} learners matched, {len(result.attended)} attended "
          f"for at least {min_minutes:g} minutes")
    for learner in result.too_short:
        print(f"  too short: {learner} ({result.minutes[learner]:.0f} minutes)")
    if result.unmatched:
        print(f"{len(result.unmatched)} participants not matched to the roster (add them to the roster "
              "or fix their email, then import again):")
        for person, reason in result.unmatched:
            print(f"  unmatched: {person.name} <{person.email or 'no email'}> {person.minutes:.0f} minutes "
                  f"— {reason}")
    return 0


def _completion_report(args: argparse.Namespace) -> int:
    from se4u.completion import chart_html, chart_png, completion_by_module, report_table

    _rules, roster, completions, _url = _cohort(args)
    table = report_table(completions, roster)
    out = Path(args.csv)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out)
        shares = completion_by_module(completions)
        chart = out.with_suffix(".html")
        chart.write_text(chart_html(shares), encoding="utf-8")
        png = out.with_suffix(".png")
        drew = chart_png(shares, png)
    except OSError as exc:
        raise CompletionError(f"{out}: cannot write the report: {exc}") from None
    done = sum(c.complete for c in completions)
    print(f"{done} of {len(completions)} learners complete; wrote {out} and {chart}"
          + (f" and {png}" if drew else ""))
    print(table[["complete", "missing"]].to_string())
    return 0


def _through_service(path: str, body: Any) -> Any:
    """Ask the course service (on a hub it holds the signing key and the register)."""
    from se4u.certificates import CertificateError
    from se4u.records import ServiceUnavailableError, service_request

    try:
        status, answer = service_request("POST", path, body, timeout=60)
    except ServiceUnavailableError as exc:
        raise CertificateError(str(exc)) from None
    if status != 200:
        raise CertificateError(f"the course service refused: {(answer or {}).get('error', status)}")
    return answer


def _certificates_issue_on_hub(completions: list[Any], names: dict[str, str], day: date | None) -> int:
    ready = [c for c in completions if c.complete]
    for completion in completions:
        if not completion.complete:
            print(f"not issued: {completion.learner} — " + "; ".join(m.text for m in completion.missing))
    if ready:
        body = {"certificates": [{"learner": c.learner, "name": names[c.learner], "cohort": c.cohort,
                                  "requirements": c.met_labels(), "issued": day.isoformat() if day else None}
                                 for c in ready]}
        for cert in _through_service("api/certificates", body)["certificates"]:
            print(f"issued: {cert['learner']} ({cert['name']}) {cert['code']} → the learner downloads it "
                  "from My progress")
    print(f"{len(ready)} of {len(completions)} learners have a certificate")
    return 0


def _certificates_issue(args: argparse.Namespace) -> int:
    from se4u.certificates import Register, certificate_file, issue, load_key, render_pdf
    from se4u.records import service_target

    _rules, roster, completions, url = _cohort(args)
    if service_target() is not None and not args.local:
        return _certificates_issue_on_hub(completions, {lr.id: lr.name for lr in roster},
                                          date.fromisoformat(args.date) if args.date else None)
    key = load_key()
    names = {lr.id: lr.name for lr in roster}
    day = date.fromisoformat(args.date) if args.date else None
    reg = Register(url)
    issued = 0
    try:
        for completion in completions:
            if not completion.complete:
                print(f"not issued: {completion.learner} — "
                      + "; ".join(m.text for m in completion.missing))
                continue
            cert = issue(completion, names[completion.learner], reg, key, issued=day)
            path = render_pdf(cert, certificate_file(Path(args.out), completion.learner),
                              verify_base=args.verify_url)
            issued += 1
            print(f"issued: {completion.learner} ({cert.name}) {cert.code} → {path}")
    finally:
        reg.close()
    print(f"{issued} of {len(completions)} learners have a certificate")
    return 0


def _certificates_verify(args: argparse.Namespace) -> int:
    from se4u.certificates import Register, load_key, verify

    reg = Register(_store_url(args))
    try:
        result = verify(args.code, reg, load_key(create=False))
    finally:
        reg.close()
    if result.valid and result.certificate:
        cert = result.certificate
        print(f"valid: {cert.name} ({cert.learner}), issued {cert.issued}, cohort {cert.cohort}")
        return 0
    print(f"invalid: {result.reason}")
    return 1


def _certificates_revoke(args: argparse.Namespace) -> int:
    from se4u.certificates import Register, load_key, revoke
    from se4u.records import service_target

    if service_target() is not None and not args.local:
        done = _through_service("api/certificates/revocations", {"code": args.code, "reason": args.reason})
        print(f"revoked: {done['revoked']} of {done['learner']}; the verification page now says so")
        return 0
    reg = Register(_store_url(args))
    try:
        cert = revoke(args.code, args.reason, reg, load_key(create=False))
    finally:
        reg.close()
    print(f"revoked: {cert.code} of {cert.name} ({cert.learner}), issued {cert.issued}; "
          "the verification page now says so")
    return 0


def _guarded(run: Any) -> Any:
    def wrapper(args: argparse.Namespace) -> int:
        from se4u.config import ConfigError
        from se4u.store import StoreError

        try:
            return int(run(args))
        except (CompletionError, ConfigError, StoreError) as exc:
            print(f"error: {exc}")
            return 2
    return wrapper


def _common(parser: argparse.ArgumentParser, roster: bool = True) -> None:
    parser.add_argument("--store", help="the course database (default: $SE4U_STORE or the config file)")
    if roster:
        parser.add_argument("--roster", required=True, help="CSV with id, name (or first/last_name), email")


def _cohort_options(parser: argparse.ArgumentParser) -> None:
    _common(parser)
    parser.add_argument("--cohort", choices=COHORTS, default="self_paced", help="the kind of cohort")
    parser.add_argument("--course", help="the nbgrader course folder (default: here, or the repository)")
    parser.add_argument("--forum", help="CSV with learner, module, posts, replies (default: not recorded)")


def add_commands(commands: Any) -> None:
    """Register ``attendance``, ``completion`` and ``certificates`` on the se4u command's subparsers."""
    attendance = commands.add_parser("attendance", help="live-session attendance from Teams reports")
    sub = attendance.add_subparsers(dest="attendance_command", required=True)
    imp = sub.add_parser("import", help="import a Microsoft Teams attendance report for one session")
    imp.add_argument("file", help="the attendance report (.csv) downloaded from Teams")
    imp.add_argument("--session", required=True, help="the session id in completion/live_sessions.yaml")
    imp.add_argument("--min-minutes", type=float,
                     help="minutes that count as attending (default: the session's in the rules)")
    _common(imp)
    imp.set_defaults(run=_guarded(_attendance_import))

    completion = commands.add_parser("completion", help="who has completed the course")
    sub = completion.add_subparsers(dest="completion_command", required=True)
    report = sub.add_parser("report", help="a table of who is complete and what is missing, and a chart")
    report.add_argument("--csv", default="completion.csv", help="the table (a chart is written beside it)")
    _cohort_options(report)
    report.set_defaults(run=_guarded(_completion_report))

    certificates = commands.add_parser("certificates", help="issue and verify e-certificates")
    sub = certificates.add_subparsers(dest="certificates_command", required=True)
    iss = sub.add_parser("issue", help="a PDF for every learner who met every requirement")
    _cohort_options(iss)
    iss.add_argument("--out", default="certificates", help="the folder for the PDFs")
    iss.add_argument("--date", help="the date of issue, YYYY-MM-DD (default: today)")
    iss.add_argument("--local", action="store_true",
                     help="sign here even on a hub (default there: the course service signs and serves)")
    iss.add_argument("--verify-url", help="the verification page (default: $SE4U_VERIFY_URL)")
    iss.set_defaults(run=_guarded(_certificates_issue))
    ver = sub.add_parser("verify", help="check a certificate's verification code")
    ver.add_argument("code")
    _common(ver, roster=False)
    ver.set_defaults(run=_guarded(_certificates_verify))
    rev = sub.add_parser("revoke", help="revoke a certificate: its code stops verifying")
    rev.add_argument("code")
    rev.add_argument("--reason", required=True, help="why (shown to whoever checks the code)")
    rev.add_argument("--local", action="store_true", help="revoke in the local register even on a hub")
    _common(rev, roster=False)
    rev.set_defaults(run=_guarded(_certificates_revoke))
