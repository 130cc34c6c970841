"""The forum app's widget against the real course service (only the hub's token lookup is stubbed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from se4u.forum import NO_SERVICE, CourseForum
from se4u.service.testing import ServiceThread, free_port
from tests.test_service_api import THREAD, assert_inert
from tests.widget_driver import page_action

pytestmark = pytest.mark.slow


@pytest.fixture
def as_user(service: ServiceThread, monkeypatch: pytest.MonkeyPatch):
    """Point the kernel at the service with one person's hub token."""

    def sign_in(token: str) -> None:
        monkeypatch.setenv("SE4U_SERVICE_URL", service.base)
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)

    return sign_in


def test_a_learner_posts_and_a_peer_replies(as_user, comms) -> None:
    """Does Ana's post reach Ben's page, Ben's reply count for him, and the draft clear after posting?"""
    as_user("tok-ana")
    ana = CourseForum(thread=THREAD)
    assert ana.available and ana.me == {"name": "ana", "instructor": False}
    assert THREAD in [x["id"] for x in ana.threads] and ana.thread == THREAD
    page_action(ana, action="post", body="In my country **civil society** joins the review.", parent_id=None)
    assert ana.sent == 1 and not ana.problem
    assert ana.status == "Your post was published."
    assert "<strong>civil society</strong>" in ana.posts[0]["html"] and ana.posts[0]["mine"]
    assert ana.participation == {"ana": {"posts": 1, "replies": 0, "complete": False}}  # 2 replies needed

    as_user("tok-ben")
    ben = CourseForum(thread=THREAD)
    first = ben.posts[0]
    assert first["author"] == "ana" and not first["mine"]
    page_action(ben, action="post", body="Which body did you contact?", parent_id=first["id"])
    assert ben.status == "Your reply was posted."
    assert [p["parent_id"] for p in ben.posts] == [None, first["id"]]
    assert ben.participation["ben"]["replies"] == 1
    assert "ana" not in ben.participation  # a learner sees only their own part


def test_an_instructor_sees_who_met_the_rule(as_user, comms) -> None:
    """Does an instructor's page list every learner's posts and replies against the rule?"""
    as_user("tok-ana")
    page_action(CourseForum(thread=THREAD), action="post", body="My post", parent_id=None)
    as_user("tok-ines")
    ines = CourseForum(thread=THREAD)
    assert ines.me["instructor"] is True
    assert ines.participation["ana"]["posts"] == 1


def test_a_learner_deletes_only_their_own_post(as_user, comms) -> None:
    """Can Ana delete her post, while Ben's attempt at it is refused with a message?"""
    as_user("tok-ana")
    ana = CourseForum(thread=THREAD)
    page_action(ana, action="post", body="to be removed", parent_id=None)
    post_id = ana.posts[0]["id"]
    as_user("tok-ben")
    ben = CourseForum(thread=THREAD)
    page_action(ben, action="delete", id=post_id)
    assert ben.problem and "refused" in ben.status
    as_user("tok-ana")
    page_action(ana, action="delete", id=post_id)
    assert ana.status == "Your post was deleted." and ana.posts == []


@pytest.mark.parametrize("payload", ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                                     "[x](javascript:alert(1))", '"><svg onload=alert(1)>'])
def test_hostile_posts_are_inert_on_the_page(as_user, comms, payload: str) -> None:
    """Is a post carrying script or handlers shown as harmless HTML in the app?"""
    as_user("tok-ben")
    ben = CourseForum(thread=THREAD)
    page_action(ben, action="post", body=f"before {payload} after", parent_id=None)
    as_user("tok-ana")
    html = CourseForum(thread=THREAD).posts[0]["html"]
    assert_inert(html)
    assert "<script" not in html.lower()


def test_empty_and_oversized_posts_get_a_message(as_user, comms) -> None:
    """Are a blank post and a 1 MB post refused with a message, and nothing stored?"""
    as_user("tok-ana")
    ana = CourseForum(thread=THREAD)
    page_action(ana, action="post", body="   ", parent_id=None)
    assert ana.problem and "Write something" in ana.status
    page_action(ana, action="post", body="x" * 1_000_000, parent_id=None)
    assert ana.problem and "Shorten it" in ana.status
    assert ana.sent == 0 and ana.posts == []


