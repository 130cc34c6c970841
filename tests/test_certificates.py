"""E-certificates: the PDF, the verification code and who may download a certificate."""

from __future__ import annotations

import base64
import re
import stat
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from se4u.certificates import (
    CertificateError,
    Register,
    certificate_for,
    issue,
    key_path,
    learner_progress_html,
    load_key,
    make_code,
    render_pdf,
    split_code,
    verification_page,
    verify,
)
from se4u.cli import main
from se4u.completion import evaluate, load_rules
from se4u.progress import progress_html
from tests.test_completion import complete_record, read_everything

KEY = b"k" * 64
OTHER_KEY = b"o" * 64
ISSUED = date(2025, 3, 28)
ROSTER = Path(__file__).parent / "fixtures" / "teams" / "roster.csv"


@pytest.fixture(autouse=True)
def isolated_identity(tmp_path, monkeypatch):
    """No test sees the real key file, key variable or hub identity."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("SE4U_CERT_KEY", "JUPYTERHUB_USER", "SE4U_LEARNER", "SE4U_VERIFY_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def register(tmp_path):
    reg = Register(f"sqlite:///{tmp_path / 'course.sqlite'}")
    yield reg
    reg.close()


def certify(reg: Register, learner: str = "amina", name: str = "Amina Diallo", key: bytes = KEY,
            cohort: str = "live_sessions"):
    completion = evaluate(load_rules(cohort), complete_record(learner))
    return issue(completion, name, reg, key, issued=ISSUED)


def test_key_file_is_created_private_and_reused(tmp_path):
    """Is the key made on first use in ~/.config/se4u with 0600 permissions, and the same key read again?"""
    key = load_key()
    path = key_path()
    assert path.is_relative_to(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key() == key and len(key) >= 64


def test_readable_key_file_and_short_key_are_refused(monkeypatch):
    """Is a key file other users can read refused, and a short $SE4U_CERT_KEY too?"""
    load_key()
    key_path().chmod(0o644)
    with pytest.raises(CertificateError, match="chmod 600"):
        load_key()
    monkeypatch.setenv("SE4U_CERT_KEY", "short")
    with pytest.raises(CertificateError, match="too short"):
        load_key()
    monkeypatch.setenv("SE4U_CERT_KEY", "x" * 40)
    assert load_key() == b"x" * 40


def test_code_format_has_80_bits_of_mac():
    """Is the code 24 base32 characters in groups of four: a 40-bit serial and an 80-bit MAC?"""
    code = make_code(KEY, "0123456789", "amina", "Amina Diallo", "SE4U", "2025-03-28", "live_sessions")
    assert len(code) == 29 and code.count("-") == 5
    raw = base64.b32decode(code.replace("-", ""))
    assert len(raw) == 15 and raw[:5].hex() == "0123456789"
    assert split_code(code.lower().replace("-", " ")) == ("0123456789", raw[5:])
    assert split_code("not a code") is None


def test_pdf_shows_name_course_hours_date_requirements_and_code(register, tmp_path):
    """Does the PDF read back with the name, course title, 18.5 hours, date, requirements, code and URL?"""
    cert = certify(register, name="Dolores Núñez")
    path = render_pdf(cert, tmp_path / "out" / "dolores.pdf", verify_base="https://hub.example/verify")
    reader = PdfReader(path)
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Certificate of Completion" in text
    assert "Dolores Núñez" in text
    assert "Stakeholder Engagement in the Implementation of the Review Mechanism" in text
    assert "18.5 hours" in text
    assert "2025-03-28" in text
    assert "Every live session and breakout discussion is attended" in text
    assert cert.code in text
    assert f"https://hub.example/verify?code={cert.code}" in text
    assert reader.metadata.title.endswith("Dolores Núñez")
    assert not list(path.parent.glob(".*.tmp"))


def test_genuine_code_verifies_with_learner_and_date(register):
    """Does a genuine code verify, naming the learner and the date of issue?"""
    cert = certify(register)
    result = verify(cert.code, register, KEY)
    assert result.valid
    assert (result.certificate.name, result.certificate.issued) == ("Amina Diallo", "2025-03-28")
    assert verify(cert.code, register, KEY, learner="amina").valid


def test_issuing_again_gives_the_same_certificate(register):
    """Does issuing twice for the same learner return the certificate already issued?"""
    assert certify(register).code == certify(register).code


def test_tampered_code_is_rejected(register):
    """Is a code with one character changed rejected?"""
    code = certify(register).code
    i = 12
    tampered = code[:i] + ("A" if code[i] != "A" else "B") + code[i + 1:]
    result = verify(tampered, register, KEY)
    assert not result.valid and result.reason


def test_code_of_another_learner_is_rejected(register):
    """Is a code spliced from two certificates rejected, and a genuine code rejected as someone else's?"""
    amina = certify(register).code.replace("-", "")
    bola = certify(register, "bola", "Bola Adeyemi").code.replace("-", "")
    serial_chars = 8  # 40 bits
    spliced = amina[:serial_chars] + bola[serial_chars:]
    assert not verify(spliced, register, KEY).valid
    result = verify(bola, register, KEY, learner="amina")
    assert not result.valid and "another learner" in result.reason


