"""``se4u hub`` (a local JupyterHub for a cohort) and ``se4u service`` (the course service alone)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def hub_state() -> Path:
    """Where the hub keeps its state: /srv/se4u/hub as root (learners' servers must pass through it to
    the exchange and their Jupyter config, which a folder in /root would forbid), else the user's data."""
    if os.geteuid() == 0:
        return Path("/srv/se4u/hub")
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "se4u" / "hub"


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cohort_learners(users_file: Path) -> tuple[list[str], bool]:
    """The learners enrolled by ``se4u cohort create`` (the hub users file), else the demo learners.

    Returns the names and whether they come from the file; an unreadable file raises ApplicationError.
    """
    from se4u.admin import read_users
    from se4u.service.hub import DEMO_LEARNERS

    roster = [entry["username"] for entry in read_users(users_file)["learners"]
              if isinstance(entry, dict) and isinstance(entry.get("username"), str)]
    return (roster, True) if roster else (list(DEMO_LEARNERS), False)


def run_hub(*, state: Path | None = None, port: int = 8000, ip: str = "127.0.0.1",
            service_db: str | None = None, users_file: Path | None = None,
            reset_passwords: bool = False) -> int:
    """Start the cohort hub, print how to sign in, and serve until Ctrl+C or SIGTERM."""
    from se4u.admin import USERS_FILE, course_folder
    from se4u.applications import ApplicationError
    from se4u.service.hub import HubError, LocalHub

    users_file = users_file or course_folder() / USERS_FILE
    try:
        learners, from_file = cohort_learners(users_file)
    except ApplicationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    hub = LocalHub(state or hub_state(), learners=learners, port=port, service_db=service_db, ip=ip,
                   reset_passwords=reset_passwords, users_file=users_file)
    try:
        hub.start()
    except (HubError, subprocess.CalledProcessError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        hub.stop()
        return 1
    print("SE4U cohort hub", flush=True)
    print(f"  sign in at:        {hub.base}/hub/login", flush=True)
    print(f"  course forum:      {hub.service_url}", flush=True)
    print(f"  state folder:      {hub.state} (hub log in hub/jupyterhub.log)", flush=True)
    names = ", ".join(learners)
    who = f"{len(learners)} learners from {users_file}" if from_file else f"demo learners {names}"
    print(f"  accounts:          {who}; instructors: {', '.join(hub.instructors)}", flush=True)
    if hub.new_passwords:
        print(f"  new accounts (passwords shown once; also kept in {hub.passwords_file}, mode 0600):",
              flush=True)
        for name, password in hub.new_passwords.items():
            print(f"    {name:<16} {password}", flush=True)
    elif hub.passwords_file.exists():
        print(f"  passwords:         in {hub.passwords_file}", flush=True)
    else:
        print("  passwords:         the accounts existed already; start with --reset-passwords for new ones",
              flush=True)
    print("  a learner lands on the course home; JupyterLab is at /user/<name>/lab", flush=True)
    for warning in hub.warnings:
        print(f"  warning: {warning}", flush=True)
    print("  stop with Ctrl+C", flush=True)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        while hub.process is not None and hub.process.poll() is None:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
    return 0


def _hub(args: argparse.Namespace) -> int:
    return run_hub(state=Path(args.state), port=args.port, ip=args.ip, service_db=args.service_db,
                   users_file=Path(args.users_file) if args.users_file else None,
                   reset_passwords=args.reset_passwords)


def _install_course(args: argparse.Namespace) -> int:
    from se4u.service.hub import COURSE_FOLDER, install_course

    home = Path(args.home or Path.home())
    written = install_course(home, os.getuid(), os.getgid(), instructor=args.instructor)
    print(f"{len(written)} file(s) written to {home / COURSE_FOLDER}")
    return 0


def _service(_args: argparse.Namespace) -> int:
    import asyncio

    from se4u.service.__main__ import serve

    asyncio.run(serve())
    return 0


def add_commands(commands: Any) -> None:
    """Register ``hub`` and ``service`` on the ``se4u`` command's subparsers."""
    hub = commands.add_parser("hub", help="run a local JupyterHub for a cohort (as root: creates the "
                                          "cohort's accounts, or demo learner1..3, and instructor1)")
    hub.add_argument("--state", default=str(hub_state()), help="the hub's state folder")
    hub.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: loopback only)")
    hub.add_argument("--port", type=int, default=8000)
    hub.add_argument("--service-db", default=None,
                     help="the course service's database: a file path or a SQLAlchemy URL "
                          "(default: <state>/service/course-service.sqlite)")
    hub.add_argument("--users-file", default=None,
                     help="the learners enrolled by `se4u cohort create` (default: hub_users.json of the "
                          "course folder); without it, demo accounts learner1..3")
    hub.add_argument("--reset-passwords", action="store_true",
                     help="give every cohort account a new password (printed once)")
    hub.set_defaults(run=_hub)
    install = commands.add_parser("install-course", help="put the course pages into your home's se4u-course "
                                                         "folder (a server's start hook on Kubernetes)")
    install.add_argument("--home", help="the home folder (default: yours)")
    install.add_argument("--instructor", action="store_true", help="include the instructor dashboard")
    install.set_defaults(run=_install_course)
    service = commands.add_parser("service", help="run the course service (JupyterHub starts it)")
    service.set_defaults(run=_service)
