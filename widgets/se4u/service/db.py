"""CourseDB: the course service's forum posts and progress records, in SQLite or PostgreSQL.

Same discipline as :mod:`se4u.store`: SQLAlchemy Core, one transaction per change, ``BEGIN
IMMEDIATE`` on SQLite so concurrent writers queue instead of failing, numbered migrations.
Every query is parameterised, so text that looks like SQL is stored literally.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from se4u.store import open_engine

SCHEMA_VERSION = 1
#: The longest post (Markdown source) the forum accepts.
MAX_POST_CHARS = 20_000
#: The largest JSON a statement's object or result may hold.
MAX_STATEMENT_BYTES = 64_000

metadata = MetaData()
meta = Table(
    "se4u_service_meta", metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)
posts = Table(
    "forum_posts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("thread", String(200), nullable=False, index=True),
    Column("author", String(128), nullable=False, index=True),
    Column("parent_id", Integer, ForeignKey("forum_posts.id"), nullable=True),
    Column("body", Text, nullable=False),
    Column("hidden", Boolean, nullable=False, default=False),
    Column("pinned", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
statements = Table(
    "statements", metadata,
    Column("id", String(36), primary_key=True),
    Column("actor", String(128), nullable=False, index=True),
    Column("verb", String(200), nullable=False),
    Column("object", String(400), nullable=False),
    Column("result", Text, nullable=False),
    Column("timestamp", DateTime(timezone=True), nullable=False),
    Column("stored", DateTime(timezone=True), nullable=False),
)


class CourseDBError(Exception):
    """The service's database cannot be used; the message says why."""


class NotFoundError(CourseDBError):
    """The post or thread does not exist (or the user may not see it)."""


class ForbiddenError(CourseDBError):
    """The user may not do this."""


class InvalidError(CourseDBError):
    """The request is malformed; the message names the field."""


@dataclass(frozen=True)
class Post:
    """One forum post or reply, as stored (the Markdown source; rendering happens on output)."""

    id: int
    thread: str
    author: str
    parent_id: int | None
    body: str
    hidden: bool
    pinned: bool
    deleted: bool
    created_at: datetime
    updated_at: datetime

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        data["updated_at"] = self.updated_at.isoformat()
        return data


def _now() -> datetime:
    return datetime.now(UTC)


def _v1(conn: Connection) -> None:
    posts.create(conn, checkfirst=True)
    statements.create(conn, checkfirst=True)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {1: _v1}