def test_code_signed_with_another_key_is_rejected(register):
    """Is a certificate signed with another key rejected by the course's key?"""
    cert = certify(register, key=OTHER_KEY)
    result = verify(cert.code, register, KEY)
    assert not result.valid and "does not match" in result.reason


def test_edited_register_row_is_rejected(register):
    """If someone edits the name in the register, does the code stop verifying?"""
    cert = certify(register)
    with register.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE certificates SET name = 'Mallory'")
    assert not verify(cert.code, register, KEY).valid


def test_incomplete_learner_gets_no_certificate(register):
    """Is a certificate refused to a learner with a requirement missing, saying what is missing?"""
    record = complete_record()
    record.attended = {}
    completion = evaluate(load_rules("live_sessions"), record)
    with pytest.raises(CertificateError, match="no attendance recorded"):
        issue(completion, "Amina Diallo", register, KEY)


def test_learner_downloads_only_their_own_certificate(register, tmp_path, monkeypatch):
    """Can a learner get their own certificate but not another learner's, nor anyone without an identity?"""
    certify(register)
    certify(register, "bola", "Bola Adeyemi")
    with pytest.raises(CertificateError, match="only your own"):
        certificate_for("amina", register, tmp_path)
    monkeypatch.setenv("JUPYTERHUB_USER", "bola")
    with pytest.raises(CertificateError, match="only your own"):
        certificate_for("amina", register, tmp_path)
    assert not (tmp_path / "amina.pdf").exists()
    mine = certificate_for("bola", register, tmp_path)
    assert mine == tmp_path / "bola.pdf"
    assert "Bola Adeyemi" in PdfReader(mine).pages[0].extract_text()
    monkeypatch.setenv("JUPYTERHUB_USER", "chen")
    with pytest.raises(CertificateError, match="no certificate for you yet"):
        certificate_for("chen", register, tmp_path)


def test_progress_page_links_the_certificate_only_when_everything_is_met(register, monkeypatch):
    """Does the progress page show the download link when all is met, and not for another learner?"""
    assert "Download your e-certificate" not in progress_html([], "self_paced", certificate_url="amina.pdf")
    all_met = {"readings": True, "self_assessment": True, "forum": True, "essays": True}
    page = progress_html([], "self_paced", status=all_met, certificate_url="amina.pdf")
    assert "<a href='amina.pdf'>Download your e-certificate (PDF)</a>" in page
    certify(register, cohort="self_paced")
    monkeypatch.setenv("SE4U_LEARNER", "amina")
    assert "Download your e-certificate" in learner_progress_html([], "amina", "self_paced", register)
    monkeypatch.setenv("SE4U_LEARNER", "bola")
    assert "Download your e-certificate" not in learner_progress_html([], "amina", "self_paced", register)


