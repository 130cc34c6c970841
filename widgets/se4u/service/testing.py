"""Helpers for tests and benchmarks: a throwaway PostgreSQL, the service in a thread, a stub identity.

:class:`StubHubAuth` replaces exactly one seam — the hub's answer to "whose token is this?"
(``HubAuth.user_for_token``) — so token parsing, xsrf, scope checks and every handler run as in
production. End-to-end tests use the real hub instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuth
from tornado.httpserver import HTTPServer
from traitlets import Dict

from se4u.service.app import CourseService, make_app
from se4u.service.db import CourseDB
from se4u.service.threads import Thread

SERVICE_SCOPE = "access:services!service=se4u"
PG_USER = "se4u-pg"


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StubHubAuth(HubOAuth):
    """HubOAuth whose identity lookup answers from a dict instead of asking the hub."""

    users = Dict(help="token → the user model the hub's /api/user would return")

    def user_for_token(self, token: str, use_cache: bool = True, session_id: str = "", *,
                       sync: bool = True) -> Any:
        model = self.users.get(token)
        model = dict(model) if model else None

        if sync:
            return model

        async def answer() -> dict[str, Any] | None:
            return model
        return answer()


def stub_hub_auth(users: dict[str, dict[str, Any]], prefix: str = "/services/se4u/") -> StubHubAuth:
    """A stub whose ``users`` map tokens to models ``{"name", "groups", "scopes"}``."""
    models = {}
    for token, user in users.items():
        models[token] = {"kind": "user", "groups": [], "scopes": [SERVICE_SCOPE], **user}
    return StubHubAuth(users=models, api_token="stub-service-token",  # noqa: S106 (never reaches a hub)
                       api_url="http://127.0.0.1:9/hub/api/",
                       oauth_client_id="service-se4u", base_url=prefix, access_scopes={SERVICE_SCOPE},
                       oauth_redirect_uri=f"http://127.0.0.1:9{prefix}oauth_callback")


class ServiceThread:
    """The course service app listening on a loopback port, served from a background thread."""

    def __init__(self, course: CourseService, *, cookie_secret: bytes | None = None,
                 port: int | None = None) -> None:
        self.course = course
        self.cookie_secret = cookie_secret
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}{course.prefix}"
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError("the course service did not start")

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = HTTPServer(make_app(self.course, cookie_secret=self.cookie_secret))
            server.listen(self.port, "127.0.0.1")
            self._ready.set()
            await self._stop.wait()
            server.stop()
            await server.close_all_connections()
        asyncio.run(main())

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(20)
        self.course.executor.shutdown(wait=True)


def course_with(db: CourseDB, users: dict[str, dict[str, Any]],
                threads: dict[str, Thread] | None = None) -> CourseService:
    """A course service on ``db`` with stubbed identities and (by default) the course's threads."""
    if threads is None:
        from se4u.config import REPO_DIR
        from se4u.service.threads import forum_threads

        threads = forum_threads(REPO_DIR / "notebooks" / "banks")
    return CourseService(db=db, threads=threads, hub_auth=stub_hub_auth(users), prefix="/services/se4u/")


class PostgresServer:
    """A private PostgreSQL cluster in a temporary folder, on 127.0.0.1 only, removed by :meth:`stop`.

    PostgreSQL refuses to run as root; as root the cluster belongs to the system user ``se4u-pg``
    (created if missing).
    """

    def __init__(self, bindir: str | None = None) -> None:
        self.bindir = Path(bindir or _pg_bindir())
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="se4u-pg-"))
        self.data = self.dir / "data"
        self._as: dict[str, Any] = {}
        if os.geteuid() == 0:
            _ensure_system_user(PG_USER)
            entry = pwd.getpwnam(PG_USER)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self._as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        self._run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "se4u", "--auth=trust",
                   "-E", "UTF8", "--no-sync", "--locale=C"])
        self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"), "-w",
                   "-t", "60", "-o", f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.dir} -c fsync=off -c max_connections=200",
                   "start"])
        self.url = f"postgresql+psycopg://se4u@127.0.0.1:{self.port}/postgres"

    def _run(self, cmd: list[str]) -> None:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.dir, **self._as)
        if done.returncode:
            raise RuntimeError(f"{cmd[0]} failed: {done.stdout}{done.stderr}")

    def create_database(self, name: str) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=se4u dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name comes from the test code, not a user
        return f"postgresql+psycopg://se4u@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


def _pg_bindir() -> str:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return str(candidate)
    found = shutil.which("initdb")
    if found:
        return str(Path(found).resolve().parent)
    raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql)")


def _ensure_system_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True, timeout=30)


def wait_for_port(port: int, timeout: float = 30) -> None:
    """Block until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")
