"""A real cohort hub end to end: PAM sign-in, the forum through the hub's OAuth, per-learner isolation.

Starts `deploy/local/jupyterhub_config.py` through :class:`se4u.service.hub.LocalHub` on free
loopback ports in a temporary folder, with three throwaway system accounts (removed afterwards),
and drives Debian's Chromium as two learners and an instructor.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from se4u.config import REPO_DIR
from se4u.service.threads import forum_threads
from tests.axe import page_violations
from tests.conftest import ARTIFACTS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(os.geteuid() != 0, reason="creates system accounts: needs root"),
]

LEARNER_A, LEARNER_B, INSTRUCTOR = "se4ut-learner-a", "se4ut-learner-b", "se4ut-instructor"
#: The learner name `se4u cohort create` derives from the e-mail address se4utenrolled@example.org.
ENROLLED = "se4utenrolled"
THREAD = next(key for key in forum_threads(REPO_DIR / "notebooks" / "banks") if key.startswith("module2/"))


@pytest.fixture(scope="module")
def hub() -> Iterator:
    """A running cohort hub with throwaway accounts; stopped and the accounts removed afterwards."""
    from se4u.service.hub import LocalHub, remove_accounts

    state = Path(tempfile.mkdtemp(prefix="se4u-hub-test-"))
    state.chmod(0o711)
    running = LocalHub(state, learners=[LEARNER_A, LEARNER_B], instructors=[INSTRUCTOR],
                       admin_token=secrets.token_hex(24), reset_passwords=True,
                       users_file=state / "course" / "hub_users.json")
    try:
        running.start(timeout=90)
        yield running
    finally:
        running.stop()
        remove_accounts([LEARNER_A, LEARNER_B, INSTRUCTOR, ENROLLED])
        shutil.rmtree(state, ignore_errors=True)


FORUM = f"/services/se4u/forum/{THREAD}"


def skip_unless_learners_can_run_the_venv() -> None:
    """Learners' servers run this venv's Python as the learners: skip if they cannot reach it."""
    from se4u.service.hub import unreachable_for_learners

    blocked = unreachable_for_learners(Path(sys.executable))
    if blocked is not None:
        pytest.skip(f"this venv's Python is inside {blocked}, which learner accounts cannot enter")


def sign_in(browser, hub, name: str, width: int = 1280, target: str | None = FORUM):
    """A new browser context signed in to the hub as ``name``, on ``target`` (default: the module's forum).

    With ``target=None`` the user goes where the hub sends them after signing in: their own server.
    """
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(f"{hub.base}/hub/login" + (f"?next={quote(target)}" if target else ""))
    page.fill("#username_input", name)
    page.fill("#password_input", hub.new_passwords[name])
    page.click("#login_submit")
    if target:
        page.wait_for_url(f"**{target}*")
        page.wait_for_selector("h1")
        assert f"Signed in as {name}" in page.inner_text("header")
    return context, page


def test_two_learners_and_an_instructor_use_the_forum(hub, browser) -> None:
    """Can A post, B see it and reply, the instructor hide a post, and A see the reply but not it?"""
    context_a, page_a = sign_in(browser, hub, LEARNER_A, width=360)
    # A writes the post with the keyboard only, on a 360 px wide screen
    page_a.focus("#new-body")
    page_a.keyboard.type("In my country the **hardest** offence to tackle is money laundering.")
    page_a.keyboard.press("Tab")
    page_a.keyboard.press("Enter")
    page_a.wait_for_selector("text=Done: posted")
    assert page_a.evaluate("document.documentElement.scrollWidth") <= 360
    post_a = page_a.locator("article.post", has_text="money laundering")
    assert post_a.locator("strong", has_text="hardest").count() == 1
    assert page_violations(page_a) == [], "axe, a thread at 360 px with the learner's own post"

    context_b, page_b = sign_in(browser, hub, LEARNER_B)
    article = page_b.locator("article.post", has_text="money laundering")
    assert article.locator(".author").inner_text() == LEARNER_A
    article.locator("summary", has_text="Reply").click()
    article.locator("textarea[name=body]").fill("Same here; corruption is close behind.")
    article.locator("button", has_text="Post reply").click()
    page_b.wait_for_selector("text=Done: posted")
    page_b.fill("#new-body", "Buy cheap watches at example.com")
    page_b.click("#new-body ~ button")
    page_b.wait_for_selector("article.post:has-text('cheap watches')")
    # A learner has no moderation buttons
    assert page_b.locator("button", has_text="Hide post").count() == 0

    context_i, page_i = sign_in(browser, hub, INSTRUCTOR)
    assert "(instructor)" in page_i.inner_text("header")
    spam = page_i.locator("article.post", has_text="cheap watches")
    spam.locator("button", has_text="Hide post").click()
    page_i.wait_for_selector("text=Done: hide")
    assert "hidden by an instructor" in page_i.locator("article.post", has_text="cheap watches").inner_text()
    assert page_violations(page_i) == [], "axe, a thread with the moderation buttons and a hidden post"
    page_i.goto(f"{hub.service_url}")
    page_i.wait_for_selector("h1")
    assert page_violations(page_i) == [], "axe, the list of module forums"

    page_a.reload()
    reply = page_a.locator("article.post.reply", has_text="corruption is close behind")
    assert reply.locator(".author").inner_text() == LEARNER_B
    assert page_a.locator("article.post", has_text="cheap watches").count() == 0
    # B still sees the own hidden post, marked as hidden
    page_b.reload()
    assert "hidden by an instructor" in page_b.locator("article.post", has_text="cheap watches").inner_text()
    for context in (context_a, context_b, context_i):
        context.close()


def test_the_forum_app_in_a_learners_server_posts_through_the_service(hub, browser) -> None:
    """In her own server's forum app, does A post with her hub identity, and does the post reach the
    course service's forum for everyone?"""
    from se4u.service.hub import COURSE_FOLDER

    skip_unless_learners_can_run_the_venv()
    context, page = sign_in(browser, hub, LEARNER_A, width=360, target=None)
    try:
        page.wait_for_url(f"**/user/{LEARNER_A}/voila/render/{COURSE_FOLDER}/home.ipynb", timeout=120_000)
        page.goto(f"{hub.base}/user/{LEARNER_A}/voila/render/{COURSE_FOLDER}/forum.ipynb?thread={quote(THREAD)}")
        page.wait_for_selector(".se4u-forum-text", timeout=90_000)
        assert page.locator(".se4u-forum-select").input_value() == THREAD
        page.focus(".se4u-forum-text")
        page.keyboard.type("Posted from the *forum app* in my own server.")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.querySelector('.se4u-forum-status').textContent"
                               ".includes('Your post was published')")
        mine = page.locator(".se4u-forum-post", has_text="Posted from the forum app")
        assert mine.locator(".se4u-forum-meta strong").first.inner_text() == LEARNER_A
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page_violations(page) == [], "axe, the forum app on the hub"
        page.goto(f"{hub.base}{FORUM}")
        article = page.locator("article.post", has_text="Posted from the forum app")
        assert article.locator("em", has_text="forum app").count() == 1
    finally:
        context.close()
        hub.api("DELETE", f"users/{LEARNER_A}/server")


