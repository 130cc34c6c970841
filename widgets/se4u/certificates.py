"""E-certificates: a PDF per learner who met every requirement, with a code anyone can verify.

The verification code is ``base32(serial ‖ MAC)``: a random 40-bit serial that names the
certificate in the register, and the first 80 bits of HMAC-SHA256, keyed with the course's secret
key, over the certificate's facts (serial, learner id, name, course, issue date, cohort). Written
in groups of four, e.g. ``K7QX-M2ZD-…`` (24 characters). The register (a table in the course's
database) holds the facts; verifying recomputes the MAC from them, so a changed code, a code
spliced from two certificates, an edited register row or a code made with another key all fail.

The key is never in the repository: ``$SE4U_CERT_KEY``, else ``~/.config/se4u/certificate.key``
(created with 0600 permissions on first use).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, Text, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from se4u.completion import Completion, CompletionError
from se4u.course import Course, format_minutes, load_course
from se4u.store import open_engine

SERIAL_BYTES = 5
MAC_BYTES = 10  # 80 bits
CODE_VERSION = 1
DEFAULT_VERIFY_URL = "https://se4u.example.org/verify"
KEY_FILE_NAME = "certificate.key"

metadata = MetaData()
register = Table(
    "certificates",
    metadata,
    Column("serial", String(16), primary_key=True),
    Column("learner", String(128), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("course", Text, nullable=False),
    Column("issued", String(10), nullable=False),
    Column("cohort", String(64), nullable=False),
    Column("requirements", Text, nullable=False),
    Column("code", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
#: A revoked certificate stays in the register (its code still names it) and fails verification.
revocations = Table(
    "certificate_revocations",
    metadata,
    Column("serial", String(16), primary_key=True),
    Column("revoked_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
)


class CertificateError(CompletionError):
    """A certificate cannot be issued, found or handed out; the message says why."""


# ==================================================================================================
# The key
# ==================================================================================================
def key_path() -> Path:
    """``$XDG_CONFIG_HOME/se4u/certificate.key`` (``~/.config`` by default)."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "se4u" / KEY_FILE_NAME