def test_a_learner_downloads_their_own_pdf_from_the_progress_page(register, monkeypatch, tmp_path):
    """On one learner's computer, is the link the learner's own PDF (name and code inside), and none
    for anyone else?"""
    cert = certify(register, cohort="self_paced")
    monkeypatch.setenv("SE4U_LEARNER", "amina")
    page = learner_progress_html([], "amina", "self_paced", register)
    link = re.search(r"<a href='data:application/pdf;base64,([A-Za-z0-9+/=]+)' "
                     r"download='se4u-certificate.pdf'>", page)
    assert link, page[-400:]
    pdf = tmp_path / "downloaded.pdf"
    pdf.write_bytes(base64.b64decode(link.group(1)))
    text = "".join(sheet.extract_text() for sheet in PdfReader(pdf).pages)
    assert "Amina Diallo" in text and cert.code in text
    monkeypatch.setenv("SE4U_LEARNER", "bola")
    assert "data:application/pdf" not in learner_progress_html([], "amina", "self_paced", register)


def test_a_revoked_certificate_fails_verification_and_is_not_offered(register, monkeypatch, capsys):
    """Once revoked, is the code refused with the date and reason, the download gone, and a new one
    issued on request?"""
    from se4u.certificates import revoke

    cert = certify(register, cohort="self_paced")
    with pytest.raises(CertificateError, match="say why"):
        revoke(cert.code, "  ", register, KEY)
    with pytest.raises(CertificateError, match="does not match"):
        revoke(cert.code[:-1] + ("A" if cert.code[-1] != "A" else "B"), "typo", register, KEY)
    assert revoke(cert.code, "issued under a <b>wrong</b> name", register, KEY) == cert
    result = verify(cert.code, register, KEY)
    assert not result.valid and "revoked on" in result.reason and "wrong" in result.reason
    assert "&lt;b&gt;wrong" in verification_page(result)
    with pytest.raises(CertificateError, match="revoked already"):
        revoke(cert.code, "again", register, KEY)
    monkeypatch.setenv("SE4U_LEARNER", "amina")
    assert "Download your e-certificate" not in learner_progress_html([], "amina", "self_paced", register)
    fresh = certify(register, cohort="self_paced")
    assert fresh.code != cert.code and verify(fresh.code, register, KEY).valid


def test_verification_page_escapes_everything(register):
    """Is every value on the verification page escaped, valid or not?"""
    cert = certify(register, name="<script>alert(1)</script>")
    page = verification_page(verify(cert.code, register, KEY))
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "Valid certificate" in page and "18.5 hours" in page
    bad = verification_page(verify("<img src=x onerror=alert(1)>", register, KEY))
    assert "<img" not in bad and "Not a valid certificate" in bad


def test_issue_and_verify_commands(store, store_url, tmp_path, capsys, monkeypatch):
    """Does `se4u certificates issue` write PDFs for complete learners only, say why not for the others,
    and `se4u certificates verify` accept the code and refuse a changed one?"""
    read_everything(store, "amina")
    forum = tmp_path / "forum.csv"
    forum.write_text("learner,module,posts,replies\n"
                     + "".join(f"amina,module{n},1,2\n" for n in range(1, 7)))
    out = tmp_path / "pdfs"
    tests = {"amina": complete_record().tests}
    monkeypatch.setattr("se4u.completion.gradebook_results", lambda _course, url=None: tests)
    code = main(["certificates", "issue", "--roster", str(ROSTER), "--store", store_url, "--forum",
                 str(forum), "--out", str(out), "--date", "2025-03-28"])
    printed = capsys.readouterr().out
    assert code == 0
    assert sorted(p.name for p in out.glob("*.pdf")) == ["amina.pdf"]
    bola = next(line for line in printed.splitlines() if line.startswith("not issued: bola — "))
    assert "Module 1: self-assessment test not submitted" in bola
    assert "1 of 5 learners have a certificate" in printed
    issued_code = re.search(r"issued: amina .* ([A-Z2-7]{4}(?:-[A-Z2-7]{4}){5}) → ", printed).group(1)
    assert main(["certificates", "verify", issued_code, "--store", store_url]) == 0
    assert "valid: Amina Diallo (amina), issued 2025-03-28" in capsys.readouterr().out
    assert main(["certificates", "verify", "AAAA" + issued_code[4:], "--store", store_url]) == 1
    assert capsys.readouterr().out.startswith("invalid: ")
    assert main(["certificates", "revoke", issued_code, "--reason", "wrong name", "--store", store_url]) == 0
    assert capsys.readouterr().out.startswith(f"revoked: {issued_code} of Amina Diallo")
    assert main(["certificates", "verify", issued_code, "--store", store_url]) == 1
    assert "revoked on" in capsys.readouterr().out