def test_a_learner_lands_on_the_course_home_in_their_own_server(hub, browser) -> None:
    """After signing in, does a learner get the course in their home and its home page as a Voilà app?"""
    from se4u.service.hub import COURSE_FOLDER

    skip_unless_learners_can_run_the_venv()
    context, page = sign_in(browser, hub, LEARNER_B, width=360, target=None)
    try:
        page.wait_for_url(f"**/user/{LEARNER_B}/voila/render/{COURSE_FOLDER}/home.ipynb", timeout=120_000)
        page.wait_for_selector(".se4u-part a", timeout=90_000)
        text = page.inner_text("body")
        assert "Module 6" in text and "Traceback" not in text
        assert "from se4u" not in page.content().split("rendered_cells", 1)[1]
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert page_violations(page) == [], "axe, the course home on the hub"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hub-learner-home-360.png"), full_page=True)
    finally:
        context.close()
        hub.api("DELETE", f"users/{LEARNER_B}/server")
    entry = pwd.getpwnam(LEARNER_B)
    course = Path(entry.pw_dir) / COURSE_FOLDER
    assert (course / "module1.ipynb").stat().st_uid == entry.pw_uid
    assert not (course / "instructor.ipynb").exists() and not (course / "apply.ipynb").exists()


def test_an_applicant_enrolled_while_the_hub_runs_signs_in_at_once(hub, browser) -> None:
    """Does one `se4u cohort create --accounts` make an accepted applicant an nbgrader student and a hub
    user who can sign in, without restarting the hub, and a second run create nobody twice?"""
    from nbgrader.api import Gradebook

    from se4u.applications import ApplicationBook, ApplicationForm, load_call

    course = hub.users_file.parent
    course.mkdir(exist_ok=True)
    shutil.copy(REPO_DIR / "nbgrader_config.py", course / "nbgrader_config.py")
    env = dict(os.environ, SE4U_APPLICATIONS=f"sqlite:///{course / 'applications.sqlite'}")
    book = ApplicationBook(env["SE4U_APPLICATIONS"])
    form = ApplicationForm(name="Enrolled Person", organisation="Observatory", organisation_type="cso",
                           country="Algeria", email=f"{ENROLLED}@example.org")
    app_id, reasons = book.submit(load_call("focal_points"), form)
    assert reasons == []
    book.decide(app_id, "accepted")
    book.close()
    command = [sys.executable, "-m", "se4u.cli", "cohort", "create", "--call", "focal_points",
               "--course", str(course), "--accounts", "--hub-state", str(hub.state)]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    password = next(line.split()[1] for line in first.stdout.splitlines()
                    if line.strip().startswith(ENROLLED))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assert [s.id for s in gb.students] == [ENROLLED]
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "created 0 learner(s)" in again.stdout and "hub accounts: 0 new" in again.stdout, again.stdout

    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{hub.base}/hub/login?next={quote(FORUM)}")
        page.fill("#username_input", ENROLLED)
        page.fill("#password_input", password)
        page.click("#login_submit")
        page.wait_for_url(f"**{FORUM}*")
        assert f"Signed in as {ENROLLED}" in page.inner_text("header")
    finally:
        context.close()


