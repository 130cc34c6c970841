"""The course service's storage on SQLite and on a real PostgreSQL started for these tests."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from se4u.service.db import SCHEMA_VERSION, CourseDB, ForbiddenError, InvalidError, NotFoundError
from se4u.service.testing import PostgresServer

THREAD = "module3/forum-protocols"


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster on 127.0.0.1 for this module, stopped and removed afterwards."""
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CourseDB]:
    """A fresh, empty course database on each backend."""
    if request.param == "sqlite":
        opened = CourseDB(str(tmp_path / "service.sqlite"))
    else:
        server = request.getfixturevalue("postgres")
        opened = CourseDB(server.create_database(f"t{uuid.uuid4().hex[:12]}"))
    yield opened
    opened.close()


def statement(**extra: object) -> dict[str, object]:
    return {"id": str(uuid.uuid4()), "verb": "answered", "object": "module3/quiz-1",
            "result": {"score": 1.0}, **extra}


def test_schema_is_created_and_reopening_keeps_data(tmp_path: Path) -> None:
    """Does a reopened database keep its posts and stay at the current schema?"""
    path = str(tmp_path / "s.sqlite")
    first = CourseDB(path)
    first.add_post(THREAD, "ana", "hello")
    first.close()
    again = CourseDB(path)
    assert again.count_posts(THREAD) == 1
    from sqlalchemy import text

    with again.engine.connect() as conn:
        assert conn.execute(text("select value from se4u_service_meta")).scalar() == str(SCHEMA_VERSION)
    again.close()


def test_posts_replies_and_participation(db: CourseDB) -> None:
    """Do own posts and replies to other learners count toward the assignment rule?"""
    a1 = db.add_post(THREAD, "ana", "My view")
    b1 = db.add_post(THREAD, "ben", "Mine")
    db.add_post(THREAD, "ana", "Reply to Ben", parent_id=b1.id)
    db.add_post(THREAD, "ana", "Reply to myself", parent_id=a1.id)
    db.add_post(THREAD, "ben", "Reply to Ana", parent_id=a1.id)
    counts = db.participation(THREAD, min_posts=1, min_replies=2)
    assert counts["ana"] == {"posts": 1, "replies": 1, "complete": False}
    assert counts["ben"]["replies"] == 1
    c1 = db.add_post(THREAD, "cleo", "Hi")
    db.add_post(THREAD, "ana", "Reply to Cleo", parent_id=c1.id)
    assert db.participation(THREAD, 1, 2, "ana")["ana"]["complete"] is True
    assert db.participation(THREAD, 1, 2, "nobody")["nobody"] == {"posts": 0, "replies": 0, "complete": False}


def test_hidden_posts_are_seen_only_by_author_and_instructors(db: CourseDB) -> None:
    """Does hiding a post remove it from other learners' view but not its author's?"""
    post = db.add_post(THREAD, "ana", "off-topic")
    db.moderate(post.id, hidden=True)
    assert [p.id for p in db.thread_posts(THREAD, viewer="ben", instructor=False)] == []
    assert [p.id for p in db.thread_posts(THREAD, viewer="ana", instructor=False)] == [post.id]
    assert [p.id for p in db.thread_posts(THREAD, viewer="ines", instructor=True)] == [post.id]
    assert db.participation(THREAD, 1, 0, "ana")["ana"]["posts"] == 0


def test_pinned_posts_come_first(db: CourseDB) -> None:
    """Is a pinned post listed before older ones?"""
    first = db.add_post(THREAD, "ana", "one")
    second = db.add_post(THREAD, "ines", "Read this first")
    db.moderate(second.id, pinned=True)
    assert [p.id for p in db.thread_posts(THREAD, viewer="ana", instructor=False)] == [second.id, first.id]


def test_only_the_author_edits_or_deletes(db: CourseDB) -> None:
    """Can a learner change only their own posts?"""
    post = db.add_post(THREAD, "ana", "draft")
    with pytest.raises(ForbiddenError):
        db.edit_post(post.id, "ben", "hijacked")
    with pytest.raises(ForbiddenError):
        db.delete_post(post.id, "ben")
    assert db.edit_post(post.id, "ana", "final").body == "final"
    db.delete_post(post.id, "ana")
    with pytest.raises(NotFoundError):
        db.get_post(post.id)


def test_replies_stay_in_their_thread(db: CourseDB) -> None:
    """Is a reply to a post of another thread refused?"""
    other = db.add_post("module1/forum-introductions", "ana", "hi")
    with pytest.raises(InvalidError):
        db.add_post(THREAD, "ben", "sneaky", parent_id=other.id)
    with pytest.raises(InvalidError):
        db.add_post(THREAD, "ben", "   ")


def test_sql_looking_text_is_stored_literally(db: CourseDB) -> None:
    """Is text that looks like SQL stored and returned unchanged?"""
    body = "Robert'); DROP TABLE forum_posts;-- \" OR 1=1 -- ; SELECT * FROM statements"
    post = db.add_post(THREAD, "o'brien; --", body)
    assert db.get_post(post.id).body == body
    assert db.get_post(post.id).author == "o'brien; --"
    assert db.count_posts() == 1


def test_statements_are_idempotent_on_id(db: CourseDB) -> None:
    """Is a statement sent twice stored once?"""
    sent = statement()
    assert db.add_statement("ana", sent) is True
    assert db.add_statement("ana", sent) is False
    stored = db.statements_of("ana")
    assert len(stored) == 1
    assert stored[0]["result"] == {"score": 1.0}
    assert db.statements_of("ben") == []


def test_bad_statements_are_refused(db: CourseDB) -> None:
    """Does a statement without a UUID, verb or object get a message naming the field?"""
    with pytest.raises(InvalidError, match="id"):
        db.add_statement("ana", statement(id="not-a-uuid"))
    with pytest.raises(InvalidError, match="verb"):
        db.add_statement("ana", statement(verb=""))
    with pytest.raises(InvalidError, match="object"):
        db.add_statement("ana", statement(object=None))


def test_concurrent_writers_lose_nothing(db: CourseDB) -> None:
    """Do 8 threads writing posts and duplicate statements at once store each exactly once?"""
    shared = [statement() for _ in range(20)]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(15):
                db.add_post(THREAD, f"learner{n}", f"post {i}")
            for item in shared:
                db.add_statement("ana", item)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    workers = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert not errors
    assert db.count_posts(THREAD) == 8 * 15
    assert len(db.statements_of("ana")) == len(shared)
