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
    """Are both calls valid, with a deadline and a cohort limit each?"""
    calls = {c.id: c for c in load_calls()}
    assert {"asia", "focal_points"} <= set(calls)
    assert calls["asia"].deadline == datetime(2020, 10, 30, 23, 59, 59, tzinfo=UTC)
    assert all(c.cohort_limit > 0 for c in calls.values())
    assert "Japan" in calls["asia"].countries and "Germany" not in calls["asia"].countries


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
    call = load_call("asia")
    assert rules(check_eligibility(call, form(), now=BEFORE_ASIA_DEADLINE,
                                   admitted=call.cohort_limit)) == ["cohort_full"]
    assert check_eligibility(call, form(), now=BEFORE_ASIA_DEADLINE, admitted=call.cohort_limit - 1) == []


def test_every_reason_is_given_at_once():
    """Does an applicant failing several rules learn all of them?"""
    reasons = check_eligibility(load_call("asia"), form(organisation_type="other", country="Peru", issues=[]),
                                now=BEFORE_ASIA_DEADLINE + timedelta(days=365), admitted=999)
    assert set(rules(reasons)) == {"deadline", "cohort_full", "organisation_type", "country", "issues"}


def test_focal_points_call_matches_typographic_apostrophes():
    """Does the focal-points call accept its countries however the apostrophe is typed, and no issue?"""
    call = load_call("focal_points")
    before = call.deadline - timedelta(days=1)
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
