"""Grading the self-assessment tests with nbgrader: marking, parallel autograde, feedback, export.

Three parts:

* **marking** (runs in the grading kernel, :mod:`se4u.marking`): the hidden test cells of
  ``source/`` call :func:`mark_choice`, :func:`mark_order` or :func:`mark_categories` with the key.
  Each reads the learner's ``answers.json``, prints one line (the result and the explanation) and
  returns the points earned, which nbgrader takes as partial credit.
* **instructor commands** (``se4u autograde``, ``se4u feedback``, ``se4u grades export``):
  :func:`autograde` grades every submission of an assignment in parallel worker processes. Each
  worker has a private copy of the course (gradebook included) and grades its share of the
  learners one after another in one Python process (nbgrader's own ``Autograde`` converter, a
  fresh kernel per submission). The parent merges each graded submission into the real gradebook
  under a lock (a thread lock plus an ``flock`` on ``gradebook.db.lock``), so gradebook writes are
  serialised and nothing is lost.
* **feedback without the key**: :class:`HideHiddenTests` is an nbconvert preprocessor, configured
  in ``nbgrader_config.py`` for ``GenerateFeedback``, that replaces hidden test code with a note.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # a grading worker: before nbconvert (below) imports jsonschema
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # see skip_unused_format_checkers

from traitlets import Bool

from se4u.assessment import ANSWERS_FILE, MAX_ESSAY_CHARS, AnswersFile, AnswersFileError

# The marking functions live in se4u.marking, which the grading kernel imports without nbgrader or
# nbconvert; gradebooks made before the move still name them here.
from se4u.marking import mark_categories, mark_choice, mark_order  # noqa: F401

# ==================================================================================================
# Feedback without the key
# ==================================================================================================
HIDDEN = re.compile(r"^[ \t]*###\s*BEGIN HIDDEN TESTS.*?###\s*END HIDDEN TESTS[ \t]*$",
                    re.DOTALL | re.MULTILINE)
HIDDEN_NOTE = "# (The marking code is hidden. Your result and the explanation are shown below.)"


def hide_hidden_tests(source: str) -> str:
    """The cell's source with every hidden test region replaced by a short note."""
    return HIDDEN.sub(HIDDEN_NOTE, source)


try:
    from nbconvert.preprocessors import Preprocessor as _Preprocessor
except ImportError:  # pragma: no cover - nbconvert comes with nbgrader
    _Preprocessor = object  # type: ignore[assignment,misc]


class HideHiddenTests(_Preprocessor):  # type: ignore[misc,valid-type]
    """nbconvert preprocessor for feedback: blanks hidden test code, keeps outputs (the results)."""

    enabled = Bool(True, help="On unless turned off in the configuration.").tag(config=True)

    def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
        """Replace hidden test regions in one cell."""
        if cell.get("cell_type") == "code" and "HIDDEN TESTS" in cell.get("source", ""):
            cell["source"] = hide_hidden_tests(cell["source"])
        return cell, resources


# ==================================================================================================
# The course folder and its gradebook
# ==================================================================================================
def course_root(value: str | None = None) -> Path:
    """The course folder: the one given, else the current folder if it has nbgrader_config.py, else
    the repository."""
    if value:
        return Path(value).resolve()
    here = Path.cwd()
    if (here / "nbgrader_config.py").exists():
        return here
    from se4u.config import REPO_DIR

    return REPO_DIR


def gradebook_url(course: Path) -> str:
    """The course's gradebook (nbgrader's default: gradebook.db in the course folder)."""
    return f"sqlite:///{course / 'gradebook.db'}"


def load_nbgrader_config(course: Path) -> Any:
    """The course's nbgrader_config.py as a traitlets Config, rooted at ``course``."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    if (course / "nbgrader_config.py").exists():
        config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    config.CourseDirectory.root = str(course)
    return config


@contextlib.contextmanager
def gradebook_lock(course: Path):
    """Exclusive access to the gradebook across processes (``gradebook.db.lock``)."""
    import fcntl

    with (course / "gradebook.db.lock").open("a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# ==================================================================================================
# Checking a submission before grading
# ==================================================================================================
@dataclass
class Result:
    """What happened to one learner's submission."""

    learner: str
    status: str  # graded, failed, skipped
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Precheck:
    """What a look at the submission found: a reason not to grade it, and notes for the summary."""

    fatal: str = ""
    notes: list[str] = field(default_factory=list)