def load_key(create: bool = True) -> bytes:
    """The signing key: ``$SE4U_CERT_KEY``, else the key file (made with 0600 on first use)."""
    env = os.environ.get("SE4U_CERT_KEY")
    if env:
        if len(env) < 32:
            raise CertificateError("SE4U_CERT_KEY is too short: use at least 32 random characters "
                                   "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
        return env.encode("utf-8")
    path = key_path()
    if not path.exists():
        if not create:
            raise CertificateError(f"there is no certificate key ({path} or $SE4U_CERT_KEY)")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: read theirs
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    try:
        if path.stat().st_mode & 0o077:
            raise CertificateError(f"{path} can be read by other users; run `chmod 600 {path}`")
        key = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise CertificateError(f"{path}: cannot read the certificate key: {exc}") from None
    if len(key) < 32:
        raise CertificateError(f"{path}: the certificate key is too short")
    return key.encode("ascii")


# ==================================================================================================
# The code
# ==================================================================================================
@dataclass(frozen=True)
class Certificate:
    """One issued certificate: its facts and its verification code."""

    serial: str
    learner: str
    name: str
    course: str
    issued: str
    cohort: str
    requirements: tuple[str, ...]
    code: str


def _facts(serial: str, learner: str, name: str, course: str, issued: str, cohort: str) -> bytes:
    return json.dumps([CODE_VERSION, serial, learner, name, course, issued, cohort],
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _mac(key: bytes, serial: str, learner: str, name: str, course: str, issued: str, cohort: str) -> bytes:
    facts = _facts(serial, learner, name, course, issued, cohort)
    return hmac.new(key, facts, hashlib.sha256).digest()[:MAC_BYTES]


def make_code(key: bytes, serial: str, learner: str, name: str, course: str, issued: str, cohort: str) -> str:
    """The verification code: base32 of serial and truncated MAC, in groups of four."""
    raw = bytes.fromhex(serial) + _mac(key, serial, learner, name, course, issued, cohort)
    text = base64.b32encode(raw).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def split_code(code: str) -> tuple[str, bytes] | None:
    """(serial, MAC) from a code as a person may type it (any case, spaces or dashes); None if malformed."""
    text = re.sub(r"[\s-]", "", code or "").upper().translate(str.maketrans("018", "OIB"))
    if len(text) != 8 * (SERIAL_BYTES + MAC_BYTES) // 5:
        return None
    try:
        raw = base64.b32decode(text)
    except (binascii.Error, ValueError):
        return None
    return raw[:SERIAL_BYTES].hex(), raw[SERIAL_BYTES:]


# ==================================================================================================
# The register
# ==================================================================================================
class Register:
    """Issued certificates, in the course's database (its own table)."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = open_engine(url, metadata)
        except (SQLAlchemyError, OSError) as exc:
            raise CertificateError(f"the certificate register at {url} cannot be opened: {exc}") from None

    def add(self, cert: Certificate) -> None:
        """Record a certificate (one transaction)."""
        with self.engine.begin() as conn:
            conn.execute(register.insert().values(
                serial=cert.serial, learner=cert.learner, name=cert.name, course=cert.course,
                issued=cert.issued, cohort=cert.cohort, requirements=json.dumps(list(cert.requirements)),
                code=cert.code, created_at=datetime.now(UTC)))

    def by_serial(self, serial: str) -> Certificate | None:
        """The certificate with this serial, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(register).where(register.c.serial == serial)).first()
        return _certificate(row) if row else None

    def of_learner(self, learner: str) -> Certificate | None:
        """The learner's latest certificate that is not revoked, or None."""
        revoked = select(revocations.c.serial)
        with self.engine.connect() as conn:
            row = conn.execute(select(register).where(register.c.learner == learner,
                                                      register.c.serial.not_in(revoked))
                               .order_by(register.c.created_at.desc())).first()
        return _certificate(row) if row else None

    def revoke(self, serial: str, reason: str) -> bool:
        """Revoke a certificate; False if it was revoked already (the first reason is kept)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(revocations.insert().values(serial=serial, revoked_at=datetime.now(UTC),
                                                         reason=reason))
        except IntegrityError:
            return False
        return True

    def revocation(self, serial: str) -> tuple[datetime, str] | None:
        """When and why a certificate was revoked, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(select(revocations).where(revocations.c.serial == serial)).first()
        return (row.revoked_at, row.reason) if row else None

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def _certificate(row: Any) -> Certificate:
    try:
        requirements = tuple(json.loads(row.requirements))
    except (TypeError, ValueError):
        requirements = ()
    return Certificate(row.serial, row.learner, row.name, row.course, row.issued, row.cohort,
                       requirements, row.code)


def issue(completion: Completion, name: str, reg: Register, key: bytes, *,
          issued: date | None = None, course: Course | None = None) -> Certificate:
    """A certificate for a learner who met every requirement (the existing one if already issued)."""
    if not completion.complete:
        raise CertificateError(f"{completion.learner} has not met every requirement: "
                               + "; ".join(m.text for m in completion.missing))
    return issue_for(completion.learner, name, completion.cohort, completion.met_labels(), reg, key,
                     issued=issued, course=course)


def issue_for(learner: str, name: str, cohort: str, requirements: list[str], reg: Register, key: bytes, *,
              issued: date | None = None, course: Course | None = None) -> Certificate:
    """Sign and register a certificate for a learner whose completion was checked by the caller.

    The learner's current certificate is returned instead when its name, cohort and course match.
    """
    course = course or load_course()
    if not learner.strip() or not name.strip():
        raise CertificateError("a certificate needs the learner's id and name")
    existing = reg.of_learner(learner)
    if existing and existing.name == name and existing.cohort == cohort and existing.course == course.title:
        return existing
    day = (issued or date.today()).isoformat()
    for _ in range(5):
        serial = secrets.token_bytes(SERIAL_BYTES).hex()
        code = make_code(key, serial, learner, name, course.title, day, cohort)
        cert = Certificate(serial, learner, name, course.title, day, cohort, tuple(requirements), code)
        try:
            reg.add(cert)
        except IntegrityError:
            continue  # the same random serial twice: draw another
        return cert
    raise CertificateError("could not draw a fresh certificate serial")


def revoke(code: str, reason: str, reg: Register, key: bytes) -> Certificate:
    """Revoke the genuine certificate with this code (the reason is shown to whoever checks it)."""
    reason = " ".join(reason.split())[:500]
    if not reason:
        raise CertificateError("say why the certificate is revoked (--reason)")
    result = verify(code, reg, key, check_revocation=False)
    if not result.valid or result.certificate is None:
        raise CertificateError(f"{code}: {result.reason}")
    if not reg.revoke(result.certificate.serial, reason):
        raise CertificateError(f"{code}: this certificate was revoked already")
    return result.certificate


@dataclass(frozen=True)
class Verification:
    """The answer to "is this code genuine?"."""

    valid: bool
    code: str
    certificate: Certificate | None = None
    reason: str = ""


def verify(code: str, reg: Register, key: bytes, learner: str | None = None, *,
           check_revocation: bool = True) -> Verification:
    """Whether a code is genuine and not revoked (and, if learner is given, that it is that learner's)."""
    parts = split_code(code)
    if parts is None:
        return Verification(False, code, reason="this is not a certificate code (24 letters and digits)")
    serial, mac = parts
    cert = reg.by_serial(serial)
    if cert is None:
        return Verification(False, code, reason="no certificate has this code")
    expected = _mac(key, cert.serial, cert.learner, cert.name, cert.course, cert.issued, cert.cohort)
    if not hmac.compare_digest(mac, expected):
        return Verification(False, code, reason="the code does not match the certificate it names")
    if learner is not None and not hmac.compare_digest(cert.learner.encode(), learner.encode()):
        return Verification(False, code, reason="the code belongs to another learner")
    revoked = reg.revocation(cert.serial) if check_revocation else None
    if revoked is not None:
        when, why = revoked
        return Verification(False, code, reason=f"this certificate was revoked on {when:%d %B %Y} ({why})")
    return Verification(True, code, cert)


def verification_url(code: str, base: str | None = None) -> str:
    """The page that verifies a code: ``$SE4U_VERIFY_URL?code=…``."""
    from urllib.parse import quote

    base = base or os.environ.get("SE4U_VERIFY_URL") or DEFAULT_VERIFY_URL
    return f"{base}{'&' if '?' in base else '?'}code={quote(code)}"


def verification_page(result: Verification, course: Course | None = None) -> str:
    """A small, self-contained HTML page saying whether a certificate code is genuine (all escaped)."""
    course = course or load_course()
    esc = html.escape
    if result.valid and result.certificate:
        cert = result.certificate
        items = "".join(f"<li>{esc(r)}</li>" for r in cert.requirements)
        body = (f"<p role='status' class='se4u-valid'><strong>Valid certificate.</strong></p>"
                f"<dl><dt>Awarded to</dt><dd>{esc(cert.name)}</dd>"
                f"<dt>Course</dt><dd>{esc(cert.course)}</dd>"
                f"<dt>Workload</dt><dd>{esc(format_minutes(course.total_minutes))}</dd>"
                f"<dt>Date of issue</dt><dd>{esc(cert.issued)}</dd>"
                f"<dt>Code</dt><dd><code>{esc(cert.code)}</code></dd></dl>"
                f"<h2>Requirements met</h2><ul>{items}</ul>")
    else:
        body = (f"<p role='alert' class='se4u-invalid'><strong>Not a valid certificate.</strong> "
                f"{esc(result.reason)}.</p><p>Code checked: <code>{esc(result.code)}</code></p>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>Certificate verification — {esc(course.short_title)}</title></head><body><main>"
            f"<h1>Certificate verification</h1>{body}</main></body></html>")


# ==================================================================================================
# The PDF
# ==================================================================================================
def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    candidates = [(Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                   Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))]
    import reportlab

    fonts = Path(reportlab.__file__).parent / "fonts"
    candidates.append((fonts / "Vera.ttf", fonts / "VeraBd.ttf"))
    for regular, bold in candidates:
        if regular.exists() and bold.exists():
            if "SE4U" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("SE4U", str(regular)))
                pdfmetrics.registerFont(TTFont("SE4U-Bold", str(bold)))
            return "SE4U", "SE4U-Bold"
    return "Helvetica", "Helvetica-Bold"


