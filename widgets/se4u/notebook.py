"""What a notebook cell calls: an activity by bank and id, or a clear message instead of a traceback."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets
from IPython.display import HTML

from se4u.banks import BankError, ForumAssignmentSpec, load_bank
from se4u.config import ConfigError, load_settings
from se4u.course import load_course, requirements_html, workload_table_html
from se4u.store import StoreError


def _ready_for_learner() -> None:
    """Pages computed from the learner's records wait for the learner's request first."""
    from se4u.activity import learner_arrived as arrived

    arrived()


def learner_arrived() -> None:
    """The last cell of every course page: in a preheated kernel, restore answers for this learner."""
    _ready_for_learner()


def widget_classes() -> dict[str, type]:
    """The widget class of every activity type that has one."""
    from se4u.choice import MultipleChoice
    from se4u.essay import ShortEssay
    from se4u.placing import DragTheWords, DragToCategories, JigsawPuzzle, MatchPairs, OrderItems
    from se4u.survey import ChecklistItem, FreeTextItem, LikertItem, NumberItem

    return {
        "multiple_choice": MultipleChoice,
        "short_essay": ShortEssay,
        "likert": LikertItem,
        "free_text": FreeTextItem,
        "number": NumberItem,
        "checklist": ChecklistItem,
        "drag_to_categories": DragToCategories,
        "order_items": OrderItems,
        "match_pairs": MatchPairs,
        "drag_the_words": DragTheWords,
        "jigsaw": JigsawPuzzle,
    }


def problem(message: str) -> HTML:
    """A visible, escaped message for a learner or an author, announced to screen readers."""
    return HTML(
        "<div role='alert' class='se4u-problem' style='border-left:4px solid #c62828;"
        "padding:0.5rem 0.75rem;margin:0.5rem 0'><strong>This activity cannot be shown.</strong> "
        f"{html.escape(message)}</div>")


def forum_assignment(spec: ForumAssignmentSpec, thread: str = "") -> HTML:
    """A forum assignment: its prompt, what counts as taking part, and (on a hub) a link to the thread."""
    import os
    rule = []
    if spec.min_posts:
        rule.append(f"{spec.min_posts} post{'s' if spec.min_posts > 1 else ''} of your own")
    if spec.min_replies:
        rule.append(f"{spec.min_replies} repl{'ies' if spec.min_replies > 1 else 'y'} to others")
    title = html.escape(spec.title or "Discussion forum assignment")
    return HTML(
        f"<section class='se4u-forum' aria-label='{title}'><h3>{title}</h3>"
        f"<p>{html.escape(spec.prompt)}</p>"
        f"<p><em>To complete it: {html.escape(' and '.join(rule) or 'take part')}.</em></p>"
        f"{_forum_link(os.environ.get('SE4U_SERVICE_URL', ''), thread)}</section>")


def _forum_link(service_url: str, thread: str) -> str:
    """A link to the thread in the course service's forum, when the course runs on a hub."""
    if not service_url or not thread:
        return ""
    from urllib.parse import quote

    app = html.escape(f"forum.ipynb?thread={quote(thread, safe='')}", quote=True)
    href = html.escape(service_url.rstrip("/") + "/forum/" + thread, quote=True)
    return (f"<p><a href='{app}'>Open the discussion in the course forum</a> "
            f"(or <a href='{href}' target='_blank' rel='noopener'>as a plain web page</a>)</p>")


def activity(bank_name: str, activity_id: str, **kwargs: Any) -> ipywidgets.DOMWidget | HTML:
    """The widget for ``activity_id`` of bank ``bank_name``, restored to the learner's last answer."""
    try:
        settings = load_settings()
        bank = load_bank(bank_name, settings.banks_dir)
        spec = bank.get(activity_id)
    except (BankError, ConfigError) as exc:
        return problem(str(exc))
    if isinstance(spec, ForumAssignmentSpec):
        return forum_assignment(spec, bank.key(activity_id))
    cls = widget_classes().get(spec.type)
    if cls is None:
        return problem(f"activities of type {spec.type!r} have no widget in this version.")
    try:
        return cls(spec, key=bank.key(activity_id), learner=settings.learner, **kwargs)
    except StoreError as exc:
        return problem(str(exc))


