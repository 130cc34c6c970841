"""The course service over HTTP: the JSON API, the HTML forum, and who may do what.

Only the hub's identity lookup is stubbed (``se4u.service.testing.StubHubAuth``: token → user
model); token parsing, xsrf checks, scope checks and all handlers are the real ones.
The end-to-end test with a real JupyterHub is tests/test_hub_e2e.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from tornado.web import create_signed_value

from se4u.config import REPO_DIR
from se4u.service.db import CourseDB
from se4u.service.render import render_markdown
from se4u.service.testing import ServiceThread, course_with
from se4u.service.threads import forum_threads
from tests.conftest import SERVICE_USERS as USERS

#: Module 3's forum assignment, as the bank names it.
THREAD = next(key for key in forum_threads(REPO_DIR / "notebooks" / "banks") if key.startswith("module3/"))
XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "[x](JaVaScRiPt:alert(1))",
    "<svg onload=alert(1)>",
    "<javascript:alert(1)>",
    "[y](  javascript:alert(1) )",
    '"><script>alert(1)</script>',
    "<iframe src=//evil.example></iframe>",
]


def client(service: ServiceThread, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.Client(base_url=service.base, headers=headers, timeout=10, follow_redirects=False)


def post(service: ServiceThread, token: str, body: str, parent_id: int | None = None) -> dict:
    with client(service, token) as c:
        answer = c.post(f"api/threads/{THREAD}/posts", json={"body": body, "parent_id": parent_id})
    assert answer.status_code == 201, answer.text
    return answer.json()


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def assert_inert(html: str) -> None:
    parser = _Tags()
    parser.feed(html)
    for tag, attrs in parser.tags:
        assert tag not in {"script", "iframe", "svg", "img", "object", "embed"}, html
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in {"href", "src", "action"} and value:
                assert not re.sub(r"\s", "", value).lower().startswith("javascript:"), (tag, value)


# --- refused without identity ---------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [
    ("GET", "api/me"), ("GET", "api/threads"), ("GET", f"api/threads/{THREAD}/posts"),
    ("POST", f"api/threads/{THREAD}/posts"), ("GET", "api/records"), ("POST", "api/records"),
    ("GET", f"api/participation/{THREAD}"), ("PATCH", "api/posts/1"), ("DELETE", "api/posts/1"),
])
def test_api_refuses_requests_without_a_hub_identity(service: ServiceThread, method: str, path: str) -> None:
    """Is every API call refused (403, JSON) without a token, with a bad token or without the scope?"""
    for token in (None, "not-a-token", "tok-noscope"):
        with client(service, token) as c:
            answer = c.request(method, path, json={"body": "x"} if method in ("POST", "PATCH") else None)
        assert answer.status_code == 403, (token, answer.text)
        assert "error" in answer.json()


def test_pages_send_strangers_to_the_hub_login(service: ServiceThread) -> None:
    """Does the forum page redirect an unknown browser to the hub's OAuth, showing nothing?"""
    with client(service) as c:
        answer = c.get(f"forum/{THREAD}")
    assert answer.status_code == 302
    assert "/hub/api/oauth2/authorize" in answer.headers["location"]
    assert "forum" not in answer.text.lower()


# --- the forum ------------------------------------------------------------------------------------
def test_threads_are_the_banks_forum_assignments(service: ServiceThread) -> None:
    """Is there one thread per module forum assignment, with its rule?"""
    with client(service, "tok-ana") as c:
        threads = {t["id"]: t for t in c.get("api/threads").json()}
        assert THREAD in threads
        assert threads[THREAD]["min_replies"] >= 1
        assert c.get("api/threads/module9/forum-none/posts").status_code == 404


def test_page_errors_are_messages_not_tracebacks(service: ServiceThread) -> None:
    """Does an unknown forum, or a bad form, give a short page with a way back?"""
    with client(service, "tok-ana") as c:
        missing = c.get("forum/module9/forum-none")
        assert missing.status_code == 404
        assert "there is no forum thread" in missing.text
        assert "Traceback" not in missing.text
        assert 'href="/services/se4u/"' in missing.text
        empty = c.post(f"forum/{THREAD}", data={"body": "  "})
        assert empty.status_code == 400
        assert "write something" in empty.text
        assert c.post("posts/999/hide").status_code == 404


