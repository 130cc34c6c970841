"""A local JupyterHub for one cohort: PAM accounts, one system user per learner, the course service.

:class:`LocalHub` prepares a state folder, creates the demo system accounts on first start and
runs ``jupyterhub`` with ``deploy/local/jupyterhub_config.py``; ``se4u hub``, the end-to-end test
and the load benchmark all start the hub through it.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from se4u.apps import server_extension_config
from se4u.config import REPO_DIR

CONFIG_FILE = REPO_DIR / "deploy" / "local" / "jupyterhub_config.py"
PROXY = REPO_DIR / "node_modules" / ".bin" / "configurable-http-proxy"
DEMO_LEARNERS = ("learner1", "learner2", "learner3")
DEMO_INSTRUCTORS = ("instructor1",)
INSTRUCTORS_GROUP = "instructors"
#: The nbgrader exchange folder: everyone may write, nobody may remove another's files (sticky bit).
EXCHANGE_MODE = 0o1777
#: Where a learner finds the course in their own home (the hub opens its home page there).
COURSE_FOLDER = "se4u-course"
#: The application form is for applicants, not for enrolled users; the dashboard is for instructors.
NOT_ON_HUB, INSTRUCTORS_ONLY = ("apply.ipynb",), ("instructor.ipynb",)
#: An instructor's nbgrader course (source/ with the hidden keys), where their formgrader works.
GRADING_FOLDER = "se4u-grading"
MANIFEST = ".se4u-installed.json"
#: In the hub's state folder: the passwords given to new accounts (mode 0600), the only copy.
PASSWORDS_FILE = "demo-passwords.txt"


class HubError(Exception):
    """The hub cannot be prepared or started; the message says what to do."""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_accounts(learners: Sequence[str], instructors: Sequence[str], passwords_file: Path, *,
                    reset: bool = False) -> dict[str, str]:
    """Create missing system accounts (home 0700) and give new ones a random password.

    Returns the passwords set now (``reset`` sets new ones for existing accounts too); they are
    appended to ``passwords_file`` (mode 0600), the only place they are kept.
    """
    if os.geteuid() != 0:
        raise HubError("creating the cohort's system accounts needs root (run `sudo se4u hub`)")
    if INSTRUCTORS_GROUP not in {g.gr_name for g in grp.getgrall()}:
        subprocess.run(["groupadd", "--system", INSTRUCTORS_GROUP], check=True, timeout=30)
    created: dict[str, str] = {}
    for name in [*learners, *instructors]:
        try:
            pwd.getpwnam(name)
            exists = True
        except KeyError:
            exists = False
            extra = ["-G", INSTRUCTORS_GROUP] if name in instructors else []
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", *extra, name],
                           check=True, timeout=30)
        home = Path(pwd.getpwnam(name).pw_dir)
        home.chmod(0o700)
        if not exists or reset:
            created[name] = secrets.token_urlsafe(12)
    if created:
        subprocess.run(["chpasswd"], input="".join(f"{n}:{p}\n" for n, p in created.items()),
                       text=True, check=True, timeout=30)
        passwords_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(passwords_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.writelines(f"{n} {p}\n" for n, p in created.items())
        passwords_file.chmod(0o600)
    return created


def _digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def course_files(*, instructor: bool = False) -> dict[str, Path]:
    """The course pages (built notebooks) and pictures a hub user gets, by their path in the course folder."""
    from se4u.build import NOTEBOOKS_DIR

    files = {p.name: p for p in sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
             if p.name not in NOT_ON_HUB and (instructor or p.name not in INSTRUCTORS_ONLY)}
    for picture in sorted((NOTEBOOKS_DIR / "images").rglob("*")):
        if picture.is_file():
            files[picture.relative_to(NOTEBOOKS_DIR).as_posix()] = picture
    return files


def grading_files() -> dict[str, Path]:
    """An instructor's nbgrader course: its config and the self-assessment tests with their hidden keys."""
    files = {"nbgrader_config.py": REPO_DIR / "nbgrader_config.py"}
    for path in sorted((REPO_DIR / "source").rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            files[path.relative_to(REPO_DIR).as_posix()] = path
    return files


def _install_files(folder: Path, files: dict[str, Path], uid: int, gid: int) -> list[str]:
    """Copy ``files`` into ``folder`` (owned by uid:gid) unless the user edited their copy; the names written.

    A missing file is copied; a file the course has changed since the last install is replaced only
    if the user has not edited it (a manifest keeps the digests installed).
    """
    manifest_path = folder / MANIFEST
    try:
        installed = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(installed, dict):
            installed = {}
    except (OSError, ValueError):
        installed = {}
    written: list[str] = []
    for name, source in files.items():
        data = source.read_bytes()
        target = folder / name
        if target.exists():
            current = _digest(target.read_bytes())
            if current == _digest(data) or current != installed.get(name):
                continue  # up to date, or edited by the user: theirs to keep
        for parent in reversed([p for p in target.parents if p == folder or folder in p.parents]):
            if not parent.exists():
                parent.mkdir()
                os.chown(parent, uid, gid)
        tmp = target.with_name(f".{target.name}.se4u-tmp")
        tmp.write_bytes(data)
        os.chown(tmp, uid, gid)
        tmp.replace(target)
        installed[name] = _digest(data)
        written.append(name)
    if written or not manifest_path.exists():
        folder.mkdir(exist_ok=True)
        os.chown(folder, uid, gid)
        manifest_path.write_text(json.dumps(installed, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.chown(manifest_path, uid, gid)
    return written


def install_course(home: Path, uid: int, gid: int, *, instructor: bool = False) -> list[str]:
    """Put the course into ``home/se4u-course`` (and an instructor's nbgrader course into
    ``home/se4u-grading``), owned by the user; returns the paths written.

    Answers live in the user's response store, not in these files, so replacing a page loses nothing.
    """
    written = _install_files(Path(home) / COURSE_FOLDER, course_files(instructor=instructor), uid, gid)
    if instructor:
        written += [f"{GRADING_FOLDER}/{name}" for name in
                    _install_files(Path(home) / GRADING_FOLDER, grading_files(), uid, gid)]
    return written


def install_course_for(spawner: Any) -> None:
    """The hub's ``pre_spawn_hook``: the user's home gets the current course before their server starts."""
    entry = pwd.getpwnam(spawner.user.name)
    groups = {group.name for group in getattr(spawner.user, "groups", [])}
    install_course(Path(entry.pw_dir), entry.pw_uid, entry.pw_gid, instructor=INSTRUCTORS_GROUP in groups)


def unreachable_for_learners(path: Path) -> Path | None:
    """The first folder or file on the way to ``path`` (resolved) other users cannot pass, or None.

    Learners' servers run as the learners: the course's Python must be readable by them, which it
    is not when the venv's interpreter lives in a private home such as /root.
    """
    target = Path(path).resolve()
    for part in [*reversed(target.parents), target]:
        mode = part.stat().st_mode
        if not mode & 0o001:
            return part
    return None


class LocalHub:
    """One JupyterHub process (with its proxy and the course service) on loopback ports."""

    def __init__(self, state_dir: Path, *, learners: Sequence[str] = DEMO_LEARNERS,
                 instructors: Sequence[str] = DEMO_INSTRUCTORS, port: int | None = None,
                 service_db: str | None = None, admin_token: str | None = None,
                 create_accounts: bool = True, reset_passwords: bool = False, ip: str = "127.0.0.1",
                 users_file: Path | None = None) -> None:
        self.state = Path(state_dir).resolve()
        self.learners = list(learners)
        self.instructors = list(instructors)
        self.ip = ip
        self.users_file = Path(users_file).resolve() if users_file else None
        self.port = port or _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.service_url = f"{self.base}/services/se4u/"
        self.service_db = service_db or str(self.state / "service" / "course-service.sqlite")
        self.admin_token = admin_token
        self.create_accounts = create_accounts
        self.reset_passwords = reset_passwords
        self.passwords_file = self.state / PASSWORDS_FILE
        self.exchange = self.state / "exchange"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None
        self.new_passwords: dict[str, str] = {}
        self.warnings: list[str] = []

    # --- preparing ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Folders with the right modes, the nbgrader config for learners, the accounts."""
        blocked = unreachable_for_learners(Path(sys.executable))
        if blocked is not None:
            self.warnings.append(
                f"learners' servers cannot start: {sys.executable} is inside {blocked}, which only its "
                "owner may enter. Create the course's venv with a system Python "
                "(make PYTHON=/usr/bin/python3); the forum works meanwhile")
        self.state.mkdir(parents=True, exist_ok=True)
        self.state.chmod(0o711)  # learners' servers traverse it to reach exchange/ and etc-jupyter/
        blocked = unreachable_for_learners(self.state)
        if blocked is not None:
            raise HubError(f"the hub's state folder {self.state} is inside {blocked}, which learners' "
                           "servers cannot enter (they need its exchange/ and etc-jupyter/): "
                           "choose another --state")
        if not PROXY.exists():
            raise HubError(f"{PROXY} is missing: run `npm ci` in {REPO_DIR} (make test does it)")
        for private in ("hub", "service"):
            (self.state / private).mkdir(exist_ok=True)
            (self.state / private).chmod(0o700)
        self.exchange.mkdir(exist_ok=True)
        self.exchange.chmod(EXCHANGE_MODE)
        etc = self.state / "etc-jupyter"
        etc.mkdir(exist_ok=True)
        etc.chmod(0o755)
        (etc / "nbgrader_config.py").write_text(
            "c = get_config()  # noqa: F821\n"
            f"c.Exchange.root = {str(self.exchange)!r}\n"
            "c.CourseDirectory.course_id = 'se4u'\n"
            "# an instructor's formgrader and nbgrader commands work in their nbgrader course\n"
            "import os\n"
            f"_grading = os.path.expanduser('~/{GRADING_FOLDER}')\n"
            "if os.path.isfile(os.path.join(_grading, 'nbgrader_config.py')):\n"
            "    c.CourseDirectory.root = _grading\n"
            "    load_subconfig('nbgrader_config.py', path=_grading)  # noqa: F821 - traitlets provides it\n",
            encoding="utf-8")
        (etc / "jupyter_server_config.py").write_text(server_extension_config(), encoding="utf-8")
        for name in ("nbgrader_config.py", "jupyter_server_config.py"):
            (etc / name).chmod(0o644)
        if self.create_accounts:
            self.new_passwords = ensure_accounts(self.learners, self.instructors, self.passwords_file,
                                                 reset=self.reset_passwords)

    def environment(self) -> dict[str, str]:
        """What deploy/local/jupyterhub_config.py reads."""
        env = dict(os.environ)
        env.update({
            "SE4U_HUB_STATE": str(self.state),
            "SE4U_HUB_IP": self.ip,
            "SE4U_HUB_PORT": str(self.port),
            "SE4U_HUB_INTERNAL_PORT": str(_free_port()),
            "SE4U_PROXY_API_PORT": str(_free_port()),
            "SE4U_SERVICE_PORT": str(_free_port()),
            "SE4U_SERVICE_DB": self.service_db,
            "SE4U_HUB_LEARNERS": ",".join(self.learners),
            "SE4U_HUB_INSTRUCTORS": ",".join(self.instructors),
            "SE4U_PROXY": str(PROXY),
            "SE4U_PYTHON": sys.executable,
            "SE4U_HUB_USERS_FILE": str(self.users_file or ""),
        })
        if self.admin_token:
            env["SE4U_HUB_ADMIN_TOKEN"] = self.admin_token
        return env

    # --- running --------------------------------------------------------------------------------
    def command(self) -> list[str]:
        return [sys.executable, "-m", "jupyterhub", "-f", str(CONFIG_FILE)]

    def start(self, timeout: float = 90) -> None:
        """Start the hub and wait until the hub and the course service answer."""
        self.prepare()
        self._log = (self.state / "hub" / "jupyterhub.log").open("a", encoding="utf-8")
        self.process = subprocess.Popen(self.command(), cwd=self.state / "hub", env=self.environment(),
                                        stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HubError(f"JupyterHub exited; see {self.state / 'hub' / 'jupyterhub.log'}:\n"
                               + self.log_tail())
            if self._answers(f"{self.base}/hub/api/") and self._answers(f"{self.service_url}api/me", 403):
                return
            time.sleep(0.3)
        self.stop()
        raise HubError(f"JupyterHub did not start within {timeout:.0f} s:\n{self.log_tail()}")

    @staticmethod
    def _answers(url: str, status: int = 200) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 (loopback http)
                return response.status == status
        except urllib.error.HTTPError as exc:
            return exc.code == status
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 40) -> str:
        path = self.state / "hub" / "jupyterhub.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Call the hub's REST API (``/hub/api/<path>``) with the admin token (or ``token``)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base}/hub/api/{path}", data=data, method=method,  # noqa: S310
                                         headers={"Authorization": f"token {token or self.admin_token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback http)
            raw = response.read()
        return json.loads(raw) if raw else None

    def user_token(self, name: str, scopes: Sequence[str] = ("access:services!service=se4u",)) -> str:
        """A new API token for ``name`` (the user is created in the hub if needed)."""
        try:
            self.api("GET", f"users/{name}")
        except urllib.error.HTTPError:
            self.api("POST", f"users/{name}")
        answer = self.api("POST", f"users/{name}/tokens", {"scopes": list(scopes), "note": "se4u"})
        return str(answer["token"])

    def stop(self) -> None:
        """Stop the hub; it stops the proxy, the service and the learners' servers it started."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.process is not None:
            # anything left in the hub's session (the proxy, the service) goes too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
        if self._log is not None:
            self._log.close()
            self._log = None


def remove_accounts(names: Sequence[str]) -> None:
    """Delete test accounts and their homes (used by the tests' teardown)."""
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=30, check=False)
