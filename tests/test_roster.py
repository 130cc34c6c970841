"""``se4u cohort create``: accepted applicants become nbgrader students and hub users, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from se4u.admin import create_cohort, learner_id
from se4u.applications import ApplicationBook, ApplicationForm, load_call

BEFORE = datetime(2020, 10, 1, tzinfo=UTC)


@pytest.fixture
def book(tmp_path):
    opened = ApplicationBook(f"sqlite:///{tmp_path / 'apps.sqlite'}")
    yield opened
    opened.close()


def apply(book: ApplicationBook, name: str, email: str) -> int:
    form = ApplicationForm(name=name, organisation="Org", organisation_type="academia", country="Nepal",
                           issues=["trafficking_in_persons"], motivation="", email=email)
    app_id, reasons = book.submit(load_call("asia"), form, now=BEFORE)
    assert reasons == []
    return app_id


def students(course) -> dict[str, str]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.id: f"{s.first_name} {s.last_name}" for s in gb.students}


def test_cohort_create_is_idempotent(book, tmp_path):
    """Does a second run create nobody twice, in nbgrader or the hub users file?"""
    for name, email in [("Asha Rai", "asha@example.org"), ("Bo Tan", "bo.tan@example.org")]:
        book.decide(apply(book, name, email), "accepted")
    apply(book, "Not Accepted", "nope@example.org")
    first = create_cohort(book, "asia", tmp_path)
    assert sorted(first.created) == ["asha", "botan"] and first.existing == []
    second = create_cohort(book, "asia", tmp_path)
    assert second.created == [] and sorted(second.existing) == ["asha", "botan"]
    assert students(tmp_path) == {"asha": "Asha Rai", "botan": "Bo Tan"}
    users = json.loads((tmp_path / "hub_users.json").read_text())["learners"]
    assert [u["username"] for u in users] == ["asha", "botan"]
    assert {r["status"] for r in book.search(call="asia")} == {"enrolled", "submitted"}


def test_cohort_limit_is_respected(book, tmp_path, monkeypatch):
    """With two places and three accepted, do two enrol and the third wait, also on a second run?"""
    import se4u.admin

    limited = load_call("asia").model_copy(update={"cohort_limit": 2})
    monkeypatch.setattr(se4u.admin, "load_call", lambda _call_id: limited)
    ids = [apply(book, f"Learner {n}", f"l{n}@example.org") for n in range(3)]
    for app_id in ids:
        book.decide(app_id, "accepted")
    result = create_cohort(book, "asia", tmp_path)
    assert len(result.created) == 2 and result.waiting == [ids[2]]
    again = create_cohort(book, "asia", tmp_path)
    assert again.created == [] and again.waiting == [ids[2]]
    assert len(students(tmp_path)) == 2


def test_a_new_acceptance_joins_an_existing_cohort(book, tmp_path):
    """Does a later acceptance add just that learner, keeping others' entries and ids?"""
    book.decide(apply(book, "Asha Rai", "asha@example.org"), "accepted")
    create_cohort(book, "asia", tmp_path)
    book.decide(apply(book, "Asha Other", "asha@example.net"), "accepted")
    result = create_cohort(book, "asia", tmp_path)
    assert result.created == ["asha2"] and result.existing == ["asha"]


def test_learner_ids_are_safe_and_unique():
    """Are user names lower-case letters and digits, never starting with a digit, never reused?"""
    assert learner_id("Mei.Lin+x@example.org", set()) == "meilinx"
    assert learner_id("007@example.org", set()) == "l007"
    assert learner_id("mei@example.org", {"mei", "mei2"}) == "mei3"


def test_cli_lists_accepts_and_creates(tmp_path, monkeypatch, capsys):
    """Do `se4u applications` and `se4u cohort create` work end to end on the command line?"""
    from se4u.cli import main

    monkeypatch.setenv("SE4U_APPLICATIONS", str(tmp_path / "apps.sqlite"))
    book = ApplicationBook()
    app_id = apply(book, "Asha Rai", "asha@example.org")
    book.close()
    assert main(["applications", "accept", str(app_id)]) == 0
    assert main(["applications", "list", "--status", "accepted", "--country", "nepal"]) == 0
    assert "Asha Rai" in capsys.readouterr().out
    assert main(["cohort", "create", "--call", "asia", "--course", str(tmp_path)]) == 0
    assert "created 1 learner(s): asha" in capsys.readouterr().out
    assert main(["applications", "reject", "999"]) == 1