def check_submission(folder: Path, notebooks: dict[str, dict[str, str]], essays: Iterable[str] = ("essay",)
                     ) -> Precheck:
    """Look at a submission folder; ``notebooks`` maps notebook name -> {cell id: checksum}."""
    import nbformat
    from nbgrader.utils import compute_checksum

    found = Precheck()
    for name, checksums in notebooks.items():
        path = folder / f"{name}.ipynb"
        if not path.exists():
            found.fatal = f"the notebook {name}.ipynb was deleted from the submission"
            return found
        try:
            raw = path.read_text(encoding="utf-8")
            nb = nbformat.reads(raw, as_version=4)
        except (UnicodeDecodeError, ValueError) as exc:
            reason = str(exc).splitlines()[0][:120]
            found.fatal = f"{name}.ipynb is not a valid notebook (invalid JSON: {reason})"
            return found
        except Exception as exc:
            found.fatal = f"{name}.ipynb cannot be read as a notebook ({type(exc).__name__})"
            return found
        present: dict[str, Any] = {}
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id:
                present[grade_id] = cell
        deleted = sorted(set(checksums) - set(present))
        edited = sorted(g for g, c in checksums.items()
                        if g in present and c and compute_checksum(present[g]) != c)
        if deleted:
            found.notes.append(f"cells deleted: {', '.join(deleted)} (scored 0)")
        if edited:
            found.notes.append(f"cells edited: {', '.join(edited)} (the original cells were graded)")
    answers = folder / ANSWERS_FILE
    if not answers.exists():
        found.notes.append(f"{ANSWERS_FILE} missing: every question scored 0")
        return found
    try:
        items = AnswersFile(answers).items()
    except AnswersFileError as exc:
        found.notes.append(f"{exc}: every question scored 0")
        return found
    for essay in essays:
        entry = items.get(essay)
        text = entry.get("state", {}).get("text") if isinstance(entry, dict) else None
        if isinstance(text, str):
            if len(text) > MAX_ESSAY_CHARS:
                found.notes.append(f"essay of {len(text):,} characters: only the first {MAX_ESSAY_CHARS:,} "
                                   "are shown for grading")
            if re.search(r"<\s*[a-zA-Z!/]", text):
                found.notes.append("essay contains HTML or script tags: shown as plain text")
    return found