def test_post_reply_and_participation(service: ServiceThread) -> None:
    """Do a post and a reply show up for others, and count toward participation?"""
    mine = post(service, "tok-ana", "My *view*")
    post(service, "tok-ben", "Ben's answer", parent_id=mine["id"])
    with client(service, "tok-ana") as c:
        listed = c.get(f"api/threads/{THREAD}/posts").json()["posts"]
        assert [p["author"] for p in listed] == ["ana", "ben"]
        assert listed[0]["html"] == "<p>My <em>view</em></p>\n"
        assert listed[0]["mine"] is True
        assert c.get(f"api/participation/{THREAD}").json()["learners"] == {
            "ana": {"posts": 1, "replies": 0, "complete": False}}
        assert c.get(f"api/participation/{THREAD}?learner=ben").status_code == 403
    with client(service, "tok-ines") as c:
        everyone = c.get(f"api/participation/{THREAD}").json()["learners"]
    assert everyone["ben"] == {"posts": 0, "replies": 1, "complete": False}


def test_a_learner_cannot_change_anothers_post(service: ServiceThread) -> None:
    """Can Ben neither edit, delete nor moderate Ana's post, while Ana can edit and delete it?"""
    mine = post(service, "tok-ana", "original")
    with client(service, "tok-ben") as c:
        assert c.patch(f"api/posts/{mine['id']}", json={"body": "hacked"}).status_code == 403
        assert c.delete(f"api/posts/{mine['id']}").status_code == 403
        assert c.post(f"api/posts/{mine['id']}/moderation", json={"hidden": True}).status_code == 403
        assert c.get(f"api/posts/{mine['id']}").json()["body"] == "original"
    with client(service, "tok-ana") as c:
        assert c.patch(f"api/posts/{mine['id']}", json={"body": "edited"}).json()["body"] == "edited"
        assert c.delete(f"api/posts/{mine['id']}").status_code == 204
        assert c.get(f"api/posts/{mine['id']}").status_code == 404


def test_instructor_hides_and_pins(service: ServiceThread) -> None:
    """Does a hidden post vanish for other learners but stay visible to its author and instructors?"""
    rude = post(service, "tok-ben", "off-topic")
    with client(service, "tok-ines") as c:
        assert c.post(f"api/posts/{rude['id']}/moderation", json={"hidden": True}).json()["hidden"] is True
        welcome = c.post(f"api/threads/{THREAD}/posts", json={"body": "Welcome"}).json()
        assert c.post(f"api/posts/{welcome['id']}/moderation", json={"pinned": True}).status_code == 200
        assert len(c.get(f"api/threads/{THREAD}/posts").json()["posts"]) == 2
    with client(service, "tok-ana") as c:
        assert [p["id"] for p in c.get(f"api/threads/{THREAD}/posts").json()["posts"]] == [welcome["id"]]
        assert c.get(f"api/posts/{rude['id']}").status_code == 404
    with client(service, "tok-ben") as c:
        assert [p["id"] for p in c.get(f"api/threads/{THREAD}/posts").json()["posts"]] == [
            welcome["id"], rude["id"]]


@pytest.mark.parametrize("payload", XSS)
def test_script_payloads_are_inert(service: ServiceThread, payload: str) -> None:
    """Is a post carrying script, handlers or javascript: URLs harmless in the API and on the page?"""
    stored = post(service, "tok-ana", f"before {payload} after")
    assert stored["body"] == f"before {payload} after"  # the source is kept as written
    assert_inert(stored["html"])
    with client(service, "tok-ben") as c:
        page = c.get(f"forum/{THREAD}")
    assert page.status_code == 200
    assert "script-src" not in page.headers["content-security-policy"]  # no script may run at all
    assert_inert(page.text)
    assert "<script" not in page.text.lower()


def test_markdown_links_are_safe() -> None:
    """Do links keep http(s) targets, gain rel=nofollow, and lose javascript: targets?"""
    html = render_markdown("[UNODC](https://www.unodc.org) and [bad](javascript:alert(1))")
    assert 'href="https://www.unodc.org"' in html
    assert "nofollow" in html
    assert "javascript" not in html.replace("javascript:alert(1)", "") or "href=\"javascript" not in html
    assert_inert(html)


