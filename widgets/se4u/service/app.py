"""The course service: a Tornado app behind JupyterHub that keeps the forum and the progress records.

Identity comes only from the hub: browsers sign in through the hub's OAuth
(:class:`~jupyterhub.services.auth.HubOAuthenticated`, callback at ``<prefix>oauth_callback``),
kernels and scripts send a hub API token (``Authorization: token …``). Instructors are the members
of the hub group ``instructors``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated, UserNotAllowed
from jupyterhub.utils import url_path_join
from tornado import web

from se4u.service.db import CourseDB, CourseDBError, ForbiddenError, InvalidError, NotFoundError, Post
from se4u.service.render import render_markdown
from se4u.service.threads import Thread, forum_threads

log = logging.getLogger("se4u.service")
TEMPLATES = Path(__file__).parent / "templates"
INSTRUCTORS_GROUP = "instructors"
#: The most statements one POST /api/records may carry.
MAX_BATCH = 500


@dataclass
class CourseService:
    """What every handler needs: the database, the forum threads and the hub's OAuth client."""

    db: CourseDB
    threads: dict[str, Thread]
    hub_auth: HubOAuth
    prefix: str = "/"
    instructors_group: str = INSTRUCTORS_GROUP
    #: Where issued certificates are registered (default: the service's own database).
    certificate_register: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    executor: ThreadPoolExecutor = field(init=False)
    _register: Any = field(init=False, default=None)

    def register(self) -> Any:
        """The certificate register, opened on first use (CertificateError if it cannot be)."""
        if self._register is None:
            from se4u.certificates import Register
            from se4u.config import store_url_from

            where = self.certificate_register or os.environ.get("SE4U_CERT_REGISTER") or self.db.url
            self._register = Register(store_url_from(where))
        return self._register

    def __post_init__(self) -> None:
        # database calls run off the event loop; SQLite takes one writer at a time anyway
        workers = 1 if self.db.dialect == "sqlite" else 8
        self.executor = ThreadPoolExecutor(workers, thread_name_prefix="se4u-db")