# ==================================================================================================
# Parallel autograde
# ==================================================================================================
def _copy_db(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite file (the backup API, not a file copy of a live database)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    dst.close()
    src.close()


def _worker_course(course: Path, work: Path, assignment: str, learners: list[str]) -> None:
    """A private course for one worker: config, a gradebook copy, the source and its submissions."""
    work.mkdir(parents=True)
    if (course / "nbgrader_config.py").exists():
        shutil.copy2(course / "nbgrader_config.py", work / "nbgrader_config.py")
    _copy_db(course / "gradebook.db", work / "gradebook.db")
    shutil.copytree(course / "source" / assignment, work / "source" / assignment)
    for learner in learners:
        where = Path("submitted") / learner / assignment
        shutil.copytree(course / where, work / where)


class KernelPool:
    """Fresh kernels started one submission ahead, so a kernel boots while the previous one runs.

    Every submission still gets its own new kernel; it is only started earlier. ``remaining``
    says how many more kernels the worker will need, so none is started in vain.
    """

    def __init__(self, remaining: int = 0) -> None:
        self.remaining = remaining
        self._ready: list[Any] = []

    def _start(self, kernel_name: str, extra_arguments: list[str]) -> Any:
        from jupyter_core.utils import run_sync

        from se4u.kernels import ForkedKernelManager

        manager = ForkedKernelManager(kernel_name=kernel_name)
        run_sync(manager.start_kernel)(extra_arguments=list(extra_arguments))
        return manager

    def take(self, kernel_name: str, extra_arguments: list[str]) -> Any:
        """A started kernel for this submission; the next one is started at once."""
        manager = self._ready.pop() if self._ready else self._start(kernel_name, extra_arguments)
        self.remaining -= 1
        if self.remaining > 0:
            self._ready.append(self._start(kernel_name, extra_arguments))
        return manager

    def close(self) -> None:
        """Shut down kernels that were started but not used."""
        while self._ready:
            _shutdown(self._ready.pop())


POOL = KernelPool()


def _shutdown(manager: Any) -> None:
    from jupyter_core.utils import run_sync

    with contextlib.suppress(Exception):
        run_sync(manager.shutdown_kernel)(now=True)

try:
    from nbgrader.preprocessors import Execute as _Execute
except ImportError:  # pragma: no cover - nbgrader is a dependency
    _Execute = object  # type: ignore[assignment,misc]


class WarmExecute(_Execute):  # type: ignore[misc,valid-type]
    """nbgrader's Execute, on a kernel from :data:`POOL` (started while the last submission ran)."""

    def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> Any:
        """Run the notebook in a fresh pre-started kernel moved to the notebook's folder."""
        if km is not None or POOL.remaining <= 0:
            return super().preprocess(nb, resources, km)
        path = str((resources or {}).get("metadata", {}).get("path") or Path.cwd())
        name = nb.metadata.get("kernelspec", {}).get("name") or "python3"
        manager = POOL.take(name, self.extra_arguments or ["--HistoryManager.hist_file=:memory:"])
        try:
            from se4u.kernels import QuickBlockingClient

            client = QuickBlockingClient()
            client.load_connection_info(manager.get_connection_info())
            client.start_channels()
            try:
                client.wait_for_ready(timeout=self.startup_timeout)
                client.execute_interactive(f"import os as _os; _os.chdir({path!r}); del _os",
                                           silent=True, store_history=False, timeout=self.startup_timeout)
            finally:
                client.stop_channels()
            return super().preprocess(nb, resources, manager)
        finally:
            _shutdown(manager)


#: How often a submission is graded again after a kernel failure (not after a bad submission).
RETRIES = 1


def _retryable(result: dict[str, Any]) -> bool:
    """Whether a failure came from the kernel or the machine (worth one more try), not the notebook."""
    text = (result.get("error") or "") + (result.get("log") or "")
    return any(word in text for word in ("Kernel", "kernel", "ZMQ", "Address already in use", "TimeoutError"))


def skip_unused_format_checkers() -> None:
    """Spare a grading process 0.6 s of CPU: jsonschema (through nbformat) builds dozens of grammars at
    import for IRI format checks that notebook validation never uses, unless that package is absent."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


class _CheckedSchemas:
    """``jsonschema`` for nbgrader's metadata check, with one validator per schema instead of one per cell.

    nbgrader validates every cell's metadata with ``jsonschema.validate``, which checks the schema
    itself again each time: about 2.5 ms a cell, 0.15 s a submission. The result is the same (the
    schema is checked once, the best-matching error is raised).
    """

    def __init__(self) -> None:
        import jsonschema

        self._jsonschema = jsonschema
        self._validators: dict[int, Any] = {}

    def validate(self, instance: Any, schema: Any) -> None:
        validator = self._validators.get(id(schema))
        if validator is None or validator.schema is not schema:
            cls = self._jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[id(schema)] = cls(schema)
        error = self._jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jsonschema, name)


def check_each_schema_once() -> None:
    """Make nbgrader's cell metadata validation reuse one validator per schema."""
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CheckedSchemas):
        common.jsonschema = _CheckedSchemas()  # type: ignore[assignment]


