"""Applications to a course call: the eligibility rules as data, the applications table, the form.

A *call* (``data/calls/<id>.yaml``) says who may apply: the kinds of organisation, the countries
(a list in ``data/<list>.yaml``), the issues of which an applicant must work on at least one, the
deadline and the cohort's size. :func:`check_eligibility` gives every reason an application is not
eligible, each in words an applicant understands; the form (:func:`application_form`) shows them.
Applications are kept in a small SQLAlchemy table (``applications``) in the course database
(``$SE4U_APPLICATIONS``, else ``applications`` in the config file, else the response store's URL).
"""

from __future__ import annotations

import html
import json
import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.exc import SQLAlchemyError

from se4u.config import PACKAGE_DIR
from se4u.store import open_engine

DATA_DIR = PACKAGE_DIR / "data"
CALLS_DIR = DATA_DIR / "calls"

OrganisationType = Literal["cso", "academia", "private_sector", "government", "intergovernmental", "other"]
ORGANISATION_TYPES: dict[str, str] = {
    "cso": "Civil society organisation (NGO)",
    "academia": "Academia (university, research institute)",
    "private_sector": "Private sector",
    "government": "Government or public authority",
    "intergovernmental": "Intergovernmental or international organisation",
    "other": "Other",
}
Issue = Literal["trafficking_in_persons", "migrant_smuggling", "firearms", "cybercrime", "corruption",
                "money_laundering", "drug_trafficking", "environmental_crime", "other"]
ISSUES: dict[str, str] = {
    "trafficking_in_persons": "Trafficking in persons",
    "migrant_smuggling": "Smuggling of migrants",
    "firearms": "Illicit trafficking in firearms",
    "cybercrime": "Cybercrime",
    "corruption": "Corruption",
    "money_laundering": "Money laundering",
    "drug_trafficking": "Drug trafficking",
    "environmental_crime": "Crimes that affect the environment",
    "other": "Another form of organized crime",
}
LABELS = {"name": "Your name", "organisation": "Organisation name", "organisation_type": "Organisation type",
          "country": "Country", "issues": "Issues", "motivation": "Motivation", "email": "Contact e-mail"}
STATUSES = ("submitted", "ineligible", "accepted", "rejected", "enrolled")
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


class ApplicationError(Exception):
    """A call file, a country list or the applications table cannot be used; the message says why."""


# ==================================================================================================
# Calls and country lists, as data
# ==================================================================================================
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CountryList(_Strict):
    """A named list of countries (and entities such as the European Union)."""

    name: str
    source: str
    countries: list[str] = Field(min_length=1)

    @field_validator("countries")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        seen = [normalise_country(c) for c in value]
        if len(seen) != len(set(seen)):
            raise ValueError("a country is listed twice")
        return value


class Call(_Strict):
    """One call for applications and its eligibility rules."""

    schema_version: Literal[1]
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    title: str = Field(min_length=1)
    #: None: no deadline is published; the call is open until the administrator closes it.
    deadline: AwareDatetime | None = None
    #: Set by the administrator (``se4u calls set ID --close``) to stop taking applications.
    closed: bool = False
    organisation_types: list[OrganisationType] = Field(min_length=1)
    country_list: str = Field(pattern=r"^[a-z0-9_]+$")
    issues_any_of: list[Issue] = Field(default_factory=list)
    #: None: the call sets no limit on the number of places.
    cohort_limit: int | None = Field(default=None, gt=0)

    def terms(self) -> str:
        """The deadline and the places, as an applicant reads them."""
        when = (f"Deadline: {self.deadline:%d %B %Y, %H:%M} UTC" if self.deadline else
                "No deadline is set: applications are taken until the course team closes the call")
        places = f"{self.cohort_limit} places" if self.cohort_limit else "no fixed number of places"
        return "This call is closed." if self.closed else f"{when} · {places}."

    @property
    def countries(self) -> list[str]:
        """The countries whose applicants may apply."""
        return load_country_list(self.country_list).countries


def normalise_country(name: str) -> str:
    """A country name for comparing: typographic apostrophes made plain, case and spaces folded."""
    name = unicodedata.normalize("NFKC", name).replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(name.casefold().split())


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ApplicationError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ApplicationError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None


def _invalid(path: Path, exc: ValidationError) -> ApplicationError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "the file"
    return ApplicationError(f"{path}: field {where!r}: {first['msg']}")


