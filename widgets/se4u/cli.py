"""The ``se4u`` command: start the course, build the notebooks, check the activity banks."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from se4u.config import REPO_DIR, load_settings


def start_mode(args: argparse.Namespace, euid: int) -> str:
    """``hub`` for a cohort (needs root to create the accounts), else ``single`` (one learner or author)."""
    if args.lab or args.single:
        return "single"
    return "hub" if euid == 0 else "single"


def _start(args: argparse.Namespace) -> int:
    import os

    from se4u.apps import voila_command, voila_env
    from se4u.build import NOTEBOOKS_DIR, build

    build()
    if start_mode(args, os.geteuid()) == "hub":
        from se4u.service.commands import run_hub

        return run_hub(port=args.hub_port, ip=args.host)
    settings = load_settings()
    env = voila_env()
    env.setdefault("SE4U_STORE", settings.store_url)
    url = f"http://{args.host}:{args.port}/voila/render/home.ipynb"
    if args.lab:
        url = f"http://{args.host}:{args.port}/lab/tree/intro.ipynb"
        cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.ip={args.host}",
               f"--ServerApp.port={args.port}", "--ServerApp.port_retries=0",
               f"--ServerApp.root_dir={NOTEBOOKS_DIR}", "--no-browser"]
    else:
        cmd = voila_command(NOTEBOOKS_DIR, port=args.port, host=args.host, preheat=not args.no_preheat)
    print("SE4U course (one learner)", flush=True)
    if not (args.lab or args.single):
        print("  the cohort hub needs root to create its accounts: run `sudo make start` for it", flush=True)
    print(f"  answers are saved in: {settings.store_url}", flush=True)
    print(f"  open this address in your browser: {url}", flush=True)
    print(f"  the introduction: http://{args.host}:{args.port}/voila/render/intro.ipynb", flush=True)
    print("  stop with Ctrl+C", flush=True)
    try:
        return subprocess.call(cmd, env=env, cwd=NOTEBOOKS_DIR)
    except KeyboardInterrupt:
        return 0


def _build(args: argparse.Namespace) -> int:
    from se4u.build import build

    stale = build(check=args.check)
    for path in stale:
        print(f"{'stale' if args.check else 'built'}: {path.relative_to(REPO_DIR)}")
    return 1 if (args.check and stale) else 0


def _check_banks(args: argparse.Namespace) -> int:
    from se4u.banks import BankError, read_bank

    folder = Path(args.folder) if args.folder else REPO_DIR / "notebooks" / "banks"
    failed = 0
    for path in sorted(folder.glob("*.yaml")):
        try:
            bank = read_bank(path)
        except BankError as exc:
            failed += 1
            print(f"error: {exc}")
        else:
            print(f"ok: {path.name} ({len(bank.activities)} activities)")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    """The ``se4u`` command line with every subcommand."""
    parser = argparse.ArgumentParser(prog="se4u", description="Run and author the SE4U course.")
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="start the course: the cohort hub as root, else one "
                                              "learner's Voilà")
    start.add_argument("--host", default="127.0.0.1")
    start.add_argument("--port", type=int, default=8866, help="the one-learner Voilà server's port")
    start.add_argument("--hub-port", type=int, default=8000, help="the cohort hub's port")
    start.add_argument("--single", action="store_true",
                       help="one learner's Voilà server, even as root (authors)")
    start.add_argument("--lab", action="store_true", help="one author's JupyterLab instead of Voilà")
    start.add_argument("--no-preheat", action="store_true", help="start a kernel per page on demand")
    start.set_defaults(run=_start)
    build = commands.add_parser("build", help="build notebooks/*.ipynb from notebooks/*.md")
    build.add_argument("--check", action="store_true", help="only report stale notebooks")
    build.set_defaults(run=_build)
    check = commands.add_parser("check-banks", help="validate every activity bank")
    check.add_argument("folder", nargs="?")
    check.set_defaults(run=_check_banks)
    from se4u import grading

    grading.add_commands(commands)
    from se4u import certification

    certification.add_commands(commands)
    from se4u.service import commands as service_commands

    service_commands.add_commands(commands)
    from se4u import admin

    admin.add_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``se4u`` command."""
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