def run_worker(course: Path, assignment: str, learners: list[str], timeout: int, warm: bool = True) -> int:
    """Grade ``learners`` one after another in this process; print one JSON line per learner."""
    import logging

    skip_unused_format_checkers()

    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log

    check_each_schema_once()
    config = load_nbgrader_config(course)
    config.Execute.timeout = timeout
    config.ExecutePreprocessor.timeout = timeout
    zygote = None
    if warm:
        from nbgrader.preprocessors import Execute

        from se4u.kernels import ForkProvisioner, Zygote

        default = Autograde().autograde_preprocessors
        config.Autograde.autograde_preprocessors = [WarmExecute if p is Execute else p for p in default]
        POOL.remaining = len(learners)
        try:
            zygote = ForkProvisioner.zygote = Zygote()
        except OSError as exc:  # kernels are then launched the ordinary way
            print(f"kernel zygote unavailable: {exc}", file=sys.stderr)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    for learner in learners:
        started = time.monotonic()
        coursedir = CourseDirectory(config=config)
        coursedir.assignment_id = assignment
        coursedir.student_id = learner
        for attempt in range(RETRIES + 1):
            app = Autograde(coursedir=coursedir, config=config)
            app.force = True
            app.create_student = False
            app.log.setLevel(logging.INFO)
            result = capture_log(app)
            if result.get("success") or not _retryable(result):
                break
            print(f"retrying {learner} (attempt {attempt + 2}): {_error_line(result)}", file=sys.stderr)
            POOL.remaining += 1
        print(json.dumps({"learner": learner, "success": bool(result.get("success")),
                          "log": result.get("log", "")[-4000:], "error": result.get("error", "")[-2000:],
                          "seconds": round(time.monotonic() - started, 3)}), flush=True)
    POOL.close()
    if zygote is not None:
        zygote.close()
    return 0


GENERIC = ("Please see the", "There was an error processing")


def _error_line(result: dict[str, Any]) -> str:
    """One line saying why nbgrader could not grade a submission (no traceback)."""
    for line in reversed((result.get("log") or "").splitlines()):
        text = line.removeprefix("[ERROR]").strip()
        if line.startswith("[ERROR]") and text and not text.startswith(GENERIC) and "Traceback" not in text:
            return text[:200]
    error = [line for line in (result.get("error") or "").strip().splitlines() if line.strip()]
    for line in reversed(error):
        if not line.startswith((" ", "Traceback", "The above exception", "During handling")):
            return line.strip()[:200]
    return "nbgrader could not grade it"