def mark_as_read(part: str, section: str, title: str = "", minutes: int = 0) -> ipywidgets.DOMWidget | HTML:
    """The "mark as read" control for one reading section of a course part."""
    from se4u.reading import MarkAsRead

    try:
        settings = load_settings()
        return MarkAsRead(part=part, section=section, learner=settings.learner, title=title,
                          minutes=minutes)
    except (ConfigError, StoreError, ValueError) as exc:
        return problem(str(exc))


SURVEY_TYPES = frozenset({"likert", "free_text", "number", "checklist"})


def survey_submit(bank_name: str) -> ipywidgets.DOMWidget | HTML:
    """The button that submits the survey in bank ``bank_name``; its answers are final afterwards."""
    from se4u.survey import SurveySubmit

    try:
        settings = load_settings()
        bank = load_bank(bank_name, settings.banks_dir)
        keys = [bank.key(a.id) for a in bank.activities if a.type in SURVEY_TYPES]
        return SurveySubmit(bank.bank, keys, learner=settings.learner)
    except (BankError, ConfigError, StoreError) as exc:
        return problem(str(exc))


def workload_table() -> HTML:
    """The course's parts and planned workload, from the one course file."""
    return HTML(workload_table_html())


def completion_requirements(cohort: str = "self_paced") -> HTML:
    """The completion requirements of a kind of cohort, from the one course file."""
    return HTML(requirements_html(cohort, load_course()))


def glossary(module: str | None = None) -> HTML:
    """The course glossary (or one module's key terms), from notebooks/glossary/."""
    from se4u.glossary import GlossaryError, glossary_html

    try:
        return HTML(glossary_html(module))
    except GlossaryError as exc:
        return problem(str(exc))


def _learner_progress():
    from se4u.progress import course_progress
    from se4u.store import default_store

    _ready_for_learner()
    settings = load_settings()
    return course_progress(default_store(), settings.learner)


def course_home() -> HTML:
    """The course map with the learner's progress in every part and the suggested next step."""
    from se4u.progress import home_html

    try:
        return HTML(home_html(_learner_progress()))
    except (ConfigError, StoreError) as exc:
        return problem(str(exc))


def my_progress(cohort: str = "self_paced") -> HTML:
    """The learner's progress per module and per requirement, with their own certificate once issued.

    On a hub the course service holds the certificates: the page asks it (as this learner) and links
    its download; on one learner's computer the local register's PDF is embedded in the page.
    """
    from se4u.certificates import CertificateError, Register, learner_progress_html
    from se4u.progress import progress_html

    try:
        parts = _learner_progress()
        settings = load_settings()
        on_hub = _hub_certificate_link()
        if on_hub:
            status = dict.fromkeys((r.id for r in load_course().requirements_for(cohort)), True)
            return HTML(progress_html(parts, cohort, status=status, certificate_url=on_hub))
        try:
            register = Register(settings.store_url)
        except CertificateError:
            return HTML(progress_html(parts, cohort))
        return HTML(learner_progress_html(parts, settings.learner, cohort, register))
    except (ConfigError, StoreError) as exc:
        return problem(str(exc))


def _hub_certificate_link() -> str:
    """The course service's download link when it holds a certificate for this learner, else ""."""
    from urllib.parse import urlsplit

    from se4u.records import ServiceUnavailableError, service_request, service_target

    target = service_target()
    if target is None:
        return ""
    try:
        status, answer = service_request("GET", "api/certificate", timeout=3, target=target)
    except ServiceUnavailableError:
        return ""  # the requirement list still shows; the link comes back with the service
    if status != 200 or not isinstance(answer, dict):
        return ""
    # a path, not the hub's internal address: the browser reaches the service through the proxy
    return urlsplit(target[0]).path + "certificate"