class CourseHandler(HubOAuthenticated, web.RequestHandler):
    """Resolves the hub user once per request, asynchronously, before the handler runs."""

    def initialize(self, course: CourseService) -> None:
        self.course = course
        self.hub_auth = course.hub_auth

    async def prepare(self) -> None:
        model = await self.hub_auth.get_user(self, sync=False)
        try:
            self._hub_auth_user_cache = self.check_hub_user(model) if model else None
        except UserNotAllowed:
            self._hub_auth_user_cache = None
            raise web.HTTPError(403, "you do not have access to the course service") from None

    def check_xsrf_cookie(self) -> None:
        # A request carrying a token cannot be forged cross-site (browsers add no Authorization
        # header on their own); cookie-authenticated requests need the xsrf token.
        if self.hub_auth.get_token(self, in_cookie=False):
            return
        super().check_xsrf_cookie()

    @property
    def user_name(self) -> str:
        return str(self.current_user["name"])

    @property
    def is_instructor(self) -> bool:
        user = self.current_user or {}
        return self.course.instructors_group in (user.get("groups") or [])

    def thread(self, thread_id: str) -> Thread:
        found = self.course.threads.get(thread_id)
        if found is None:
            raise web.HTTPError(404, f"there is no forum thread {thread_id!r}")
        return found

    async def in_db(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a database call in the service's worker threads, keeping the event loop free."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.course.executor, partial(function, *args, **kwargs))

    def post_json(self, post: Post) -> dict[str, Any]:
        data = post.as_json()
        data["html"] = render_markdown(post.body)
        data["mine"] = post.author == self.user_name
        return data


class OAuthCallback(HubOAuthCallbackHandler):
    """The hub's OAuth callback, using the service's own HubOAuth client."""

    def initialize(self, course: CourseService) -> None:
        self.hub_auth = course.hub_auth


class APIHandler(CourseHandler):
    """JSON in, JSON out; errors as ``{"error": message}``, never a traceback or a login redirect."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")

    def get_login_url(self) -> str:
        raise web.HTTPError(403, "sign in through JupyterHub or send a hub API token")

    def body_json(self) -> Any:
        try:
            return json.loads(self.request.body or b"null")
        except ValueError:
            raise web.HTTPError(400, "the request body is not JSON") from None

    def send(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        message = HTTPStatus(status_code).phrase
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        self.finish(json.dumps({"error": message}))

    def _fail(self, exc: CourseDBError) -> None:
        status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, ForbiddenError) else 400
        if not isinstance(exc, NotFoundError | ForbiddenError | InvalidError):
            log.error("database problem: %s", exc)
            status = 503
        raise web.HTTPError(status, str(exc)) from None


class MeHandler(APIHandler):
    @web.authenticated
    def get(self) -> None:
        self.send({"name": self.user_name, "instructor": self.is_instructor})


class ThreadsHandler(APIHandler):
    @web.authenticated
    def get(self) -> None:
        self.send([dict(t.as_json(), posts=self.course.db.count_posts(t.id))
                   for t in self.course.threads.values()])


class ThreadPostsHandler(APIHandler):
    @web.authenticated
    async def get(self, thread_id: str) -> None:
        thread = self.thread(thread_id)
        found = await self.in_db(self.course.db.thread_posts, thread.id, viewer=self.user_name,
                                 instructor=self.is_instructor)
        self.send({"thread": thread.as_json(), "posts": [self.post_json(p) for p in found]})

    @web.authenticated
    async def post(self, thread_id: str) -> None:
        thread = self.thread(thread_id)
        data = self.body_json()
        if not isinstance(data, dict):
            raise web.HTTPError(400, "send a JSON object with a body")
        parent = data.get("parent_id")
        if parent is not None and not isinstance(parent, int):
            raise web.HTTPError(400, "parent_id: must be a post number")
        try:
            post = await self.in_db(self.course.db.add_post, thread.id, self.user_name, data.get("body"),
                                    parent)
        except CourseDBError as exc:
            self._fail(exc)
        self.send(self.post_json(post), 201)


class PostHandler(APIHandler):
    def _visible(self, post_id: int) -> Post:
        try:
            post = self.course.db.get_post(post_id)
        except CourseDBError as exc:
            self._fail(exc)
        if post.hidden and not self.is_instructor and post.author != self.user_name:
            raise web.HTTPError(404, f"post {post_id} does not exist")
        return post

    @web.authenticated
    def get(self, post_id: str) -> None:
        self.send(self.post_json(self._visible(int(post_id))))

    @web.authenticated
    def patch(self, post_id: str) -> None:
        self._visible(int(post_id))
        data = self.body_json()
        if not isinstance(data, dict):
            raise web.HTTPError(400, "send a JSON object with a body")
        try:
            post = self.course.db.edit_post(int(post_id), self.user_name, data.get("body"))
        except CourseDBError as exc:
            self._fail(exc)
        self.send(self.post_json(post))

    @web.authenticated
    def delete(self, post_id: str) -> None:
        self._visible(int(post_id))
        try:
            self.course.db.delete_post(int(post_id), self.user_name)
        except CourseDBError as exc:
            self._fail(exc)
        self.set_status(204)
        self.finish()


class ModerationHandler(APIHandler):
    @web.authenticated
    def post(self, post_id: str) -> None:
        if not self.is_instructor:
            raise web.HTTPError(403, "only instructors can hide or pin posts")
        data = self.body_json()
        if not isinstance(data, dict):
            raise web.HTTPError(400, "send a JSON object with hidden and/or pinned")
        try:
            post = self.course.db.moderate(int(post_id), hidden=data.get("hidden"), pinned=data.get("pinned"))
        except CourseDBError as exc:
            self._fail(exc)
        self.send(self.post_json(post))


class RecordsHandler(APIHandler):
    @web.authenticated
    def get(self) -> None:
        actor = self.get_argument("actor", None)
        if not self.is_instructor:
            if actor not in (None, self.user_name):
                raise web.HTTPError(403, "you can read only your own records")
            actor = self.user_name
        self.send(self.course.db.statements_of(actor))

    @web.authenticated
    async def post(self) -> None:
        data = self.body_json()
        batch = data if isinstance(data, list) else [data]
        if len(batch) > MAX_BATCH:
            raise web.HTTPError(400, f"send at most {MAX_BATCH} statements at once")
        for statement in batch:
            actor = statement.get("actor") if isinstance(statement, dict) else None
            if isinstance(actor, dict):
                actor = actor.get("name")
            if actor not in (None, self.user_name):
                raise web.HTTPError(403, "a statement's actor must be you")
        stored = duplicates = 0
        for statement in batch:
            try:
                added = await self.in_db(self.course.db.add_statement, self.user_name, statement)
            except CourseDBError as exc:
                self._fail(exc)
            stored += added
            duplicates += not added
        self.send({"stored": stored, "duplicates": duplicates})


class ParticipationHandler(APIHandler):
    @web.authenticated
    def get(self, thread_id: str) -> None:
        thread = self.thread(thread_id)
        learner = self.get_argument("learner", None)
        if not self.is_instructor:
            if learner not in (None, self.user_name):
                raise web.HTTPError(403, "you can see only your own participation")
            learner = self.user_name
        counts = self.course.db.participation(thread.id, thread.min_posts, thread.min_replies, learner)
        self.send({"thread": thread.id, "min_posts": thread.min_posts, "min_replies": thread.min_replies,
                   "learners": counts})


# --- the HTML forum -------------------------------------------------------------------------------
class PageHandler(CourseHandler):
    """Server-rendered pages; forms post back with the xsrf token and redirect (no script needed)."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Security-Policy",
                        "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
                        "frame-ancestors 'self'; base-uri 'none'")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "no-store")

    def url(self, *parts: str) -> str:
        return url_path_join(self.course.prefix, *parts)

    def render_page(self, template: str, **kwargs: Any) -> None:
        self.render(template, url=self.url, user=self.user_name, instructor=self.is_instructor,
                    **kwargs)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        message = HTTPStatus(status_code).phrase
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            message = exc.log_message % exc.args if exc.args else exc.log_message
        user = getattr(self, "_hub_auth_user_cache", None) or {}
        self.render("error.html", url=self.url, user=user.get("name"), instructor=False,
                    status=status_code, message=message)


