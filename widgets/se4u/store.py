"""ResponseStore: every answer a learner gives, saved in one transaction and restored on reopen.

SQLite by default (one file, WAL journal, ``BEGIN IMMEDIATE`` so two kernels of one learner queue
up instead of failing); any SQLAlchemy URL (PostgreSQL at scale) by configuration. Each save
upserts the learner's latest state of an activity and appends an event to a log, in one
transaction, so a killed kernel leaves every committed answer readable and nothing half-written.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

#: The newest schema version; :data:`MIGRATIONS` brings an older store up to it.
SCHEMA_VERSION = 2
#: The largest state one activity may save (an essay of some thousand words fits easily).
MAX_STATE_BYTES = 256_000

metadata = MetaData()
meta = Table(
    "se4u_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)
responses = Table(
    "responses",
    metadata,
    Column("learner", String(128), primary_key=True),
    Column("activity", String(200), primary_key=True),
    Column("kind", String(40), nullable=False),
    Column("state", Text, nullable=False),
    Column("score", Float),
    Column("max_score", Float),
    Column("attempts", Integer, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
events = Table(
    "response_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("learner", String(128), nullable=False, index=True),
    Column("activity", String(200), nullable=False),
    Column("verb", String(40), nullable=False),
    Column("state", Text, nullable=False),
    Column("score", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class StoreError(Exception):
    """The store cannot save or read; the message says what happened and that nothing was lost."""


@dataclass(frozen=True)
class Response:
    """The latest saved state of one learner's activity."""

    learner: str
    activity: str
    kind: str
    state: dict[str, Any]
    score: float | None
    max_score: float | None
    attempts: int
    updated_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _v1(conn: Connection) -> None:
    """The first schema: meta and responses."""
    meta.create(conn, checkfirst=True)
    responses.create(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    """An append-only log of every save, so concurrent saves of one activity lose nothing."""
    events.create(conn, checkfirst=True)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1, 2: _v2}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling would defer BEGIN; we issue BEGIN IMMEDIATE ourselves.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA busy_timeout = 30000")
    # Switching to WAL needs a moment alone with the file and ignores the busy timeout, so two
    # kernels opening a new store at the same instant retry instead of failing.
    for attempt in range(100):
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.02 * (1 + attempt % 10))
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def open_engine(url: str, tables: MetaData | None = None, **server_options: Any) -> Engine:
    """An engine for the course's databases: the SQLite file's folder created, WAL, busy timeout and
    ``BEGIN IMMEDIATE`` so concurrent writers queue; ``tables`` created if missing.

    ``server_options`` (pool sizes and the like) apply to database servers such as PostgreSQL only.
    Raises SQLAlchemyError or OSError; callers turn them into their own clear message.
    """
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url) if url.startswith("sqlite") else create_engine(url, **server_options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    if tables is not None:
        tables.create_all(engine, checkfirst=True)
    return engine


class ResponseStore:
    """Learners' answers, saved atomically; one instance per kernel is enough.

    Parameters
    ----------
    url:
        A SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://…``).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = open_engine(url)
            self._migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(f"the answer store at {self._where()} cannot be opened: "
                             f"{_reason(exc)}") from None

    def _where(self) -> str:
        return self.url.removeprefix("sqlite:///") if self.url.startswith("sqlite") else "the database"

    @property
    def schema_version(self) -> int:
        """The schema version the store is at."""
        with self.engine.connect() as conn:
            value = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
        return int(value or 0)

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            meta.create(conn, checkfirst=True)
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            current = int(row or 0)
            if current > SCHEMA_VERSION:
                raise StoreError(f"the store is at schema {current}, newer than this course "
                                 f"software ({SCHEMA_VERSION}); update the course package")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
            if current != SCHEMA_VERSION:
                conn.execute(meta.delete().where(meta.c.key == "schema_version"))
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))

    def save(
        self,
        learner: str,
        activity: str,
        kind: str,
        state: dict[str, Any],
        *,
        score: float | None = None,
        max_score: float | None = None,
        attempts: int = 0,
        verb: str = "saved",
    ) -> datetime:
        """Save the learner's latest state of an activity and log it, in one transaction."""
        payload = json.dumps(state, ensure_ascii=False, sort_keys=True)
        if len(payload.encode("utf-8")) > MAX_STATE_BYTES:
            raise StoreError(f"this answer is larger than {MAX_STATE_BYTES // 1000} kB and was not "
                             "saved; the previously saved answer is kept")
        now = _now()
        row = {"learner": learner, "activity": activity, "kind": kind, "state": payload,
               "score": score, "max_score": max_score, "attempts": attempts, "updated_at": now}
        try:
            with self.engine.begin() as conn:
                updated = conn.execute(
                    responses.update()
                    .where(responses.c.learner == learner, responses.c.activity == activity)
                    .values(**row)
                ).rowcount
                if not updated:
                    conn.execute(responses.insert().values(**row))
                conn.execute(events.insert().values(
                    learner=learner, activity=activity, verb=verb, state=payload, score=score,
                    created_at=now))
        except SQLAlchemyError as exc:
            raise StoreError(f"your answer could not be saved ({_reason(exc)}); "
                             "the previously saved answer is kept") from None
        return now

    def load(self, learner: str, activity: str) -> Response | None:
        """The learner's latest saved state of an activity, or None if there is none."""
        try:
            with self.engine.connect() as conn:
                row = conn.execute(select(responses).where(
                    responses.c.learner == learner, responses.c.activity == activity)).first()
        except SQLAlchemyError as exc:
            raise StoreError(f"saved answers cannot be read ({_reason(exc)})") from None
        return _response(row) if row else None

    def responses_of(self, learner: str, prefix: str = "") -> list[Response]:
        """All of a learner's saved activities, optionally only those whose key starts with prefix."""
        query = select(responses).where(responses.c.learner == learner)
        if prefix:
            query = query.where(responses.c.activity.startswith(prefix, autoescape=True))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(responses.c.activity)).all()
        return [_response(r) for r in rows]

    def history(self, learner: str, activity: str) -> list[dict[str, Any]]:
        """Every save of one activity by one learner, oldest first."""
        query = (select(events).where(events.c.learner == learner, events.c.activity == activity)
                 .order_by(events.c.id))
        with self.engine.connect() as conn:
            return [dict(r._mapping, state=json.loads(r.state)) for r in conn.execute(query)]

    def check(self) -> str:
        """The SQLite integrity check's verdict (``ok``), or ``ok`` for other databases."""
        if self.engine.dialect.name != "sqlite":
            return "ok"
        with self.engine.connect() as conn:
            return str(conn.execute(text("PRAGMA integrity_check")).scalar())

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


def _response(row: Any) -> Response:
    try:
        state = json.loads(row.state)
    except (TypeError, ValueError):
        state = {}
    if not isinstance(state, dict):
        state = {}
    return Response(learner=row.learner, activity=row.activity, kind=row.kind, state=state,
                    score=row.score, max_score=row.max_score, attempts=row.attempts or 0,
                    updated_at=row.updated_at)


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).splitlines()[0][:200]


_default: ResponseStore | None = None
_default_lock = threading.Lock()


def default_store() -> ResponseStore:
    """The kernel's store, opened once from the settings (``$SE4U_STORE`` or the config file)."""
    global _default
    from se4u.config import load_settings

    with _default_lock:
        url = load_settings().store_url
        if _default is None or _default.url != url:
            _default = ResponseStore(url)
        return _default
