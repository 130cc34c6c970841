"""Eligibility rules of the calls: every branch, the focal-point list, the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from se4u.applications import (
    ApplicationBook,
    ApplicationError,
    ApplicationForm,
    check_eligibility,
    load_call,
    load_calls,
    load_country_list,
    result_html,
)

BEFORE_ASIA_DEADLINE = datetime(2020, 10, 1, tzinfo=UTC)


def form(**changes: object) -> ApplicationForm:
    values: dict[str, object] = {
        "name": "Mei Lin", "organisation": "Coastal Rights Network", "organisation_type": "cso",
        "country": "Thailand", "issues": ["migrant_smuggling"], "motivation": "We support migrants.",
        "email": "mei@example.org"}
    values.update(changes)
    return ApplicationForm(**values)


def rules(reasons) -> list[str]:
    return [r.rule for r in reasons]


def test_focal_point_list_has_the_74_entries():
    """Does the focal-points list hold exactly the 74 countries and entities, once each?"""
    countries = load_country_list("focal_point_countries").countries
    assert len(countries) == 74 == len(set(countries))
    assert {"Algeria", "European Union", "State of Palestine", "Venezuela",
            "Democratic People's Republic of Korea", "United Republic of Tanzania"} <= set(countries)
    assert countries == sorted(countries)


def test_calls_are_valid_data():
    """Are both calls valid, with only the terms their published texts give (nothing invented)?"""
    calls = {c.id: c for c in load_calls()}
    assert {"asia", "focal_points"} <= set(calls)
    assert calls["asia"].deadline == datetime(2020, 10, 30, 23, 59, 59, tzinfo=UTC)
    # neither call text gives a number of places, nor the focal-points call a deadline
    assert calls["asia"].cohort_limit is None and calls["focal_points"].cohort_limit is None
    assert calls["focal_points"].deadline is None and not calls["focal_points"].closed
    assert "Japan" in calls["asia"].countries and "Germany" not in calls["asia"].countries
    assert [c.id for c in load_calls()][:2] == ["asia", "focal_points"]


def test_an_eligible_asia_applicant():
    """Is a CSO in Thailand working on migrant smuggling eligible before the deadline?"""
    assert check_eligibility(load_call("asia"), form(), now=BEFORE_ASIA_DEADLINE) == []


@pytest.mark.parametrize("org_type", ["academia", "private_sector"])
def test_academia_and_private_sector_are_eligible(org_type):
    """Are academics and the private sector covered as well as CSOs?"""
    assert check_eligibility(load_call("asia"), form(organisation_type=org_type),
                             now=BEFORE_ASIA_DEADLINE) == []


def test_wrong_organisation_type():
    """Is a government applicant told that the call is for CSOs, academia and the private sector?"""
    reasons = check_eligibility(load_call("asia"), form(organisation_type="government"),
                                now=BEFORE_ASIA_DEADLINE)
    assert rules(reasons) == ["organisation_type"]
    assert "Government or public authority applicants are not covered" in reasons[0].message


def test_country_not_covered():
    """Is an applicant from outside Asia told their country is not covered?"""
    reasons = check_eligibility(load_call("asia"), form(country="Germany"), now=BEFORE_ASIA_DEADLINE)
    assert rules(reasons) == ["country"]
    assert "Germany" in reasons[0].message


def test_no_qualifying_issue():
    """Does the Asia call need one of trafficking in persons, migrant smuggling, firearms?"""
    reasons = check_eligibility(load_call("asia"), form(issues=["corruption"]), now=BEFORE_ASIA_DEADLINE)
    assert rules(reasons) == ["issues"]
    assert "Trafficking in persons" in reasons[0].message
    assert check_eligibility(load_call("asia"), form(issues=["firearms", "corruption"]),
                             now=BEFORE_ASIA_DEADLINE) == []


def test_deadline_passed():
    """Is an application one second after the deadline refused, one at the deadline not?"""
    call = load_call("asia")
    assert rules(check_eligibility(call, form(), now=call.deadline + timedelta(seconds=1))) == ["deadline"]
    assert check_eligibility(call, form(), now=call.deadline) == []


def test_cohort_full():
    """Is an application refused once every place is taken?"""
    call = load_call("asia").model_copy(update={"cohort_limit": 30})
    assert rules(check_eligibility(call, form(), now=BEFORE_ASIA_DEADLINE,
                                   admitted=call.cohort_limit)) == ["cohort_full"]
    assert check_eligibility(call, form(), now=BEFORE_ASIA_DEADLINE, admitted=call.cohort_limit - 1) == []


def test_every_reason_is_given_at_once():
    """Does an applicant failing several rules learn all of them?"""
    call = load_call("asia").model_copy(update={"cohort_limit": 30, "closed": True})
    reasons = check_eligibility(call, form(organisation_type="other", country="Peru", issues=[]),
                                now=BEFORE_ASIA_DEADLINE + timedelta(days=365), admitted=999)
    assert set(rules(reasons)) == {"closed", "deadline", "cohort_full", "organisation_type", "country",
                                   "issues"}


def test_a_call_without_deadline_or_limit_stays_open_until_closed():
    """Is an open-ended call open at any date and for any number admitted, and refused once closed?"""
    call = load_call("focal_points")
    far = datetime(2040, 1, 1, tzinfo=UTC)
    assert check_eligibility(call, form(country="Algeria", issues=[]), now=far, admitted=10_000) == []
    closed = call.model_copy(update={"closed": True})
    reasons = check_eligibility(closed, form(country="Algeria", issues=[]), now=far)
    assert rules(reasons) == ["closed"]
    assert "no longer takes applications" in reasons[0].message
    assert "No deadline is set" in call.terms() and "closed" in closed.terms()


def test_focal_points_call_matches_typographic_apostrophes():
    """Does the focal-points call accept its countries however the apostrophe is typed, and no issue?"""
    call = load_call("focal_points")
    before = datetime(2030, 1, 1, tzinfo=UTC)
    assert check_eligibility(call, form(country="Democratic People\u2019s Republic of Korea", issues=[]),
                             now=before) == []
    assert check_eligibility(call, form(country="european union"), now=before) == []
    assert rules(check_eligibility(call, form(country="Japan"), now=before)) == ["country"]


def test_form_rejects_a_bad_email():
    """Is an address without a domain refused by the form?"""
    with pytest.raises(ValueError, match="e-mail"):
        form(email="mei-at-example")


def test_unknown_call_names_the_known_ones():
    """Does an unknown call say which calls there are?"""
    with pytest.raises(ApplicationError, match="asia"):
        load_call("europe")


def test_book_keeps_applications_and_counts_admitted(tmp_path):
    """Are applications kept with their status, and do accepted ones fill the cohort?"""
    book = ApplicationBook(f"sqlite:///{tmp_path / 'apps.sqlite'}")
    call = load_call("asia")
    first, reasons = book.submit(call, form(), now=BEFORE_ASIA_DEADLINE)
    assert reasons == []
    book.submit(call, form(country="Germany"), now=BEFORE_ASIA_DEADLINE)
    assert [r["status"] for r in book.search(call="asia")] == ["submitted", "ineligible"]
    assert [r["country"] for r in book.search(country="germany")] == ["Germany"]
    book.decide(first, "accepted")
    assert book.admitted("asia") == 1
    assert "Germany" in book.search(status="ineligible")[0]["reasons"]
    book.close()


def test_result_is_escaped():
    """Is what the applicant typed escaped when shown back?"""
    call = load_call("asia")
    reasons = check_eligibility(call, form(country="<b>Atlantis</b>"), now=BEFORE_ASIA_DEADLINE)
    page = result_html(call, reasons)
    assert "<b>Atlantis" not in page and "&lt;b&gt;Atlantis" in page


def test_the_administrator_sets_a_calls_terms_and_a_bad_value_changes_nothing(tmp_path, capsys, monkeypatch):
    """Does `se4u calls set` write deadline, places and closed state (keeping comments), refuse bad ones?"""
    import shutil

    from se4u import applications
    from se4u.cli import main

    folder = tmp_path / "calls"
    shutil.copytree(applications.CALLS_DIR, folder)
    monkeypatch.setattr(applications, "CALLS_DIR", folder)
    assert main(["calls", "set", "focal_points", "--deadline", "2027-01-31", "--limit", "40"]) == 0
    assert "31 January 2027, 23:59 UTC · 40 places" in capsys.readouterr().out
    call = applications.load_call("focal_points", folder)
    assert call.deadline == datetime(2027, 1, 31, 23, 59, 59, tzinfo=UTC) and call.cohort_limit == 40
    assert "publishes neither a deadline" in (folder / "focal_points.yaml").read_text()
    before = (folder / "focal_points.yaml").read_text()
    with pytest.raises(SystemExit):
        main(["calls", "set", "focal_points", "--limit", "0"])
    assert "not a number of places" in capsys.readouterr().err
    assert main(["calls", "set", "focal_points"]) == 1
    assert (folder / "focal_points.yaml").read_text() == before
    assert main(["calls", "set", "focal_points", "--close"]) == 0
    assert applications.load_call("focal_points", folder).closed
    assert main(["calls", "set", "focal_points", "--open", "--deadline", "none", "--limit", "none"]) == 0
    call = applications.load_call("focal_points", folder)
    assert (call.closed, call.deadline, call.cohort_limit) == (False, None, None)
    assert main(["calls", "list"]) == 0
    assert "focal_points" in capsys.readouterr().out
