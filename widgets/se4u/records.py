"""Progress records for the course service, safe offline: an outbox that sends when it can.

Every saved answer becomes an xAPI-style statement (a UUID, actor, verb, object, result,
timestamp). It is first written to a small SQLite outbox beside the learner's answer store, then
sent to the course service (``$SE4U_SERVICE_URL`` or ``$JUPYTERHUB_SERVICE_URL``, with the hub token
``$JUPYTERHUB_API_TOKEN``). When the service is unreachable the statements wait and go with the next
save; the service ignores a statement id it already has, so a resend never counts twice.
Nothing here raises into a widget: a problem is logged and the answer itself is already saved.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from se4u.store import open_engine

log = logging.getLogger(__name__)
#: Statements sent in one request.
BATCH = 200
#: The outbox keeps at most this many statements (the oldest go first); answers stay in the store.
MAX_QUEUED = 20_000
#: After a failed send, wait this long before trying again (saves stay instant meanwhile).
RETRY_AFTER = 30.0
TIMEOUT = 3.0

metadata = MetaData()
outbox = Table(
    "record_outbox", metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("statement", Text, nullable=False),
)


class Outbox:
    """Statements waiting for the course service, in one SQLite file (safe for concurrent kernels)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.engine = open_engine(f"sqlite:///{self.path}", metadata)

    def add(self, statement: dict[str, Any]) -> bool:
        """Queue a statement; False if one with its id is queued already."""
        try:
            with self.engine.begin() as conn:
                conn.execute(outbox.insert().values(id=statement["id"], statement=json.dumps(statement)))
                count = conn.execute(select(func.count()).select_from(outbox)).scalar() or 0
                if count > MAX_QUEUED:
                    oldest = select(outbox.c.seq).order_by(outbox.c.seq).limit(count - MAX_QUEUED)
                    conn.execute(delete(outbox).where(outbox.c.seq.in_(oldest)))
        except IntegrityError:
            return False
        return True

    def pending(self, limit: int = BATCH) -> list[dict[str, Any]]:
        """The oldest queued statements."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.statement).order_by(outbox.c.seq).limit(limit)).all()
        return [json.loads(r.statement) for r in rows]

    def remove(self, ids: list[str]) -> None:
        """Forget statements the service has (stored now or before)."""
        if ids:
            with self.engine.begin() as conn:
                conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(outbox)).scalar() or 0)

    def flush(self, send: Callable[[list[dict[str, Any]]], None]) -> int:
        """Send everything queued, oldest first, batch by batch; how many went. ``send`` raises on failure."""
        sent = 0
        while batch := self.pending():
            send(batch)
            self.remove([s["id"] for s in batch])
            sent += len(batch)
        return sent

    def close(self) -> None:
        self.engine.dispose()


class ServiceUnavailableError(Exception):
    """The course service could not take the statements now; they stay queued."""


def service_target() -> tuple[str, str] | None:
    """The course service's base URL and the token to use, or None when no service is configured."""
    url = os.environ.get("SE4U_SERVICE_URL") or os.environ.get("JUPYTERHUB_SERVICE_URL")
    token = os.environ.get("SE4U_SERVICE_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN")
    if not url or not token:
        return None
    return (url if url.endswith("/") else url + "/"), token


