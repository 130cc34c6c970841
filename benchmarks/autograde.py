"""Benchmark: stock serial ``nbgrader autograde`` against the parallel ``se4u autograde``.

Generates N submissions of one module test (default 60) in a temporary course, grades the same
submissions twice (a fresh copy for each) and prints both wall times, the speed-up, the time per
submission and whether every item's score is identical.

    .venv/bin/python benchmarks/autograde.py --n 60 [--assignment module3] [--workers 4]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.test_grading_pipeline import answers_doc, submit  # noqa: E402 - after the path tweak


def run(cmd: list[str], cwd: Path) -> float:
    """Run a command, fail loudly if it fails, and return its wall time."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd[:5])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    return elapsed


def scores(course: Path, assignment: str) -> dict[tuple[str, str], float | None]:
    from nbgrader.api import Gradebook

    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    found[(submission.student.id, grade.name)] = grade.score
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="how many submissions (default 60)")
    parser.add_argument("--assignment", default="module3")
    parser.add_argument("--workers", type=int, default=None, help="se4u workers (default: 2 per core)")
    args = parser.parse_args()
    from nbgrader.api import Gradebook

    with tempfile.TemporaryDirectory(prefix="se4u-bench-") as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        shutil.copy(REPO / "nbgrader_config.py", base)
        shutil.copytree(REPO / "source" / args.assignment, base / "source" / args.assignment)
        run([sys.executable, "-m", "nbgrader", "generate_assignment", args.assignment, "--force",
             f"--CourseDirectory.root={base}"], base)
        rng = random.Random(2026)  # noqa: S311 - synthetic answers, not a secret
        learners = [f"learner{n:03d}" for n in range(args.n)]
        with Gradebook(f"sqlite:///{base / 'gradebook.db'}") as gb:
            for learner in learners:
                gb.update_or_create_student(learner)
        for learner in learners:
            pattern = "".join(rng.choice("rrw-") for _ in range(8))
            submit(base, learner, answers=answers_doc(pattern, assignment=args.assignment),
                   assignment=args.assignment)
        stock, mine = Path(tmp) / "stock", Path(tmp) / "se4u"
        shutil.copytree(base, stock)
        shutil.copytree(base, mine)
        print(f"{args.n} submissions of {args.assignment}, {os.cpu_count()} core(s)", flush=True)
        stock_time = run([sys.executable, "-m", "nbgrader", "autograde", args.assignment,
                          f"--CourseDirectory.root={stock}"], stock)
        print(f"stock nbgrader autograde (serial): {stock_time:7.1f} s  "
              f"({stock_time / args.n:.2f} s per submission)", flush=True)
        cmd = [sys.executable, "-m", "se4u.cli", "autograde", args.assignment, "--course", str(mine)]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        mine_time = run(cmd, mine)
        print(f"se4u autograde (parallel):         {mine_time:7.1f} s  "
              f"({mine_time / args.n:.2f} s per submission)")
        print(f"speed-up: {stock_time / mine_time:.2f}x")
        a, b = scores(stock, args.assignment), scores(mine, args.assignment)
        same = a == b and len(a) == args.n * 9
        print(f"identical scores: {'yes' if same else 'NO'} ({len(a)} and {len(b)} item grades compared)")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