def test_sql_looking_input_is_stored_literally(service: ServiceThread) -> None:
    """Does a post that looks like SQL come back unchanged, with the other posts intact?"""
    post(service, "tok-ben", "first")
    body = "'; DROP TABLE forum_posts; -- \" OR '1'='1"
    stored = post(service, "tok-ana", body)
    with client(service, "tok-ana") as c:
        assert c.get(f"api/posts/{stored['id']}").json()["body"] == body
        assert len(c.get(f"api/threads/{THREAD}/posts").json()["posts"]) == 2
        assert c.get(f"api/participation/{THREAD}?learner=ana' OR '1'='1").status_code == 403


# --- progress records -----------------------------------------------------------------------------
def statement(**extra: object) -> dict:
    return {"id": str(uuid.uuid4()), "verb": "answered", "object": "module2/quiz-1",
            "result": {"score": 1}, "timestamp": "2026-01-02T03:04:05+00:00", **extra}


def test_records_are_idempotent_and_private(service: ServiceThread) -> None:
    """Is a repeated statement ignored, and does each learner read only their own records?"""
    first = statement()
    with client(service, "tok-ana") as c:
        assert c.post("api/records", json=first).json() == {"stored": 1, "duplicates": 0}
        assert c.post("api/records", json=[first, statement()]).json() == {"stored": 1, "duplicates": 1}
        assert len(c.get("api/records").json()) == 2
        assert c.get("api/records?actor=ben").status_code == 403
    with client(service, "tok-ben") as c:
        assert c.post("api/records", json=statement()).status_code == 200
        assert [r["actor"] for r in c.get("api/records").json()] == ["ben"]
    with client(service, "tok-ines") as c:
        assert sorted({r["actor"] for r in c.get("api/records").json()}) == ["ana", "ben"]
        assert len(c.get("api/records?actor=ben").json()) == 1


def test_a_learner_cannot_record_for_another(service: ServiceThread) -> None:
    """Is a statement whose actor is someone else refused, and nothing of the batch stored?"""
    with client(service, "tok-ana") as c:
        answer = c.post("api/records", json=[statement(), statement(actor={"name": "ben"})])
        assert answer.status_code == 403
        assert c.post("api/records", json=statement(actor="ben")).status_code == 403
        assert c.get("api/records").json() == []
        assert c.post("api/records", json=statement(id="x")).status_code == 400
        assert "id" in c.post("api/records", json=statement(id="x")).json()["error"]


# --- the HTML forum with a browser session (cookie + xsrf) ----------------------------------------
def test_forms_need_the_xsrf_token(service: ServiceThread) -> None:
    """Is a cookie-authenticated form post refused without the page's xsrf token, accepted with it?"""
    auth = service.course.hub_auth
    cookie = create_signed_value(b"s" * 32, auth.cookie_name, "tok-ana").decode()
    with httpx.Client(base_url=service.base, timeout=10, cookies={auth.cookie_name: cookie}) as c:
        page = c.get(f"forum/{THREAD}")
        assert page.status_code == 200
        assert "Signed in as <strong>ana</strong>" in page.text
        forged = c.post(f"forum/{THREAD}", data={"body": "forged"})
        assert forged.status_code in (302, 403)
        assert "notice=posted" not in forged.headers.get("location", "")
        token = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
        done = c.post(f"forum/{THREAD}", data={"body": "from the form", "_xsrf": token})
        assert done.status_code == 302
        assert "notice=posted" in done.headers["location"]
        assert "from the form" in c.get(f"forum/{THREAD}").text