class HomePage(PageHandler):
    @web.authenticated
    def get(self) -> None:
        threads = [(t, self.course.db.count_posts(t.id)) for t in self.course.threads.values()]
        self.render_page("home.html", threads=threads)


class ForumPage(PageHandler):
    @web.authenticated
    def get(self, thread_id: str) -> None:
        thread = self.thread(thread_id)
        found = self.course.db.thread_posts(thread.id, viewer=self.user_name, instructor=self.is_instructor)
        by_id = {p.id: p for p in found}
        mine = self.course.db.participation(thread.id, thread.min_posts, thread.min_replies,
                                            self.user_name)[self.user_name]
        self.render_page("forum.html", thread=thread, posts=found, by_id=by_id, mine=mine,
                         render_markdown=render_markdown, editing=self.get_argument("edit", ""),
                         notice=self.get_argument("notice", ""))

    @web.authenticated
    def post(self, thread_id: str) -> None:
        thread = self.thread(thread_id)
        parent = self.get_argument("parent_id", "")
        try:
            post = self.course.db.add_post(thread.id, self.user_name, self.get_argument("body", ""),
                                           int(parent) if parent.isdigit() else None)
        except (InvalidError, NotFoundError) as exc:
            raise web.HTTPError(400, str(exc)) from None
        self.redirect(self.url("forum", thread.id) + f"?notice=posted#post-{post.id}")


class PostActionPage(PageHandler):
    @web.authenticated
    def post(self, post_id: str, action: str) -> None:
        db = self.course.db
        try:
            post = db.get_post(int(post_id))
            if action == "edit":
                db.edit_post(post.id, self.user_name, self.get_argument("body", ""))
            elif action == "delete":
                db.delete_post(post.id, self.user_name)
            elif not self.is_instructor:
                raise web.HTTPError(403, "only instructors can hide or pin posts")
            elif action in ("hide", "unhide"):
                db.moderate(post.id, hidden=action == "hide")
            elif action in ("pin", "unpin"):
                db.moderate(post.id, pinned=action == "pin")
        except NotFoundError as exc:
            raise web.HTTPError(404, str(exc)) from None
        except ForbiddenError as exc:
            raise web.HTTPError(403, str(exc)) from None
        except InvalidError as exc:
            raise web.HTTPError(400, str(exc)) from None
        anchor = "" if action == "delete" else f"#post-{post.id}"
        self.redirect(self.url("forum", post.thread) + f"?notice={action}{anchor}")