@lru_cache(maxsize=16)
def load_country_list(name: str, folder: Path = DATA_DIR) -> CountryList:
    """The country list ``data/<name>.yaml``, validated."""
    path = folder / f"{name}.yaml"
    try:
        return CountryList.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _invalid(path, exc) from None


def load_call(call_id: str, folder: Path | None = None) -> Call:
    """The call ``data/calls/<call_id>.yaml`` (or in ``folder``), validated (its country list too)."""
    folder = folder or CALLS_DIR
    path = folder / f"{call_id}.yaml"
    if not re.fullmatch(r"[a-z0-9_-]+", call_id) or not path.is_file():
        known = ", ".join(sorted(p.stem for p in folder.glob("*.yaml"))) or "none"
        raise ApplicationError(f"there is no call {call_id!r}; the calls are: {known}")
    try:
        call = Call.model_validate(_read_yaml(path))
    except ValidationError as exc:
        raise _invalid(path, exc) from None
    if call.id != path.stem:
        raise ApplicationError(f"{path}: field 'id' is {call.id!r} but the file is named {path.stem!r}")
    call.countries  # noqa: B018 - a call with a missing country list fails here, not at the first applicant
    return call


def load_calls(folder: Path | None = None) -> list[Call]:
    """Every call: those with a deadline first, soonest first, then the open-ended ones by name."""
    folder = folder or CALLS_DIR
    calls = [load_call(p.stem, folder) for p in folder.glob("*.yaml")]
    latest = datetime.max.replace(tzinfo=UTC)
    return sorted(calls, key=lambda c: (c.deadline is None, c.deadline or latest, c.id))


_UNCHANGED: Any = object()


def set_call_terms(call_id: str, *, deadline: datetime | None = _UNCHANGED,
                   cohort_limit: int | None = _UNCHANGED, closed: bool = _UNCHANGED,
                   folder: Path | None = None) -> Call:
    """Set a call's deadline, number of places or closed state in its file (comments kept); the new call.

    The file is replaced only once the new version validates, so a bad value changes nothing.
    """
    folder = folder or CALLS_DIR
    path = folder / f"{load_call(call_id, folder).id}.yaml"
    text = path.read_text(encoding="utf-8")
    updates = {"deadline": deadline, "cohort_limit": cohort_limit, "closed": closed}
    for key, value in updates.items():
        if value is _UNCHANGED:
            continue
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ApplicationError(f"the {key} needs a time zone, e.g. 2027-01-31T23:59:59+00:00")
        shown = ("null" if value is None else str(value).lower() if isinstance(value, bool)
                 else value.isoformat() if isinstance(value, datetime) else str(value))
        line = f"{key}: {shown}"
        text, found = re.subn(rf"(?m)^{key}:.*$", line, text)
        if not found:
            text = text.rstrip("\n") + f"\n{line}\n"
    try:
        call = Call.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise _invalid(path, exc) from None
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return call


# ==================================================================================================
# Eligibility
# ==================================================================================================
class ApplicationForm(BaseModel):
    """What an applicant gives on the form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field(min_length=1, max_length=300)
    organisation_type: OrganisationType
    country: str = Field(min_length=1, max_length=100)
    issues: list[Issue] = Field(default_factory=list)
    motivation: str = Field(default="", max_length=5000)
    email: str = Field(max_length=254)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError("enter an e-mail address such as name@example.org")
        return value


@dataclass(frozen=True)
class Reason:
    """Why an application is not eligible: a rule's code and a sentence for the applicant."""

    rule: Literal["organisation_type", "country", "issues", "closed", "deadline", "cohort_full"]
    message: str


def check_eligibility(call: Call, form: ApplicationForm, *, now: datetime | None = None,
                      admitted: int = 0) -> list[Reason]:
    """Every rule of the call the application does not meet; empty when it is eligible.

    ``admitted`` is how many applicants of this call are already accepted or enrolled.
    """
    now = now or datetime.now(UTC)
    reasons = []
    if call.closed:
        reasons.append(Reason("closed", "This call is closed: the course team no longer takes applications."))
    if call.deadline is not None and now > call.deadline:
        reasons.append(Reason("deadline", f"The deadline of this call was "
                                          f"{call.deadline:%d %B %Y, %H:%M} UTC; applications are closed."))
    if call.cohort_limit is not None and admitted >= call.cohort_limit:
        reasons.append(Reason("cohort_full", f"The cohort is full: all {call.cohort_limit} places of this "
                                             "call are taken."))
    if form.organisation_type not in call.organisation_types:
        allowed = ", ".join(ORGANISATION_TYPES[t] for t in call.organisation_types)
        reasons.append(Reason("organisation_type", f"This call is open to: {allowed}. "
                                                   f"{ORGANISATION_TYPES[form.organisation_type]} "
                                                   "applicants are not covered."))
    wanted = normalise_country(form.country)
    if not any(normalise_country(c) == wanted for c in call.countries):
        reasons.append(Reason("country", f"Applicants based in {form.country} are not covered by this "
                                         f"call; it is open to {load_country_list(call.country_list).name}."))
    if call.issues_any_of and not set(form.issues) & set(call.issues_any_of):
        needed = ", ".join(ISSUES[i] for i in call.issues_any_of)
        reasons.append(Reason("issues", f"This call asks that you work on at least one of: {needed}."))
    return reasons