# --- certificates through the service ---------------------------------------------------------------
@pytest.fixture
def certificate_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServiceThread]:
    """The service with a signing key of its own (in a private config folder) and its own register."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "service-config"))
    for name in ("SE4U_CERT_KEY", "SE4U_CERT_REGISTER", "SE4U_VERIFY_URL"):
        monkeypatch.delenv(name, raising=False)
    db = CourseDB(str(tmp_path / "service.sqlite"))
    server = ServiceThread(course_with(db, USERS), cookie_secret=b"s" * 32)
    yield server
    server.stop()
    db.close()


def issue_through(service: ServiceThread, token: str, *learners: tuple[str, str]) -> httpx.Response:
    body = {"certificates": [{"learner": who, "name": name, "cohort": "self_paced",
                              "requirements": ["All readings completed"]} for who, name in learners]}
    with client(service, token) as c:
        return c.post("api/certificates", json=body)


def test_only_instructors_issue_certificates_and_a_learner_sees_only_their_own(certificate_service):
    """Is issuing refused to learners, and may a learner read their own certificate but not another's?"""
    assert issue_through(certificate_service, "tok-ana", ("ana", "Ana A")).status_code == 403
    issued = issue_through(certificate_service, "tok-ines", ("ana", "Ana A"), ("ben", "Ben <b>B</b>"))
    assert issued.status_code == 200, issued.text
    codes = {c["learner"]: c["code"] for c in issued.json()["certificates"]}
    again = issue_through(certificate_service, "tok-ines", ("ana", "Ana A")).json()["certificates"]
    assert again[0]["code"] == codes["ana"]  # issuing twice gives the same certificate
    with client(certificate_service, "tok-ana") as c:
        mine = c.get("api/certificate")
        assert mine.status_code == 200 and mine.json()["code"] == codes["ana"]
        assert c.get("api/certificate", params={"learner": "ben"}).status_code == 403
    with client(certificate_service, "tok-ines") as c:
        assert c.get("api/certificate", params={"learner": "ben"}).json()["code"] == codes["ben"]
        assert c.get("api/certificate").status_code == 404  # the instructor has none
    with client(certificate_service) as c:
        assert c.get("api/certificate").status_code == 403


def test_a_learner_downloads_their_own_certificate_pdf_and_no_one_elses(certificate_service, tmp_path):
    """Is the PDF download the caller's own (name and code inside), and refused for another learner?"""
    from pypdf import PdfReader

    issued = issue_through(certificate_service, "tok-ines", ("ana", "Ana Alvarez")).json()["certificates"]
    with client(certificate_service, "tok-ana") as c:
        pdf = c.get("certificate")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "attachment" in pdf.headers["content-disposition"]
        (tmp_path / "mine.pdf").write_bytes(pdf.content)
        text = "".join(page.extract_text() for page in PdfReader(tmp_path / "mine.pdf").pages)
        assert "Ana Alvarez" in text and issued[0]["code"] in text
        assert c.get("certificate", params={"learner": "ben"}).status_code == 403
    with client(certificate_service, "tok-ben") as c:
        refused = c.get("certificate")
        assert refused.status_code == 404 and "every requirement must be met" in refused.text
        assert "Ana Alvarez" not in refused.text


def test_an_instructor_revokes_a_certificate_and_its_code_stops_verifying(certificate_service):
    """After revocation, does /verify refuse the code with the reason, and the learner lose the download?"""
    code = issue_through(certificate_service, "tok-ines", ("ana", "Ana A")).json()["certificates"][0]["code"]
    with client(certificate_service) as c:
        assert c.get("verify", params={"code": code}).status_code == 200
    with client(certificate_service, "tok-ana") as c:
        assert c.post("api/certificates/revocations", json={"code": code, "reason": "x"}).status_code == 403
    with client(certificate_service, "tok-ines") as c:
        assert c.post("api/certificates/revocations", json={"code": code}).status_code == 400
        done = c.post("api/certificates/revocations",
                      json={"code": code, "reason": "issued before the <em>essay</em> was graded"})
        assert done.status_code == 200, done.text
    with client(certificate_service) as c:
        page = c.get("verify", params={"code": code})
        assert page.status_code == 404 and "revoked on" in page.text and "&lt;em&gt;essay" in page.text
    with client(certificate_service, "tok-ana") as c:
        assert c.get("api/certificate").status_code == 404
        assert c.get("certificate").status_code == 404


@pytest.mark.parametrize("body", [None, {}, {"certificates": []}, {"certificates": [{"learner": "ana"}]},
                                  {"certificates": [{"learner": "ana", "name": " ", "cohort": "self_paced"}]},
                                  {"certificates": [{"learner": "ana", "name": "A", "cohort": "self_paced",
                                                     "issued": "25/03/2025"}]}])
def test_bad_certificate_requests_get_a_message(certificate_service, body):
    """Does a malformed issue request get a 400 with a message, and nothing registered?"""
    with client(certificate_service, "tok-ines") as c:
        answer = c.post("api/certificates", json=body)
        assert answer.status_code == 400 and answer.json()["error"]
        assert c.get("api/certificate", params={"learner": "ana"}).status_code == 404