def test_on_a_hub_the_issue_command_has_the_course_service_sign(store, store_url, tmp_path, capsys,
                                                                monkeypatch):
    """With a course service configured, does `certificates issue` register complete learners there
    (none signed locally), and `certificates revoke` revoke there?"""
    from se4u.service.db import CourseDB
    from se4u.service.testing import ServiceThread, course_with

    read_everything(store, "amina")
    forum = tmp_path / "forum.csv"
    forum.write_text("learner,module,posts,replies\n"
                     + "".join(f"amina,module{n},1,2\n" for n in range(1, 7)))
    monkeypatch.setattr("se4u.completion.gradebook_results",
                        lambda _course, url=None: {"amina": complete_record().tests})
    db = CourseDB(str(tmp_path / "service.sqlite"))
    users = {"tok-i": {"name": "ines", "groups": ["instructors"]},
             "tok-a": {"name": "amina", "groups": []}}
    server = ServiceThread(course_with(db, users), cookie_secret=b"s" * 32)
    try:
        monkeypatch.setenv("SE4U_SERVICE_URL", server.base)
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-a")
        args = ["certificates", "issue", "--roster", str(ROSTER), "--store", store_url, "--forum", str(forum),
                "--out", str(tmp_path / "pdfs")]
        assert main(args) == 2
        assert "the course service refused: only instructors issue certificates" in capsys.readouterr().out
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "tok-i")
        assert main(args) == 0
        printed = capsys.readouterr().out
        code = re.search(r"issued: amina \(Amina Diallo\) (\S+) → the learner downloads it", printed).group(1)
        assert "1 of 5 learners have a certificate" in printed
        assert not (tmp_path / "pdfs").exists() and Register(store_url).of_learner("amina") is None
        assert main(["certificates", "revoke", code, "--reason", "test"]) == 0
        assert f"revoked: {code} of amina" in capsys.readouterr().out
        monkeypatch.setenv("SE4U_SERVICE_URL", "http://127.0.0.1:9/")
        assert main(["certificates", "revoke", code, "--reason", "again"]) == 2
        assert "cannot be reached" in capsys.readouterr().out
    finally:
        server.stop()
        db.close()


def test_verify_without_a_key_is_one_message(store_url, capsys):
    """Without a key on this machine, does verify say so in one line rather than make a new key?"""
    code = main(["certificates", "verify", "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF", "--store", store_url])
    out = capsys.readouterr().out
    assert code == 2 and out.startswith("error: there is no certificate key") and out.count("\n") == 1
    assert not key_path().exists()


def test_course_service_verification_page(register, tmp_path, monkeypatch):
    """Does the course service's public /verify page confirm a genuine code, refuse a tampered one,
    and say so plainly when no key is configured?"""
    import httpx

    from se4u.service.db import CourseDB
    from se4u.service.testing import ServiceThread, course_with

    cert = certify(register, name="Amina <b>Diallo</b>")
    monkeypatch.setenv("SE4U_CERT_REGISTER", register.url)
    db = CourseDB(str(tmp_path / "service.sqlite"))
    server = ServiceThread(course_with(db, {}), cookie_secret=b"s" * 32)
    try:
        with httpx.Client(base_url=server.base, timeout=10) as web:
            assert web.get("verify", params={"code": cert.code}).status_code == 503
            monkeypatch.setenv("SE4U_CERT_KEY", KEY.decode())
            genuine = web.get("verify", params={"code": cert.code})
            assert genuine.status_code == 200
            assert "Valid certificate" in genuine.text
            assert "Amina &lt;b&gt;Diallo&lt;/b&gt;" in genuine.text and "<b>Diallo" not in genuine.text
            tampered = cert.code[:-1] + ("A" if cert.code[-1] != "A" else "B")
            assert web.get("verify", params={"code": tampered}).status_code == 404
            assert "<form" in web.get("verify").text
    finally:
        server.stop()
        db.close()