def service_request(method: str, path: str, body: Any = None, *, timeout: float = TIMEOUT,
                    target: tuple[str, str] | None = None) -> tuple[int, Any]:
    """Call the course service's JSON API as the caller (their hub token): the status and the answer.

    Raises :class:`ServiceUnavailableError` when no service is configured or it cannot be reached.
    """
    target = target or service_target()
    if target is None:
        raise ServiceUnavailableError("no course service is configured ($SE4U_SERVICE_URL and a hub token)")
    url, token = target
    if not url.startswith(("http://", "https://")):
        raise ServiceUnavailableError(f"the course service URL must be http(s): {url!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url + path, data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status, raw = int(answer.status), answer.read()
    except urllib.error.HTTPError as exc:
        status, raw = int(exc.code), exc.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ServiceUnavailableError(f"the course service cannot be reached: {exc}") from None
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        raise ServiceUnavailableError(f"the course service answered {status} without JSON") from None


def http_sender(url: str, token: str, timeout: float = TIMEOUT) -> Callable[[list[dict[str, Any]]], None]:
    """A sender POSTing batches to ``<url>api/records``; statements the service rejects as malformed
    are dropped (logged), anything else that fails raises :class:`ServiceUnavailableError`."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"the course service URL must be http(s): {url!r}")

    def post(batch: list[dict[str, Any]]) -> int:
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            url + "api/records", data=json.dumps(batch).encode(), method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ServiceUnavailableError(str(exc)) from None

    def send(batch: list[dict[str, Any]]) -> None:
        status = post(batch)
        if status == 400 and len(batch) > 1:
            for one in batch:  # find the malformed one; the good ones still go
                send([one])
            return
        if status == 400:
            log.warning("the course service refused statement %s as malformed; dropped", batch[0].get("id"))
            return
        if status != 200:
            raise ServiceUnavailableError(f"the course service answered {status}")

    return send


def statement(learner: str, activity: str, verb: str, *, kind: str = "", score: float | None = None,
              max_score: float | None = None, attempts: int | None = None) -> dict[str, Any]:
    """A new statement about one save (never the answer itself: that stays in the learner's store)."""
    result: dict[str, Any] = {"kind": kind}
    if score is not None:
        result["score"] = score
    if max_score is not None:
        result["max_score"] = max_score
    if attempts is not None:
        result["attempts"] = attempts
    return {"id": str(uuid.uuid4()), "actor": learner, "verb": verb, "object": activity, "result": result,
            "timestamp": datetime.now(UTC).isoformat()}


def outbox_path() -> Path:
    """``$SE4U_OUTBOX``, else beside the SQLite answer store, else in the course's data folder."""
    if os.environ.get("SE4U_OUTBOX"):
        return Path(os.environ["SE4U_OUTBOX"])
    from se4u.config import load_settings

    url = load_settings().store_url
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).parent / "record-outbox.sqlite"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "se4u" / "record-outbox.sqlite"


_lock = threading.Lock()
_send_lock = threading.Lock()
_outboxes: dict[Path, Outbox] = {}
_last_failure = 0.0


def _outbox() -> Outbox:
    path = outbox_path()
    with _lock:
        if path not in _outboxes:
            _outboxes[path] = Outbox(path)
        return _outboxes[path]


def flush_now(*, force: bool = False) -> int:
    """Send what is queued if a service is configured (and not failing recently); how many went."""
    global _last_failure
    target = service_target()
    if target is None or (not force and time.monotonic() - _last_failure < RETRY_AFTER):
        return 0
    try:
        return _outbox().flush(http_sender(*target))
    except (ServiceUnavailableError, ValueError) as exc:
        _last_failure = time.monotonic()
        log.info("progress records wait in the outbox: %s", exc)
        return 0


def record(learner: str, activity: str, verb: str, *, kind: str = "", score: float | None = None,
           max_score: float | None = None, attempts: int | None = None, background: bool = True) -> None:
    """Queue a statement about a save and send the queue (in a background thread by default).

    Never raises: the learner's answer is already saved; a record that cannot be queued is logged.
    """
    try:
        _outbox().add(statement(learner, activity, verb, kind=kind, score=score, max_score=max_score,
                                attempts=attempts))
    except (SQLAlchemyError, OSError, ValueError, RuntimeError) as exc:
        log.warning("a progress record could not be queued: %s", exc)
        return
    if service_target() is None:
        return
    if background:
        threading.Thread(target=_flush_quietly, name="se4u-records", daemon=True).start()
    else:
        _flush_quietly()


def _flush_quietly() -> None:
    if not _send_lock.acquire(blocking=False):
        return  # another thread is sending the queue right now
    try:
        flush_now()
    except Exception:  # a background thread must not die noisily in the learner's kernel
        log.exception("sending progress records failed")
    finally:
        _send_lock.release()


def record_activity_save(activity: Any, verb: str) -> None:
    """The one call :meth:`se4u.activity.Activity.persist` makes after a successful save."""
    try:
        record(activity._learner, activity.activity_id, verb, kind=activity.kind,
               score=activity.score_for_store(), max_score=activity.max_score_for_store(),
               attempts=activity.attempts_for_store())
    except Exception:  # never into the widget
        log.exception("progress record for %s not queued", getattr(activity, "activity_id", "?"))