def db_url_from(value: str) -> str:
    """A SQLAlchemy URL from a URL or a file path (a path means SQLite)."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


class CourseDB:
    """Forum posts and progress statements of one cohort."""

    def __init__(self, url: str) -> None:
        self.url = db_url_from(url)
        try:
            self.engine: Engine = open_engine(self.url, pool_size=10, max_overflow=20, pool_pre_ping=True)
            self._migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise CourseDBError(f"the course service database cannot be opened: {_reason(exc)}") from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _migrate(self) -> None:
        with self.engine.begin() as conn:
            meta.create(conn, checkfirst=True)
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).scalar()
            current = int(row or 0)
            if current > SCHEMA_VERSION:
                raise CourseDBError(f"the database is at schema {current}, newer than this software")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](conn)
            if current != SCHEMA_VERSION:
                conn.execute(meta.delete().where(meta.c.key == "schema_version"))
                conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))

    def close(self) -> None:
        self.engine.dispose()

    # --- forum ----------------------------------------------------------------------------------
    def add_post(self, thread: str, author: str, body: str, parent_id: int | None = None) -> Post:
        """Store a post (or a reply to ``parent_id``, which must be in the same thread)."""
        body = _check_body(body)
        now = _now()
        with self.engine.begin() as conn:
            if parent_id is not None:
                parent = conn.execute(select(posts.c.thread, posts.c.deleted)
                                      .where(posts.c.id == parent_id)).first()
                if parent is None or parent.thread != thread or parent.deleted:
                    raise InvalidError("parent_id: the post you reply to is not in this thread")
            new_id = conn.execute(posts.insert().values(
                thread=thread, author=author, parent_id=parent_id, body=body, hidden=False,
                pinned=False, deleted=False, created_at=now, updated_at=now)).inserted_primary_key[0]
            row = conn.execute(select(posts).where(posts.c.id == new_id)).one()
        return _post(row)

    def get_post(self, post_id: int) -> Post:
        with self.engine.connect() as conn:
            row = conn.execute(select(posts).where(posts.c.id == post_id)).first()
        if row is None or row.deleted:
            raise NotFoundError(f"post {post_id} does not exist")
        return _post(row)

    def thread_posts(self, thread: str, *, viewer: str | None, instructor: bool) -> list[Post]:
        """The thread's posts a viewer may see: pinned first, then oldest first."""
        query = select(posts).where(posts.c.thread == thread, posts.c.deleted.is_(False))
        if not instructor:
            query = query.where((posts.c.hidden.is_(False)) | (posts.c.author == viewer))
        query = query.order_by(posts.c.pinned.desc(), posts.c.id)
        with self.engine.connect() as conn:
            return [_post(r) for r in conn.execute(query)]

    def edit_post(self, post_id: int, editor: str, body: str) -> Post:
        """Replace the text of one's own post."""
        body = _check_body(body)
        with self.engine.begin() as conn:
            self._own(conn, post_id, editor)
            conn.execute(posts.update().where(posts.c.id == post_id).values(body=body, updated_at=_now()))
            return _post(conn.execute(select(posts).where(posts.c.id == post_id)).one())

    def delete_post(self, post_id: int, editor: str) -> None:
        """Delete one's own post (its replies stay, shown as replies to a deleted post)."""
        with self.engine.begin() as conn:
            self._own(conn, post_id, editor)
            conn.execute(posts.update().where(posts.c.id == post_id)
                         .values(deleted=True, body="", updated_at=_now()))

    def moderate(self, post_id: int, *, hidden: bool | None = None, pinned: bool | None = None) -> Post:
        """Hide/unhide or pin/unpin a post (the caller checks that the user is an instructor)."""
        values: dict[str, Any] = {}
        if hidden is not None:
            values["hidden"] = bool(hidden)
        if pinned is not None:
            values["pinned"] = bool(pinned)
        with self.engine.begin() as conn:
            row = conn.execute(select(posts).where(posts.c.id == post_id)).first()
            if row is None or row.deleted:
                raise NotFoundError(f"post {post_id} does not exist")
            if values:
                conn.execute(posts.update().where(posts.c.id == post_id).values(**values))
            return _post(conn.execute(select(posts).where(posts.c.id == post_id)).one())

    @staticmethod
    def _own(conn: Connection, post_id: int, editor: str) -> None:
        row = conn.execute(select(posts.c.author, posts.c.deleted).where(posts.c.id == post_id)).first()
        if row is None or row.deleted:
            raise NotFoundError(f"post {post_id} does not exist")
        if row.author != editor:
            raise ForbiddenError("you can only change your own posts")

    def participation(self, thread: str, min_posts: int, min_replies: int,
                      learner: str | None = None) -> dict[str, dict[str, Any]]:
        """Per learner: own posts, replies to other learners, and whether the rule is met.

        Hidden and deleted posts do not count; a reply counts only when its parent is someone else's.
        """
        parent = posts.alias("parent")
        query = (select(posts.c.author, posts.c.parent_id, parent.c.author.label("parent_author"))
                 .select_from(posts.outerjoin(parent, posts.c.parent_id == parent.c.id))
                 .where(posts.c.thread == thread, posts.c.deleted.is_(False), posts.c.hidden.is_(False)))
        if learner is not None:
            query = query.where(posts.c.author == learner)
        counts: dict[str, dict[str, Any]] = {}
        if learner is not None:
            counts[learner] = {"posts": 0, "replies": 0}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                entry = counts.setdefault(row.author, {"posts": 0, "replies": 0})
                if row.parent_id is None:
                    entry["posts"] += 1
                elif row.parent_author != row.author:
                    entry["replies"] += 1
        for entry in counts.values():
            entry["complete"] = entry["posts"] >= min_posts and entry["replies"] >= min_replies
        return counts

    def count_posts(self, thread: str | None = None) -> int:
        query = select(func.count()).select_from(posts).where(posts.c.deleted.is_(False))
        if thread is not None:
            query = query.where(posts.c.thread == thread)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    # --- progress records -----------------------------------------------------------------------
    def add_statement(self, actor: str, statement: dict[str, Any]) -> bool:
        """Store one xAPI-style statement for ``actor``; False if its id was stored already."""
        row = _statement_row(actor, statement)
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(statements.c.id).where(statements.c.id == row["id"])).first():
                    return False
                conn.execute(statements.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def statements_of(self, actor: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Stored statements, oldest first; only ``actor``'s when given."""
        query = select(statements)
        if actor is not None:
            query = query.where(statements.c.actor == actor)
        query = query.order_by(statements.c.timestamp, statements.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [_statement_json(r) for r in conn.execute(query)]


def _check_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidError("body: write something before posting")
    if len(body) > MAX_POST_CHARS:
        raise InvalidError(f"body: a post may have at most {MAX_POST_CHARS} characters")
    return body.replace("\x00", "")


def _statement_row(actor: str, statement: Any) -> dict[str, Any]:
    if not isinstance(statement, dict):
        raise InvalidError("a statement must be a JSON object")
    try:
        sid = str(uuid.UUID(str(statement.get("id"))))
    except ValueError:
        raise InvalidError("id: a statement needs a UUID id") from None
    verb = statement.get("verb")
    obj = statement.get("object")
    if isinstance(verb, dict):
        verb = verb.get("id")
    if isinstance(obj, dict):
        obj = obj.get("id")
    if not isinstance(verb, str) or not verb or len(verb) > 200:
        raise InvalidError("verb: a statement needs a verb (at most 200 characters)")
    if not isinstance(obj, str) or not obj or len(obj) > 400:
        raise InvalidError("object: a statement needs an object id (at most 400 characters)")
    result = statement.get("result") or {}
    if not isinstance(result, dict):
        raise InvalidError("result: must be a JSON object")
    result_json = json.dumps(result, ensure_ascii=False, sort_keys=True)
    if len(result_json.encode("utf-8")) > MAX_STATEMENT_BYTES:
        raise InvalidError("result: too large")
    stamp = statement.get("timestamp")
    try:
        timestamp = datetime.fromisoformat(stamp) if isinstance(stamp, str) else _now()
    except ValueError:
        raise InvalidError("timestamp: not an ISO 8601 date and time") from None
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return {"id": sid, "actor": actor, "verb": verb, "object": obj, "result": result_json,
            "timestamp": timestamp, "stored": _now()}


def _aware(value: datetime) -> datetime:
    # SQLite gives naive datetimes back; they were stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _statement_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "actor": row.actor, "verb": row.verb, "object": row.object,
            "result": json.loads(row.result), "timestamp": _aware(row.timestamp).isoformat(),
            "stored": _aware(row.stored).isoformat()}


def _post(row: Any) -> Post:
    return Post(id=row.id, thread=row.thread, author=row.author, parent_id=row.parent_id, body=row.body,
                hidden=bool(row.hidden), pinned=bool(row.pinned), deleted=bool(row.deleted),
                created_at=_aware(row.created_at), updated_at=_aware(row.updated_at))


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    return str(original).splitlines()[0][:200]