def render_pdf(cert: Certificate, path: Path, *, course: Course | None = None,
               verify_base: str | None = None) -> Path:
    """Draw the certificate as an A4 landscape PDF (written to a temporary file, then renamed)."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    course = course or load_course()
    regular, bold = _fonts()
    width, height = landscape(A4)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pdf = canvas.Canvas(str(tmp), pagesize=(width, height), invariant=1)
    pdf.setTitle(f"{course.short_title} certificate — {cert.name}")
    pdf.setAuthor(course.short_title)
    pdf.setSubject(cert.course)
    pdf.setStrokeColorRGB(0.12, 0.37, 0.55)
    pdf.setLineWidth(3)
    pdf.rect(24, 24, width - 48, height - 48)
    center = width / 2
    y = height - 90
    pdf.setFont(bold, 28)
    pdf.drawCentredString(center, y, "Certificate of Completion")
    y -= 40
    pdf.setFont(regular, 13)
    pdf.drawCentredString(center, y, "This certifies that")
    y -= 34
    pdf.setFont(bold, 24)
    pdf.drawCentredString(center, y, cert.name)
    y -= 30
    pdf.setFont(regular, 13)
    pdf.drawCentredString(center, y, "has completed the self-paced online course")
    y -= 24
    pdf.setFont(bold, 14)
    for line in simpleSplit(cert.course, bold, 14, width - 160):
        pdf.drawCentredString(center, y, line)
        y -= 18
    y -= 6
    pdf.setFont(regular, 12)
    pdf.drawCentredString(center, y, f"Workload: {format_minutes(course.total_minutes)}    "
                                     f"Date of issue: {cert.issued}")
    y -= 28
    pdf.setFont(bold, 11)
    pdf.drawString(70, y, "Requirements met:")
    pdf.setFont(regular, 10)
    for requirement in cert.requirements:
        y -= 15
        pdf.drawString(82, y, f"• {requirement}")
    url = verification_url(cert.code, verify_base)
    size = 110
    qr = QrCodeWidget(url)
    x0, y0, x1, y1 = qr.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, pdf, width - 70 - size, 50)
    pdf.setFont(regular, 10)
    pdf.drawString(70, 78, f"Verification code: {cert.code}")
    pdf.drawString(70, 62, f"Verify at: {url}")
    pdf.showPage()
    pdf.save()
    tmp.replace(path)
    return path


def pdf_bytes(cert: Certificate, *, course: Course | None = None, verify_base: str | None = None) -> bytes:
    """The certificate's PDF as bytes (for a download served or embedded in a page)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="se4u-cert-") as folder:
        return render_pdf(cert, Path(folder) / "certificate.pdf", course=course,
                          verify_base=verify_base).read_bytes()