# ==================================================================================================
# Certificates: instructors issue and revoke through the service (which holds the signing key);
# a learner downloads only their own; anyone may verify a code (VerifyPage).
# ==================================================================================================
class CertificateAPI(APIHandler):
    def certificates(self) -> tuple[Any, bytes]:
        from se4u.certificates import CertificateError, load_key

        try:
            return self.course.register(), load_key(create=True)
        except CertificateError as exc:
            log.error("certificates unavailable: %s", exc)
            raise web.HTTPError(503, "certificates are not available at the moment") from None

    def learner_asked(self) -> str:
        learner = self.get_argument("learner", None)
        if learner not in (None, self.user_name) and not self.is_instructor:
            raise web.HTTPError(403, "you can see only your own certificate")
        return learner or self.user_name


class CertificatesHandler(CertificateAPI):
    """POST: sign and register certificates for learners whose completion the instructor checked."""

    @web.authenticated
    async def post(self) -> None:
        from se4u.certificates import CertificateError, issue_for

        if not self.is_instructor:
            raise web.HTTPError(403, "only instructors issue certificates")
        data = self.body_json()
        items = data.get("certificates") if isinstance(data, dict) else None
        if not isinstance(items, list) or not items or len(items) > MAX_BATCH:
            raise web.HTTPError(400, f"send {{'certificates': [...]}} with 1 to {MAX_BATCH} entries")
        register, key = self.certificates()
        issued = []
        for item in items:
            try:
                learner, name, cohort = (str(item[k]).strip() for k in ("learner", "name", "cohort"))
                requirements = [str(r) for r in item.get("requirements", [])]
                day = date.fromisoformat(item["issued"]) if item.get("issued") else None
            except (TypeError, KeyError, ValueError, AttributeError):
                raise web.HTTPError(400, "each certificate needs learner, name, cohort, requirements "
                                         "(and optionally issued as YYYY-MM-DD)") from None
            try:
                cert = await self.in_db(issue_for, learner, name, cohort, requirements, register, key,
                                        issued=day)
            except CertificateError as exc:
                raise web.HTTPError(400, str(exc)) from None
            issued.append({"learner": cert.learner, "name": cert.name, "code": cert.code,
                           "issued": cert.issued})
        self.send({"certificates": issued})


class MyCertificateHandler(CertificateAPI):
    """GET: the caller's certificate (an instructor may ask for any learner's)."""

    @web.authenticated
    async def get(self) -> None:
        learner = self.learner_asked()
        register, _key = self.certificates()
        cert = await self.in_db(register.of_learner, learner)
        if cert is None:
            raise web.HTTPError(404, "there is no certificate yet")
        self.send({"learner": cert.learner, "name": cert.name, "code": cert.code, "issued": cert.issued,
                   "requirements": list(cert.requirements),
                   "download": url_path_join(self.course.prefix, "certificate")})


class RevocationsHandler(CertificateAPI):
    """POST {code, reason}: an instructor revokes a certificate."""

    @web.authenticated
    async def post(self) -> None:
        from se4u.certificates import CertificateError, revoke

        if not self.is_instructor:
            raise web.HTTPError(403, "only instructors revoke certificates")
        data = self.body_json()
        if not isinstance(data, dict) or not isinstance(data.get("code"), str):
            raise web.HTTPError(400, "send {'code': ..., 'reason': ...}")
        register, key = self.certificates()
        try:
            cert = await self.in_db(revoke, data["code"], str(data.get("reason", "")), register, key)
        except CertificateError as exc:
            raise web.HTTPError(400, str(exc)) from None
        self.send({"revoked": cert.code, "learner": cert.learner})


class CertificateDownload(PageHandler):
    """GET: the signed-in learner's own certificate as a PDF (instructors: ``?learner=``)."""

    @web.authenticated
    async def get(self) -> None:
        from se4u.certificates import CertificateError, certificate_file, pdf_bytes

        learner = self.get_argument("learner", None)
        if learner not in (None, self.user_name) and not self.is_instructor:
            raise web.HTTPError(403, "you can download only your own certificate")
        learner = learner or self.user_name
        try:
            register = self.course.register()
        except CertificateError:
            raise web.HTTPError(503, "certificates are not available at the moment") from None
        cert = await self.in_db(register.of_learner, learner)
        if cert is None:
            raise web.HTTPError(404, "there is no certificate for you yet: every requirement must be met "
                                     "first")
        pdf = await self.in_db(pdf_bytes, cert, verify_base=os.environ.get("SE4U_VERIFY_URL"))
        self.set_header("Content-Type", "application/pdf")
        self.set_header("Content-Disposition",
                        f"attachment; filename=\"se4u-{certificate_file(Path(), learner).name}\"")
        self.finish(pdf)