def _merge(course: Path, work: Path, assignment: str, learner: str,
           lock: threading.Lock) -> tuple[float, float]:
    """Move one graded submission from a worker's course into the real course and gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    src_dir = work / "autograded" / learner / assignment
    dst_dir = course / "autograded" / learner / assignment
    with lock, gradebook_lock(course):
        if dst_dir.exists():
            shutil.rmtree(dst_dir)
        dst_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src_dir, dst_dir)
        with (warnings.catch_warnings(), Gradebook(gradebook_url(work)) as src,
              Gradebook(gradebook_url(course)) as dst):
            warnings.simplefilter("ignore")  # nbgrader's add_submission warns about its own autoflush
            done = src.find_submission(assignment, learner)
            try:
                dst.find_submission(assignment, learner)
            except MissingEntry:
                dst.add_submission(assignment, learner, timestamp=done.timestamp)
            target = dst.find_submission(assignment, learner)
            target.timestamp = done.timestamp
            for notebook in done.notebooks:
                into = dst.find_submission_notebook(notebook.name, assignment, learner)
                into.flagged = notebook.flagged
                if notebook.late_submission_penalty is not None:
                    into.late_submission_penalty = notebook.late_submission_penalty
                grades = {g.name: g for g in into.grades}
                for grade in notebook.grades:
                    mine = grades[grade.name]
                    mine.auto_score = grade.auto_score
                    mine.needs_manual_grade = grade.needs_manual_grade and mine.manual_score is None
                comments = {c.name: c for c in into.comments}
                for comment in notebook.comments:
                    comments[comment.name].auto_comment = comment.auto_comment
            dst.db.commit()
            merged = dst.find_submission(assignment, learner)
            return float(merged.score), float(merged.max_score)


def _expected_cells(course: Path, assignment: str) -> dict[str, dict[str, str]]:
    """notebook -> {grade id: checksum} of the cells a submission must keep, from the release."""
    import nbformat
    from nbgrader.api import Gradebook
    from nbgrader.utils import compute_checksum

    cells: dict[str, dict[str, str]] = {}
    with Gradebook(gradebook_url(course)) as gb:
        names = [n.name for n in gb.find_assignment(assignment).notebooks]
    for name in names:
        wanted: dict[str, str] = {}
        release = course / "release" / assignment / f"{name}.ipynb"
        if release.exists():
            for cell in nbformat.read(release, as_version=4).cells:
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if meta.get("grade_id") and (meta.get("locked") or meta.get("grade") or meta.get("task")):
                    wanted[meta["grade_id"]] = compute_checksum(cell)
        cells[name] = wanted
    return cells


def _timed_out(folder: Path) -> bool:
    for path in folder.glob("*.ipynb"):
        with contextlib.suppress(OSError, ValueError):
            data = json.loads(path.read_text(encoding="utf-8"))
            for cell in data.get("cells", []):
                for output in cell.get("outputs", []):
                    if output.get("ename") in {"CellTimeoutError", "KeyboardInterrupt", "DeadKernelError"}:
                        return True
    return False


def autograde(course: Path, assignment: str, *, workers: int | None = None, force: bool = False,
              timeout: int = 30, learners: list[str] | None = None,
              out: Callable[[str], None] = print) -> list[Result]:
    """Autograde every submission of ``assignment`` in parallel; return one Result per learner."""
    from nbgrader.api import Gradebook, MissingEntry

    course = course.resolve()
    if not (course / "gradebook.db").exists():
        raise GradingError(f"there is no gradebook in {course}: run `nbgrader generate_assignment "
                           f"{assignment}` there first")
    with Gradebook(gradebook_url(course)) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise GradingError(f"the assignment {assignment!r} is not in the gradebook: run "
                               f"`nbgrader generate_assignment {assignment}` first") from None
        roster = {s.id for s in gb.students}
        graded = set()
        for submission in gb.assignment_submissions(assignment):
            graded.add(submission.student.id)
    submitted = course / "submitted"
    found = sorted(p.parent.name for p in submitted.glob(f"*/{assignment}") if p.is_dir())
    if learners:
        found = [name for name in found if name in set(learners)]
    expected = _expected_cells(course, assignment)
    results: dict[str, Result] = {}
    todo: list[str] = []
    prechecks: dict[str, Precheck] = {}
    for learner in found:
        if learner not in roster:
            results[learner] = Result(learner, "failed", "unknown learner: not in the gradebook's roster "
                                      f"(add them with `nbgrader db student add {learner}`)")
            continue
        already = (course / "autograded" / learner / assignment).is_dir() and learner in graded
        if already and not force:
            results[learner] = Result(learner, "skipped", "already graded (use --force to grade again)")
            continue
        check = check_submission(submitted / learner / assignment, expected)
        if check.fatal:
            results[learner] = Result(learner, "failed", check.fatal)
            continue
        prechecks[learner] = check
        todo.append(learner)
    count = max(1, min(workers or default_workers(), len(todo) or 1))
    batches = [todo[i::count] for i in range(count)]
    batches = [b for b in batches if b]
    progress = Progress(len(todo), out)
    lock = threading.Lock()
    with tempfile.TemporaryDirectory(prefix="se4u-autograde-") as tmp:
        threads = []
        for number, batch in enumerate(batches):
            work = Path(tmp) / f"worker-{number}"
            _worker_course(course, work, assignment, batch)
            thread = threading.Thread(target=_run_batch, args=(course, work, assignment, batch, timeout,
                                                                prechecks, results, lock, progress))
            thread.start()
            threads.append(thread)
        for thread in threads:
            thread.join()
    progress.finish()
    return [results[name] for name in found if name in results]


def _run_batch(course: Path, work: Path, assignment: str, batch: list[str], timeout: int,
               prechecks: dict[str, Precheck], results: dict[str, Result], lock: threading.Lock,
               progress: Progress) -> None:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [sys.executable, "-m", "se4u.grading", "worker", str(work), assignment, str(timeout), *batch]
    with (work / "worker.log").open("w") as log:
        process = subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=log, text=True)
        assert process.stdout is not None
        seen = set()
        for line in process.stdout:
            try:
                result = json.loads(line)
            except ValueError:
                continue
            learner = result.get("learner")
            if learner not in batch:
                continue
            seen.add(learner)
            notes = list(prechecks[learner].notes)
            folder = work / "autograded" / learner / assignment
            if result.get("success") and folder.is_dir():
                try:
                    score, max_score = _merge(course, work, assignment, learner, lock)
                except Exception as exc:  # a broken merge fails this learner, not the run
                    outcome = Result(learner, "failed", f"could not record the grades: {exc}"[:200])
                else:
                    if _timed_out(folder):
                        notes.append(f"a cell ran longer than {timeout} s and was stopped")
                    outcome = Result(learner, "graded", score=score, max_score=max_score, notes=notes)
            else:
                outcome = Result(learner, "failed", _error_line(result), notes=notes)
            outcome.seconds = float(result.get("seconds") or 0.0)
            with lock:
                results[learner] = outcome
            progress.step(learner)
        process.wait()
    for learner in batch:
        if learner not in seen:
            with lock:
                results[learner] = Result(learner, "failed", "the grading worker stopped unexpectedly "
                                          f"(exit code {process.returncode})")
            progress.step(learner)


def default_workers() -> int:
    """Two workers per core: while one kernel starts, another runs."""
    return max(2, 2 * (os.cpu_count() or 1))


class GradingError(Exception):
    """A problem that stops a grading command; the message says what to do."""


class Progress:
    """A plain-text progress bar that is safe to update from several threads."""

    def __init__(self, total: int, out: Callable[[str], None], width: int = 30) -> None:
        self.total, self.out, self.width = total, out, width
        self.done = 0
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def step(self, learner: str) -> None:
        """One more submission done."""
        with self._lock:
            self.done += 1
            filled = round(self.width * self.done / self.total) if self.total else self.width
            elapsed = time.monotonic() - self.started
            self.out(f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                     f"{elapsed:5.1f}s  {learner}")

    def finish(self) -> None:
        """Say how long it took."""
        self.out(f"graded {self.done} submission(s) in {time.monotonic() - self.started:.1f}s")


def summary_table(results: list[Result]) -> str:
    """A plain-text table: one line per learner with the status, score and reason."""
    rows = [("learner", "status", "score", "details")]
    for r in results:
        score = f"{r.score:g}/{r.max_score:g}" if r.score is not None and r.max_score is not None else ""
        details = "; ".join([r.reason, *r.notes] if r.reason else r.notes)
        rows.append((r.learner, r.status, score, details))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip() for a, b, c, d in rows]
    counts = {s: sum(1 for r in results if r.status == s) for s in ("graded", "failed", "skipped")}
    lines.append(f"{counts['graded']} graded, {counts['failed']} failed, {counts['skipped']} skipped")
    return "\n".join(lines)


def write_summary(results: list[Result], path: Path) -> None:
    """The summary as CSV: learner, status, score, max_score, details, seconds."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["learner", "status", "score", "max_score", "details", "seconds"])
        for r in results:
            details = "; ".join([r.reason, *r.notes] if r.reason else r.notes)
            writer.writerow([r.learner, r.status, "" if r.score is None else f"{r.score:g}",
                             "" if r.max_score is None else f"{r.max_score:g}", details, f"{r.seconds:.2f}"])