def certificate_file(directory: Path, learner: str) -> Path:
    """Where a learner's certificate is written (the id made safe as a file name)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", learner).lstrip(".") or "learner"
    return Path(directory) / f"{safe}.pdf"


def requesting_learner() -> str | None:
    """Who is asking: the hub user, else ``$SE4U_LEARNER`` (None when neither is set)."""
    return os.environ.get("JUPYTERHUB_USER") or os.environ.get("SE4U_LEARNER") or None


def certificate_for(learner: str, reg: Register, directory: Path, *, course: Course | None = None) -> Path:
    """The learner's own certificate PDF; refused for anyone else, and for a learner without one."""
    who = requesting_learner()
    if who is None or not hmac.compare_digest(who.encode(), learner.encode()):
        raise CertificateError("you can download only your own certificate")
    cert = reg.of_learner(learner)
    if cert is None:
        raise CertificateError("there is no certificate for you yet: every requirement must be met first")
    path = certificate_file(directory, learner)
    if not path.exists():
        render_pdf(cert, path, course=course)
    return path


def learner_progress_html(parts: list[Any], learner: str, cohort: str, reg: Register,
                          certificate_url: str = "") -> str:
    """The progress page with the certificate link when this learner (and only they) has one.

    Without ``certificate_url`` (one learner's own computer) the PDF itself is the link, embedded in
    the page, so no server route is needed and nobody else's certificate can be asked for.
    """
    import base64

    from se4u.progress import progress_html

    who = requesting_learner()
    cert = reg.of_learner(learner) if who == learner else None
    if cert is None:
        return progress_html(parts, cohort)
    if not certificate_url:
        certificate_url = "data:application/pdf;base64," + base64.b64encode(pdf_bytes(cert)).decode("ascii")
    status = dict.fromkeys((r.id for r in load_course().requirements_for(cohort)), True)
    return progress_html(parts, cohort, status=status, certificate_url=certificate_url)