def test_without_a_service_the_page_says_so(monkeypatch: pytest.MonkeyPatch, comms) -> None:
    """In a single-user copy of the course, does the forum explain itself instead of failing?"""
    monkeypatch.delenv("SE4U_SERVICE_URL", raising=False)
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:9/user/ana/")  # the learner's server
    forum = CourseForum()
    assert not forum.available and forum.status == NO_SERVICE


def test_a_service_that_is_down_gives_a_message_and_keeps_the_draft(as_user, comms, monkeypatch) -> None:
    """When the service stops answering, does posting say so (no traceback) and leave the draft alone?"""
    as_user("tok-ana")
    forum = CourseForum(thread=THREAD)
    monkeypatch.setenv("SE4U_SERVICE_URL", f"http://127.0.0.1:{free_port()}/services/se4u/")
    page_action(forum, action="post", body="my careful draft", parent_id=None)
    assert forum.problem and "cannot be reached" in forum.status and "lost" in forum.status
    assert forum.sent == 0  # the page clears the draft only when this changes


# --- in Voilà and Chromium ------------------------------------------------------------------------
@pytest.mark.browser
def test_forum_app_by_keyboard_at_360_px(service: ServiceThread, browser, tmp_path: Path) -> None:
    """Can a learner, by keyboard alone on a 360 px screen, read a thread, post and reply, and hear it?"""
    from tests.axe import page_violations
    from tests.conftest import ARTIFACTS, NOTEBOOKS, VoilaServer

    with httpx_client(service, "tok-ben") as c:
        assert c.post(f"api/threads/{THREAD}/posts", json={"body": "Ben *was here* first"}).status_code == 201
    server = VoilaServer(NOTEBOOKS, tmp_path / "responses.sqlite", learner="ana",
                         env={"SE4U_SERVICE_URL": service.base, "SE4U_SERVICE_TOKEN": "tok-ana"})
    context = browser.new_context(viewport={"width": 360, "height": 800})
    page = context.new_page()
    try:
        page.goto(server.url("forum.ipynb") + f"?thread={THREAD}")
        page.wait_for_selector(".se4u-forum-post", timeout=60_000)
        assert page.locator(".se4u-forum-select").input_value() == THREAD
        assert page.locator(".se4u-forum-html em", has_text="was here").count() == 1
        # a new post: focus the text box by keyboard, type, Tab to Post, Enter
        page.focus(".se4u-forum-select")
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.tagName") == "TEXTAREA":
                break
        page.keyboard.type("Our NGO *joined* the country visit.")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('.se4u-forum-status').textContent"
                               ".includes('Your post was published')")
        assert page.locator(".se4u-forum-status").get_attribute("aria-live") == "polite"
        assert page.locator(".se4u-forum-text").input_value() == ""
        # a reply to Ben: his Reply button, then type and send with the keyboard
        ben = page.locator(".se4u-forum-post", has_text="Ben").first
        ben.locator("button", has_text="Reply").focus()
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.tagName") == "TEXTAREA"
        page.keyboard.type("Thank you, Ben.")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('.se4u-forum-status').textContent"
                               ".includes('Your reply was posted')")
        assert page.locator(".se4u-forum-replies .se4u-forum-html", has_text="Thank you, Ben.").count() == 1
        assert "1 post, 1 reply" in page.inner_text(".se4u-forum-mine")
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 1
        assert "Traceback" not in page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "app-forum-360.png"), full_page=True)
        assert page_violations(page) == []
    finally:
        context.close()
        server.stop()
    with httpx_client(service, "tok-ben") as c:
        posts = c.get(f"api/threads/{THREAD}/posts").json()["posts"]
    assert [(p["author"], p["body"]) for p in posts][1:] == [
        ("ana", "Our NGO *joined* the country visit."), ("ana", "Thank you, Ben.")]


def httpx_client(service: ServiceThread, token: str):
    import httpx

    return httpx.Client(base_url=service.base, headers={"Authorization": f"token {token}"}, timeout=10)