# ==================================================================================================
# Feedback and export
# ==================================================================================================
def feedback(course: Path, assignment: str, *, force: bool = True, out: Callable[[str], None] = print) -> int:
    """Run ``nbgrader generate_feedback`` (hidden tests blanked by the configured preprocessor)."""
    cmd = [sys.executable, "-m", "nbgrader", "generate_feedback", assignment,
           f"--CourseDirectory.root={course}"]
    if force:
        cmd.append("--force")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    done = subprocess.run(cmd, cwd=course, capture_output=True, text=True, check=False, env=env)
    pages = sorted((course / "feedback").glob(f"*/{assignment}/*.html"))
    leaks = [p for p in pages if "BEGIN HIDDEN TESTS" in p.read_text(encoding="utf-8")]
    for page in pages:
        out(f"feedback: {page.relative_to(course)}")
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "ERROR" in line]
        out(f"nbgrader generate_feedback reported a problem: {(errors or ['see its log'])[-1][:200]}")
    if leaks:
        out(f"warning: hidden tests visible in {len(leaks)} feedback page(s); check nbgrader_config.py")
        return 1
    out(f"{len(pages)} feedback page(s) for {assignment}")
    return 0 if done.returncode == 0 else 1


ASSIGNMENTS = tuple(f"module{n}" for n in range(1, 7))


