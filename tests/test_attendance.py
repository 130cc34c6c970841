"""Attendance import from Microsoft Teams reports: encodings, summary block, repeated joins, matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from se4u.attendance import (
    AttendanceError,
    AttendanceStore,
    import_report,
    match,
    parse_duration,
    read_report,
)
from se4u.cli import main
from se4u.completion import Learner, read_roster

TEAMS = Path(__file__).parent / "fixtures" / "teams"
LIVE1 = TEAMS / "live1_attendance_report.csv"
BREAKOUT1 = TEAMS / "breakout1_attendance_report.csv"
ROSTER = TEAMS / "roster.csv"


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h 5m 3s", 3903), ("45m 12s", 2712), ("38s", 38), ("1h 26m", 5160), ("40m", 2400), ("1:05:03", 3903)])
def test_teams_durations(text, seconds):
    """Are Teams durations such as '1h 5m 3s', '45m 12s' and '38s' read as seconds?"""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "about an hour", "5 minutes ago"])
def test_not_a_duration(text):
    """Is text that is not a duration refused?"""
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_utf16_report_with_summary_block_and_repeated_joins():
    """Is a UTF-16 LE report (BOM, tabs, summary block) read, repeated joins summed, per-join list ignored?"""
    assert LIVE1.read_bytes()[:2] == b"\xff\xfe"
    report = read_report(LIVE1)
    assert report.title.startswith("SE4U Live session 1")
    assert report.summary["Meeting duration"] == "1h 33m 28s"
    amina = next(p for p in report.participants if p.name == "Amina Diallo")
    assert (amina.seconds, amina.joins) == (41 * 60 + 7 + 45 * 60 + 11, 2)
    assert amina.email == "amina.diallo@ngo-sahel.org"
    assert len(report.participants) == 7 - 1  # Amina's two rows are one person


def test_utf8_bom_report_with_upn_only_and_three_joins():
    """Is a UTF-8-with-BOM report read, an empty email replaced by the UPN, and three joins summed?"""
    assert BREAKOUT1.read_bytes()[:3] == b"\xef\xbb\xbf"
    people = {p.name: p for p in read_report(BREAKOUT1).participants}
    assert people["Amina Diallo"].email == "amina.diallo@ngo-sahel.org"
    assert people["Eitan Levi"].seconds == 38 * 60 + 38 + 38 + 19 * 60
    assert people["Eitan Levi"].joins == 3


def test_matching_by_email_then_name_and_unmatched_listed():
    """Are participants matched by email, then by name (guest tag, 'Last, First', accents)?"""
    matched, unmatched = match(read_report(LIVE1).participants, read_roster(ROSTER))
    assert set(matched) == {"amina", "bola", "chen", "dolores"}
    assert matched["bola"][0].name == "Bola Adeyemi (Guest)"
    assert matched["dolores"][0].name == "Núñez, Dolores"
    assert sorted(p.name for p, _ in unmatched) == ["Facilitator UNODC", "Mobile caller +41 22 ••• 55"]
    assert all("no learner of the roster" in reason for _, reason in unmatched)


def test_a_name_shared_by_two_learners_is_not_guessed():
    """When a participant's name fits two learners and no email decides, is the row listed, not guessed?"""
    roster = [Learner("amina1", "Amina Diallo", "a1@x.org"), Learner("amina2", "Amina Diallo", "a2@x.org")]
    report = read_report(BREAKOUT1)  # Amina's UPN there is neither of these
    matched, unmatched = match(report.participants, roster)
    assert matched == {}
    assert any(p.name == "Amina Diallo" and "amina1, amina2" in reason for p, reason in unmatched)


def test_import_stores_minutes_and_reimport_replaces(tmp_path):
    """Does an import store each learner's minutes, and importing the session again replace them?"""
    store = AttendanceStore(f"sqlite:///{tmp_path / 'course.sqlite'}")
    result = import_report(LIVE1, "live1", read_roster(ROSTER), store, min_minutes=60)
    assert result.attended == ["amina", "bola", "dolores"]
    assert result.too_short == ["chen"]
    assert len(result.unmatched) == 2
    assert round(store.minutes()["amina"]["live1"], 1) == 86.3
    import_report(LIVE1, "live1", read_roster(ROSTER)[:1], store, min_minutes=60)
    assert set(store.minutes()) == {"amina"}
    assert store.thresholds() == {"live1": 60}
    store.close()


def test_a_failed_import_changes_nothing(tmp_path):
    """After a good import, does a malformed report for the same session leave the attendance as it was?"""
    store = AttendanceStore(f"sqlite:///{tmp_path / 'course.sqlite'}")
    import_report(LIVE1, "live1", read_roster(ROSTER), store, min_minutes=60)
    before = store.minutes()
    with pytest.raises(AttendanceError, match="line 6: Amina Diallo has the duration 'about an hour'"):
        import_report(TEAMS / "bad_duration_report.csv", "live1", read_roster(ROSTER), store, 60)
    assert store.minutes() == before
    store.close()


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["attendance", "import", *args])
    return code, capsys.readouterr().out


def test_import_command_lists_unmatched(store_url, capsys):
    """Does `se4u attendance import` report matched, too-short and unmatched participants by name?"""
    code, out = run(capsys, str(LIVE1), "--session", "live1", "--min-minutes", "60", "--roster", str(ROSTER),
                    "--store", store_url)
    assert code == 0
    assert "4 learners matched, 3 attended for at least 60 minutes" in out
    assert "too short: chen" in out
    assert "unmatched: Facilitator UNODC <facilitator@unodc.example> 93 minutes" in out
    assert "unmatched: Mobile caller" in out


@pytest.mark.parametrize(("file", "extra", "message"), [
    ("not_a_teams_report.csv", [], "no participant list found"),
    ("bad_duration_report.csv", [], "has the duration 'about an hour'"),
    ("live1_attendance_report.csv", ["--session", "live9"], "unknown session 'live9'"),
    ("live1_attendance_report.csv", ["--roster", "/nonexistent/roster.csv"], "no such roster file"),
    ("missing_report.csv", [], "no such attendance report"),
])
def test_bad_input_is_one_clear_message(store_url, capsys, file, extra, message):
    """Do a malformed report, an unknown session, a missing roster or report each give one error line?"""
    args = {"--session": "live1", "--roster": str(ROSTER)}
    args.update(dict(zip(extra[::2], extra[1::2], strict=True)))
    flat = [x for pair in args.items() for x in pair]
    code, out = run(capsys, str(TEAMS / file), *flat, "--store", store_url)
    assert code == 2
    assert out.startswith("error: ") and message in out
    assert out.count("\n") == 1 and "Traceback" not in out


def test_binary_file_is_refused(tmp_path):
    """Is a file that is not text (say a PDF renamed .csv) refused with a message?"""
    path = tmp_path / "report.csv"
    path.write_bytes(b"%PDF-1.4\x00\x01\x02\xff\xfe\x00")
    with pytest.raises(AttendanceError, match=r"not text|no participant list"):
        read_report(path)