# ==================================================================================================
# The applications table
# ==================================================================================================
metadata = MetaData()
applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("call", String(64), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("organisation", String(300), nullable=False),
    Column("organisation_type", String(40), nullable=False),
    Column("country", String(100), nullable=False),
    Column("issues", Text, nullable=False),
    Column("motivation", Text, nullable=False),
    Column("email", String(254), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("reasons", Text, nullable=False, default=""),
    Column("learner", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
)


def applications_url() -> str:
    """Where applications are kept: ``$SE4U_APPLICATIONS``, the config file's ``applications``, the store."""
    from se4u.config import _read_config, load_settings, store_url_from

    value = os.environ.get("SE4U_APPLICATIONS") or _read_config().get("applications")
    return store_url_from(str(value)) if value else load_settings().store_url


class ApplicationBook:
    """The applications of every call, in one table."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or applications_url()
        try:
            self.engine: Engine = open_engine(self.url, metadata)
        except (SQLAlchemyError, OSError) as exc:
            raise ApplicationError(f"the applications database cannot be opened: {exc}") from None

    def admitted(self, call: str) -> int:
        """How many applicants of the call are accepted or enrolled."""
        query = select(func.count()).select_from(applications).where(
            applications.c.call == call, applications.c.status.in_(("accepted", "enrolled")))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def submit(self, call: Call, form: ApplicationForm, *, now: datetime | None = None,
               ) -> tuple[int, list[Reason]]:
        """Keep the application (ineligible ones too, with their reasons); its id and the reasons."""
        now = now or datetime.now(UTC)
        reasons = check_eligibility(call, form, now=now, admitted=self.admitted(call.id))
        row = form.model_dump()
        row.update(call=call.id, issues=json.dumps(form.issues), created_at=now,
                   status="ineligible" if reasons else "submitted",
                   reasons=" ".join(r.message for r in reasons))
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(applications.insert().values(**row)).inserted_primary_key[0]
        except SQLAlchemyError as exc:
            raise ApplicationError(f"the application could not be saved: {exc}") from None
        return int(new_id), reasons

    def search(self, *, call: str | None = None, status: str | None = None,
             country: str | None = None) -> list[dict[str, Any]]:
        """Applications, oldest first, optionally only one call, status or country."""
        query = select(applications).order_by(applications.c.id)
        if call:
            query = query.where(applications.c.call == call)
        if status:
            query = query.where(applications.c.status == status)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        if country:
            rows = [r for r in rows if normalise_country(r["country"]) == normalise_country(country)]
        for row in rows:
            row["issues"] = json.loads(row["issues"] or "[]")
        return rows

    def get(self, app_id: int) -> dict[str, Any]:
        """One application; ApplicationError if there is none with this id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(applications).where(applications.c.id == app_id)).first()
        if row is None:
            raise ApplicationError(f"there is no application {app_id}")
        return dict(row._mapping)

    def decide(self, app_id: int, status: Literal["accepted", "rejected"], reason: str = "") -> None:
        """Accept or reject an application (an enrolled applicant stays enrolled)."""
        row = self.get(app_id)
        if row["status"] == "enrolled":
            raise ApplicationError(f"application {app_id} is already enrolled in the cohort")
        values: dict[str, Any] = {"status": status, "decided_at": datetime.now(UTC)}
        if reason:
            values["reasons"] = reason
        with self.engine.begin() as conn:
            conn.execute(applications.update().where(applications.c.id == app_id).values(**values))

    def enrol(self, app_id: int, learner: str) -> None:
        """Mark an accepted application as enrolled under the learner id it was given."""
        with self.engine.begin() as conn:
            conn.execute(applications.update().where(applications.c.id == app_id)
                         .values(status="enrolled", learner=learner))

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()


# ==================================================================================================
# The application form (notebooks/apply.md)
# ==================================================================================================
def _countries_of(calls: list[Call]) -> list[str]:
    names: dict[str, str] = {}
    for call in calls:
        for country in call.countries:
            names.setdefault(normalise_country(country), country)
    return sorted(names.values(), key=normalise_country)


def result_html(call: Call, reasons: list[Reason], app_id: int | None = None) -> str:
    """What the applicant reads after sending the form: received, or every reason it is not eligible."""
    if not reasons:
        return (f"<div role='status' class='se4u-apply-ok'><strong>Thank you, your application to "
                f"“{html.escape(call.title)}” is received</strong> (number {app_id}). The course team "
                "will write to you by e-mail after the selection.</div>")
    items = "".join(f"<li>{html.escape(r.message)}</li>" for r in reasons)
    return ("<div role='alert' class='se4u-apply-refused'><strong>Your application is not eligible for "
            f"“{html.escape(call.title)}”:</strong><ul>{items}</ul></div>")


def application_form(call_id: str | None = None) -> Any:
    """The application form: a call, the applicant's details, a send button and the answer."""
    import ipywidgets as widgets

    from se4u.notebook import problem

    try:
        calls = [load_call(call_id)] if call_id else load_calls()
    except ApplicationError as exc:
        return problem(str(exc))
    if not calls:
        return problem("there is no open call for applications.")
    style = {"description_width": "12rem"}
    layout = widgets.Layout(width="100%", max_width="40rem")
    call = widgets.Dropdown(options=[(c.title, c.id) for c in calls], value=calls[-1].id,
                            description="Call", style=style, layout=layout)
    name = widgets.Text(description="Your name", style=style, layout=layout)
    email = widgets.Text(description="Contact e-mail", style=style, layout=layout)
    organisation = widgets.Text(description="Organisation name", style=style, layout=layout)
    org_type = widgets.Dropdown(options=[(v, k) for k, v in ORGANISATION_TYPES.items()],
                                description="Organisation type", style=style, layout=layout)
    country = widgets.Dropdown(options=[("Choose your country", ""), *[(c, c) for c in _countries_of(calls)],
                                        ("Another country", "Another country")],
                               description="Country (based in)", style=style, layout=layout)
    issues = [widgets.Checkbox(description=label, indent=False, layout=widgets.Layout(width="auto"))
              for label in ISSUES.values()]
    motivation = widgets.Textarea(description="Motivation", placeholder="Why do you want to take part?",
                                  style=style, layout=widgets.Layout(width="100%", max_width="40rem",
                                                                     height="8rem"))
    send = widgets.Button(description="Send my application", button_style="primary")
    answer = widgets.HTML()
    deadline = widgets.HTML()

    def show_deadline(_change: Any = None) -> None:
        chosen = next(c for c in calls if c.id == call.value)
        deadline.value = f"<p>{html.escape(chosen.terms())}</p>"

    def on_send(_button: Any) -> None:
        chosen = next(c for c in calls if c.id == call.value)
        try:
            form = ApplicationForm(name=name.value, organisation=organisation.value,
                                   organisation_type=org_type.value, country=country.value,
                                   issues=[k for k, box in zip(ISSUES, issues, strict=True) if box.value],
                                   motivation=motivation.value, email=email.value)
        except ValidationError as exc:
            problems = "".join(
                f"<li>{html.escape(LABELS.get(str(e['loc'][0]), str(e['loc'][0])))}: "
                f"{html.escape(e['msg'].removeprefix('Value error, '))}</li>" for e in exc.errors())
            answer.value = (f"<div role='alert'><strong>Please check the form:</strong><ul>{problems}</ul>"
                            "</div>")
            return
        try:
            book = ApplicationBook()
            try:
                app_id, reasons = book.submit(chosen, form)
            finally:
                book.close()
        except ApplicationError as exc:
            answer.value = (f"<div role='alert'>{html.escape(str(exc))} Nothing was sent; "
                            "please try again.</div>")
            return
        answer.value = result_html(chosen, reasons, app_id)

    call.observe(show_deadline, names="value")
    show_deadline()
    send.on_click(on_send)
    issues_box = widgets.VBox([widgets.HTML("<strong>Issues you work on</strong>"), *issues])
    return widgets.VBox([call, deadline, name, email, organisation, org_type, country, issues_box,
                         motivation, send, answer], layout=widgets.Layout(max_width="42rem"))