class VerifyPage(web.RequestHandler):
    """Public: anyone holding a certificate code can check it is genuine (no sign-in needed)."""

    def initialize(self, course: CourseService) -> None:
        self.course = course

    def get(self) -> None:
        from se4u.certificates import CertificateError, load_key, verification_page, verify

        code = self.get_argument("code", "").strip()[:64]
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
        if not code:
            self.finish("<!doctype html><html lang='en'><title>Check a certificate</title><main>"
                        "<h1>Check an SE4U certificate</h1><form method='get'>"
                        "<label for='code'>Verification code</label> <input id='code' name='code' "
                        "autocomplete='off' required> <button type='submit'>Check</button>"
                        "</form></main></html>")
            return
        try:
            key = load_key(create=False)
            register = self.course.register()
        except CertificateError:
            self.set_status(503)
            self.finish("<!doctype html><html lang='en'><title>Not available</title><main><p role='alert'>"
                        "Certificates cannot be checked here at the moment. Please try again later."
                        "</p></main></html>")
            return
        result = verify(code, register, key)
        self.set_status(200 if result.valid else 404)
        self.finish(verification_page(result))


def make_app(course: CourseService, *, cookie_secret: bytes | None = None) -> web.Application:
    """The service's Tornado application, mounted at ``course.prefix``."""
    prefix = course.prefix
    thread = r"([a-z0-9][a-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9_.-]*)"
    args = {"course": course}
    routes = [
        (url_path_join(prefix, "oauth_callback"), OAuthCallback, args),
        (url_path_join(prefix, "api/me"), MeHandler, args),
        (url_path_join(prefix, "api/threads"), ThreadsHandler, args),
        (url_path_join(prefix, rf"api/threads/{thread}/posts"), ThreadPostsHandler, args),
        (url_path_join(prefix, r"api/posts/(\d{1,12})"), PostHandler, args),
        (url_path_join(prefix, r"api/posts/(\d{1,12})/moderation"), ModerationHandler, args),
        (url_path_join(prefix, "api/records"), RecordsHandler, args),
        (url_path_join(prefix, rf"api/participation/{thread}"), ParticipationHandler, args),
        (url_path_join(prefix, rf"forum/{thread}"), ForumPage, args),
        (url_path_join(prefix, r"posts/(\d{1,12})/(edit|delete|hide|unhide|pin|unpin)"), PostActionPage,
         args),
        (url_path_join(prefix, "api/certificates"), CertificatesHandler, args),
        (url_path_join(prefix, "api/certificates/revocations"), RevocationsHandler, args),
        (url_path_join(prefix, "api/certificate"), MyCertificateHandler, args),
        (url_path_join(prefix, "certificate"), CertificateDownload, args),
        (url_path_join(prefix, "verify"), VerifyPage, args),
        (prefix.rstrip("/") + "/?", HomePage, args),
    ]
    return web.Application(
        routes, cookie_secret=cookie_secret or os.urandom(32), xsrf_cookies=True,
        template_path=str(TEMPLATES), autoescape="xhtml_escape", compiled_template_cache=True,
        hub_auth=course.hub_auth)


def course_from_env(hub_auth: HubOAuth | None = None) -> CourseService:
    """The service as JupyterHub launches it: settings from the environment it passes."""
    from se4u.config import load_settings

    db_value = os.environ.get("SE4U_SERVICE_DB") or str(
        Path.home() / ".local" / "share" / "se4u" / "course-service.sqlite")
    banks = Path(os.environ["SE4U_BANKS"]) if os.environ.get("SE4U_BANKS") else load_settings().banks_dir
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/se4u/")
    return CourseService(db=CourseDB(db_value), threads=forum_threads(banks),
                         hub_auth=hub_auth or HubOAuth(base_url=prefix, cache_max_age=60), prefix=prefix,
                         instructors_group=os.environ.get("SE4U_INSTRUCTORS_GROUP", INSTRUCTORS_GROUP))
