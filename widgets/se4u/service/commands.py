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


def _default_state() -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "se4u" / "hub"


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _hub(args: argparse.Namespace) -> int:
    from se4u.service.hub import HubError, LocalHub

    hub = LocalHub(Path(args.state), port=args.port, service_db=args.service_db, ip=args.ip)
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
    if hub.new_passwords:
        print("  new demo accounts (shown once; also kept in "
              f"{hub.passwords_file}, mode 0600):", flush=True)
        for name, password in hub.new_passwords.items():
            print(f"    {name:<12} {password}", flush=True)
    else:
        print(f"  demo accounts: learner1..3, instructor1; passwords in {hub.passwords_file}", flush=True)
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


def _service(_args: argparse.Namespace) -> int:
    import asyncio

    from se4u.service.__main__ import serve

    asyncio.run(serve())
    return 0


def add_commands(commands: Any) -> None:
    """Register ``hub`` and ``service`` on the ``se4u`` command's subparsers."""
    hub = commands.add_parser("hub", help="run a local JupyterHub for a cohort (as root: creates demo "
                                          "accounts learner1..3 and instructor1)")
    hub.add_argument("--state", default=str(_default_state()), help="the hub's state folder")
    hub.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: loopback only)")
    hub.add_argument("--port", type=int, default=8000)
    hub.add_argument("--service-db", default=None,
                     help="the course service's database: a file path or a SQLAlchemy URL "
                          "(default: <state>/service/course-service.sqlite)")
    hub.set_defaults(run=_hub)
    service = commands.add_parser("service", help="run the course service (JupyterHub starts it)")
    service.set_defaults(run=_service)