def grades_table(course: Path) -> Any:
    """One row per learner: total and item scores per assignment, and the completion count."""
    import pandas as pd
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(gradebook_url(course)) as gb:
        assignments = sorted(a.name for a in gb.assignments)
        for student in sorted(gb.students, key=lambda s: s.id):
            row: dict[str, Any] = {"learner": student.id, "first_name": student.first_name or "",
                                   "last_name": student.last_name or "", "email": student.email or ""}
            for name in assignments:
                try:
                    submission = gb.find_submission(name, student.id)
                except MissingEntry:
                    row[f"{name} total"] = None
                    row[f"{name} status"] = "not submitted"
                    continue
                row[f"{name} total"] = submission.score
                row[f"{name} max"] = submission.max_score
                row[f"{name} status"] = ("awaiting manual grading" if submission.needs_manual_grade
                                         else "graded")
                for notebook in submission.notebooks:
                    for grade in sorted(notebook.grades, key=lambda g: g.name):
                        row[f"{name} {grade.name}"] = grade.score
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.set_index("learner")


def completion_table(course: Path) -> Any:
    """One row per learner and a column per module test: graded / awaiting / not submitted."""
    import pandas as pd

    table = grades_table(course)
    data = {}
    for name in ASSIGNMENTS:
        column = f"{name} status"
        data[name] = table[column] if column in table else pd.Series("not submitted", index=table.index)
    view = pd.DataFrame(data, index=table.index).fillna("not submitted")
    view["tests completed"] = (view == "graded").sum(axis=1).astype(str) + f" of {len(ASSIGNMENTS)}"
    return view


# ==================================================================================================
# The command line
# ==================================================================================================
def _cmd_autograde(args: argparse.Namespace) -> int:
    skip_unused_format_checkers()
    course = course_root(args.course)
    try:
        results = autograde(course, args.assignment, workers=args.workers, force=args.force,
                            timeout=args.timeout, learners=args.student or None)
    except GradingError as exc:
        print(f"error: {exc}")
        return 2
    print(summary_table(results))
    if args.summary:
        write_summary(results, Path(args.summary))
    return 1 if any(r.status == "failed" for r in results) else 0


def _cmd_feedback(args: argparse.Namespace) -> int:
    return feedback(course_root(args.course), args.assignment)


def _cmd_export(args: argparse.Namespace) -> int:
    course = course_root(args.course)
    if not (course / "gradebook.db").exists():
        print(f"error: there is no gradebook in {course}")
        return 2
    table = grades_table(course)
    out = Path(args.out)
    table.to_csv(out)
    view = completion_table(course)
    view.to_csv(out.with_name(out.stem + "-completion.csv"))
    print(f"wrote {out} ({len(table)} learners) and {out.with_name(out.stem + '-completion.csv')}")
    if not view.empty:
        print(view.to_string())
    return 0


def add_commands(commands: Any) -> None:
    """Register ``autograde``, ``feedback`` and ``grades export`` on the se4u command's subparsers."""
    grade = commands.add_parser("autograde", help="autograde a module test for every learner, in parallel")
    grade.add_argument("assignment", help="e.g. module3")
    grade.add_argument("--course", help="the course folder (default: here, or the repository)")
    grade.add_argument("--workers", type=int, default=None,
                       help=f"parallel workers (default: two per core, here {default_workers()})")
    grade.add_argument("--force", action="store_true", help="grade again what is already graded")
    grade.add_argument("--timeout", type=int, default=30, help="seconds a cell may run (default 30)")
    grade.add_argument("--student", action="append", help="only this learner (repeatable)")
    grade.add_argument("--summary", help="also write the summary table to this CSV file")
    grade.set_defaults(run=_cmd_autograde)
    back = commands.add_parser("feedback", help="generate feedback pages (results and explanations)")
    back.add_argument("assignment")
    back.add_argument("--course")
    back.set_defaults(run=_cmd_feedback)
    grades = commands.add_parser("grades", help="the gradebook as tables")
    sub = grades.add_subparsers(dest="grades_command", required=True)
    export = sub.add_parser("export", help="write grades.csv (a row per learner) and a completion view")
    export.add_argument("--course")
    export.add_argument("--out", default="grades.csv")
    export.set_defaults(run=_cmd_export)


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "worker":
        try:
            sys.exit(run_worker(Path(sys.argv[2]), sys.argv[3], sys.argv[5:], int(sys.argv[4]),
                                warm=os.environ.get("SE4U_WARM_KERNELS", "1") != "0"))
        finally:
            POOL.close()
    sys.exit("usage: python -m se4u.grading worker COURSE ASSIGNMENT TIMEOUT LEARNER...")
