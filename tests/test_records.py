"""Progress records: queued in the outbox while the course service is away, sent once when it is back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from se4u import records
from se4u.service.db import CourseDB
from se4u.service.testing import ServiceThread, course_with, free_port
from se4u.service.threads import Thread

USERS = {"tok-amina": {"name": "amina"}, "tok-ben": {"name": "ben"}}


@pytest.fixture
def outbox_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private outbox file, no service configured, no back-off between tries."""
    path = tmp_path / "outbox.sqlite"
    monkeypatch.setenv("SE4U_OUTBOX", str(path))
    for name in ("SE4U_SERVICE_URL", "JUPYTERHUB_SERVICE_URL", "SE4U_SERVICE_TOKEN", "JUPYTERHUB_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(records, "RETRY_AFTER", 0.0)
    monkeypatch.setattr(records, "_last_failure", 0.0)
    monkeypatch.setattr(records, "_outboxes", {})
    return path


@pytest.fixture
def service_db(tmp_path: Path) -> Iterator[CourseDB]:
    db = CourseDB(str(tmp_path / "service.sqlite"))
    yield db
    db.close()


def start_service(db: CourseDB, port: int | None = None) -> ServiceThread:
    thread = Thread(id="bank/forum", title="Forum", prompt="Discuss", min_posts=1, min_replies=1)
    return ServiceThread(course_with(db, USERS, threads={thread.id: thread}), port=port)


def point_at(monkeypatch: pytest.MonkeyPatch, port: int, token: str = "tok-amina") -> None:
    monkeypatch.setenv("SE4U_SERVICE_URL", f"http://127.0.0.1:{port}/services/se4u/")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)


def queued(path: Path) -> int:
    box = records.Outbox(path)
    try:
        return len(box)
    finally:
        box.close()


def test_statements_wait_when_no_service_is_configured(outbox_env: Path) -> None:
    """Without a course service, is each save kept in the outbox (and nothing raised)?"""
    records.record("amina", "module1/q1", "checked", kind="multiple_choice", score=1, max_score=1,
                   background=False)
    records.record("amina", "module1/q2", "saved", background=False)
    assert queued(outbox_env) == 2
    assert records.flush_now(force=True) == 0


def test_service_down_then_up_delivers_each_statement_once(outbox_env: Path, service_db: CourseDB,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Do statements queued while the service is down arrive exactly once at the next save after it is up?"""
    port = free_port()
    point_at(monkeypatch, port)
    for n in range(3):
        records.record("amina", f"module1/q{n}", "checked", background=False)
    assert queued(outbox_env) == 3  # the service is down: all wait
    service = start_service(service_db, port)
    try:
        records.record("amina", "module1/q9", "checked", background=False)
        assert queued(outbox_env) == 0
        stored = service_db.statements_of("amina")
        assert sorted(s["object"] for s in stored) == ["module1/q0", "module1/q1", "module1/q2", "module1/q9"]
        assert records.flush_now(force=True) == 0
        assert len(service_db.statements_of("amina")) == 4
    finally:
        service.stop()


def test_a_resend_after_a_lost_answer_is_not_counted_twice(outbox_env: Path, service_db: CourseDB,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """If a batch reached the service but the reply was lost, does sending it again change nothing?"""
    service = start_service(service_db)
    try:
        point_at(monkeypatch, service.port)
        box = records.Outbox(outbox_env)
        box.add(records.statement("amina", "module2/q1", "checked"))
        assert box.add(box.pending()[0]) is False  # the same id is queued once
        send = records.http_sender(*records.service_target())
        send(box.pending())  # delivered, but the outbox never heard back
        assert box.flush(send) == 1
        assert len(box) == 0
        assert len(service_db.statements_of("amina")) == 1
        box.close()
    finally:
        service.stop()


def test_refused_statements_stay_queued(outbox_env: Path, service_db: CourseDB,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """When the service refuses the token (403), are the statements kept for later, not lost?"""
    service = start_service(service_db)
    try:
        point_at(monkeypatch, service.port, token="not-a-hub-token")
        records.record("amina", "module3/q1", "checked", background=False)
        assert queued(outbox_env) == 1
        assert service_db.statements_of() == []
    finally:
        service.stop()


def test_a_save_records_progress_and_never_breaks_the_widget(outbox_env: Path, service_db: CourseDB, store,
                                                              comms, monkeypatch: pytest.MonkeyPatch,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    """Does Activity.persist send a statement, and still save when the outbox cannot be written?"""
    from se4u.banks import MultipleChoiceSpec
    from se4u.choice import MultipleChoice
    from tests.widget_driver import page_action

    spec = MultipleChoiceSpec.model_validate({
        "id": "q1", "type": "multiple_choice", "kind": "single", "prompt": "Which one?",
        "options": [{"id": "a", "text": "A", "correct": True}, {"id": "b", "text": "B"}]})
    service = start_service(service_db)
    try:
        point_at(monkeypatch, service.port)
        quiz = MultipleChoice(spec, key="module1/q1", learner="amina", store=store)
        quiz.open()
        page_action(quiz, action="check", selected=quiz.page_ids("a"))
        assert quiz.save_status == "saved"
        records.flush_now(force=True)  # the save sent in the background; make sure it is done
        stored = service_db.statements_of("amina")
        assert stored
        assert stored[-1]["object"] == "module1/q1"
        assert stored[-1]["result"]["score"] == 1.0
        assert "selected" not in stored[-1]["result"]  # the answer itself stays in the store

        monkeypatch.setenv("SE4U_OUTBOX", "/proc/se4u-no-such-folder/outbox.sqlite")
        with caplog.at_level("WARNING", logger="se4u.records"):
            assert quiz.persist() is True
        assert quiz.save_status == "saved"
        assert "could not be queued" in caplog.text
    finally:
        service.stop()