def test_a_learner_downloads_their_certificate_from_my_progress(hub, browser, tmp_path: Path) -> None:
    """When the instructor issues A's certificate through the service, does A's progress page link it,
    the PDF carry A's name and a code the public page verifies, and B get no access to it?"""
    from pypdf import PdfReader

    from se4u.service.hub import unreachable_for_learners

    blocked = unreachable_for_learners(Path(sys.executable))
    if blocked is not None:
        pytest.skip(f"this venv's Python is inside {blocked}, which learner accounts cannot enter")
    token = hub.user_token(INSTRUCTOR)
    body = {"certificates": [{"learner": LEARNER_A, "name": "Learner A. Example", "cohort": "self_paced",
                              "requirements": ["All reading assignments completed"]}]}
    request = urllib.request.Request(hub.service_url + "api/certificates", data=json.dumps(body).encode(),
                                     method="POST", headers={"Authorization": f"token {token}",
                                                             "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        code = json.loads(answer.read())["certificates"][0]["code"]

    context, page = sign_in(browser, hub, LEARNER_A, target=None)
    try:
        page.wait_for_url("**/home.ipynb", timeout=120_000)
        page.goto(page.url.replace("home.ipynb", "progress.ipynb"))
        link = page.locator("a", has_text="Download your e-certificate")
        link.wait_for(timeout=90_000)
        with page.expect_download() as download:
            link.click()
        saved = tmp_path / "mine.pdf"
        download.value.save_as(saved)
        text = "".join(sheet.extract_text() for sheet in PdfReader(saved).pages)
        assert "Learner A. Example" in text and code in text
    finally:
        context.close()
        hub.api("DELETE", f"users/{LEARNER_A}/server")
    with urllib.request.urlopen(f"{hub.service_url}verify?code={quote(code)}", timeout=30) as answer:
        assert "Valid certificate" in answer.read().decode()
    context_b, page_b = sign_in(browser, hub, LEARNER_B)
    try:
        refused = page_b.goto(f"{hub.service_url}certificate?learner={LEARNER_A}")
        assert refused.status == 403
        assert "Learner A. Example" not in page_b.content()
    finally:
        context_b.close()


def _as_user(name: str, code: str) -> subprocess.CompletedProcess[str]:
    entry = pwd.getpwnam(name)
    env = {"HOME": entry.pw_dir, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["/usr/bin/python3", "-c", code], user=entry.pw_uid,
                          group=entry.pw_gid, extra_groups=[], env=env, cwd=entry.pw_dir,
                          capture_output=True, text=True, timeout=60)


def test_a_learner_cannot_read_another_learners_answers(hub) -> None:
    """Can a process of learner A read nothing in learner B's home, where B's answers are kept?"""
    home_b = Path(pwd.getpwnam(LEARNER_B).pw_dir)
    secret = home_b / ".local" / "share" / "se4u" / "essay-draft.txt"
    done = _as_user(LEARNER_B, f"import pathlib; p = pathlib.Path({str(secret)!r}); "
                               "p.parent.mkdir(parents=True, exist_ok=True); p.write_text('my essay')")
    assert done.returncode == 0, done.stderr
    assert oct(home_b.stat().st_mode & 0o777) == "0o700"
    attempt = _as_user(LEARNER_A, f"import os, pathlib\n"
                                  f"for probe in (lambda: os.listdir({str(home_b)!r}),\n"
                                  f"              lambda: pathlib.Path({str(secret)!r}).read_text()):\n"
                                  "    try:\n        probe()\n        print('READ')\n"
                                  "    except PermissionError:\n        print('DENIED')\n")
    assert attempt.stdout.split() == ["DENIED", "DENIED"], attempt.stderr


def test_each_learner_server_runs_as_its_own_user_and_reaches_the_service(hub) -> None:
    """Does the hub start A's server as A's system user, with a token that may post A's records only?"""
    from se4u.service.hub import unreachable_for_learners

    blocked = unreachable_for_learners(Path(sys.executable))
    if blocked is not None:
        pytest.skip(f"this venv's Python is inside {blocked}, which learner accounts cannot enter")
    hub.api("POST", f"users/{LEARNER_A}/server")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        model = hub.api("GET", f"users/{LEARNER_A}")
        server = model.get("servers", {}).get("")
        if server and server.get("ready"):
            break
        time.sleep(0.5)
    else:
        pytest.fail("A's server did not start:\n" + hub.log_tail())
    pid = int(server["state"]["pid"])
    uid_line = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("Uid:"))
    assert int(uid_line.split()[1]) == pwd.getpwnam(LEARNER_A).pw_uid
    environ = dict(item.split("=", 1) for item in
                   Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    token, service = environ["JUPYTERHUB_API_TOKEN"], environ["SE4U_SERVICE_URL"]
    statement = {"id": str(uuid.uuid4()), "verb": "answered", "object": f"{THREAD}/x"}

    def send(body: dict) -> int:
        request = urllib.request.Request(
            service + "api/records", data=json.dumps(body).encode(), method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=20) as answer:
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert send(statement) == 200
    assert send(dict(statement, id=str(uuid.uuid4()), actor=LEARNER_B)) == 403
    hub.api("DELETE", f"users/{LEARNER_A}/server")


def test_an_instructor_finds_the_tests_in_the_formgrader(hub, browser) -> None:
    """Does an instructor's own server get the nbgrader course, so the formgrader lists the six tests?"""
    from se4u.service.hub import unreachable_for_learners

    blocked = unreachable_for_learners(Path(sys.executable))
    if blocked is not None:
        pytest.skip(f"this venv's Python is inside {blocked}, which learner accounts cannot enter")
    context, page = sign_in(browser, hub, INSTRUCTOR, target=None)
    try:
        page.wait_for_url(f"**/user/{INSTRUCTOR}/voila/render/**/home.ipynb", timeout=120_000)
        page.goto(f"{hub.base}/user/{INSTRUCTOR}/formgrader")
        for module in ("module1", "module6"):
            page.wait_for_selector(f"table >> text={module}", timeout=60_000)
        assert "course directory root is not a subdirectory" not in page.inner_text("body")
    finally:
        context.close()
        hub.api("DELETE", f"users/{INSTRUCTOR}/server")


def test_a_learner_fetches_and_submits_a_test_and_the_instructor_collects_it(hub) -> None:
    """Through the cohort's exchange: does the instructor release from their own nbgrader course, A fetch
    and submit, B not peek, and the instructor collect?"""
    from se4u.service.hub import GRADING_FOLDER, install_course, unreachable_for_learners

    blocked = unreachable_for_learners(Path(sys.executable))
    if blocked is not None:
        pytest.skip(f"this venv's Python is inside {blocked}, which learner accounts cannot enter")
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    teacher = pwd.getpwnam(INSTRUCTOR)
    install_course(Path(teacher.pw_dir), teacher.pw_uid, teacher.pw_gid, instructor=True)
    course = Path(teacher.pw_dir) / GRADING_FOLDER

    def nbgrader_as(name: str, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        entry = pwd.getpwnam(name)
        env = {"HOME": entry.pw_dir, "PATH": f"{Path(nbgrader).parent}:/usr/bin:/bin",
               "JUPYTER_CONFIG_PATH": str(hub.state / "etc-jupyter")}
        return subprocess.run([nbgrader, *args], user=entry.pw_uid, group=entry.pw_gid, extra_groups=[],
                              env=env, cwd=cwd or entry.pw_dir, capture_output=True, text=True, timeout=180)

    def instructor(*args: str) -> None:
        # from the home folder: the cohort's config points nbgrader at ~/se4u-grading
        done = nbgrader_as(INSTRUCTOR, *args)
        assert done.returncode == 0, done.stdout + done.stderr

    instructor("generate_assignment", "module1", "--force")
    assert (course / "release" / "module1" / "module1.ipynb").exists()
    instructor("release_assignment", "module1", "--force")
    fetched = nbgrader_as(LEARNER_A, "fetch_assignment", "module1")
    assert fetched.returncode == 0, fetched.stderr
    assert (Path(pwd.getpwnam(LEARNER_A).pw_dir) / "module1" / "module1.ipynb").exists()
    submitted = nbgrader_as(LEARNER_A, "submit", "module1")
    assert submitted.returncode == 0, submitted.stderr
    inbound = str(hub.exchange / "se4u" / "inbound")
    peek = _as_user(LEARNER_B, f"import os\ntry:\n    print(os.listdir({inbound!r}))\n"
                               "except PermissionError:\n    print('DENIED')\n")
    assert peek.stdout.strip() == "DENIED"
    instructor("collect", "module1")
    assert (course / "submitted" / LEARNER_A / "module1" / "module1.ipynb").exists()
