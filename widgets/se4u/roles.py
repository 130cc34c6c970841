"""Who is an instructor: the hub group ``instructors`` on a hub, else the environment or the config file.

On a JupyterHub (``JUPYTERHUB_USER`` set) the hub decides: the user's groups are read from the hub
API (``GET $JUPYTERHUB_API_URL/user`` with ``$JUPYTERHUB_API_TOKEN``; the server token needs the
``read:users:groups!user`` scope, as deploy/local/jupyterhub_config.py grants). When the hub cannot
be asked (no token, no answer, no groups in the answer), and off a hub, a user is an instructor
when ``SE4U_ROLE=instructor`` or their id is in ``instructors = [...]`` of the config file.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

INSTRUCTORS_GROUP = "instructors"


@dataclass(frozen=True)
class Role:
    """The decision and how it was reached (shown to nobody but logged for the instructor)."""

    user: str
    instructor: bool
    source: str


def hub_groups(env: Mapping[str, str], timeout: float = 5.0) -> list[str] | None:
    """The hub user's groups from the hub API, or None when the hub cannot tell."""
    token, api = env.get("JUPYTERHUB_API_TOKEN"), env.get("JUPYTERHUB_API_URL")
    if not token or not api:
        return None
    request = urllib.request.Request(f"{api.rstrip('/')}/user",  # noqa: S310 - the hub's own URL
                                     headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            model = json.loads(answer.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    groups = model.get("groups") if isinstance(model, dict) else None
    return [str(g) for g in groups] if isinstance(groups, list) else None


def configured_instructors() -> list[str]:
    """The ``instructors`` list of the config file (empty when there is none)."""
    from se4u.config import _read_config

    value = _read_config().get("instructors", [])
    return [str(v) for v in value] if isinstance(value, list) else []


def current_role(env: Mapping[str, str] | None = None) -> Role:
    """Whether the current user is an instructor, and why."""
    from se4u.config import current_learner

    env = os.environ if env is None else env
    user = env.get("JUPYTERHUB_USER") or env.get("SE4U_LEARNER") or current_learner()
    if env.get("JUPYTERHUB_USER"):
        groups = hub_groups(env)
        if groups is not None:
            return Role(user, INSTRUCTORS_GROUP in groups, "hub group")
    if env.get("SE4U_ROLE", "").strip().casefold() == "instructor":
        return Role(user, True, "SE4U_ROLE")
    if user in configured_instructors():
        return Role(user, True, "config file")
    return Role(user, False, "not listed as an instructor")


def refusal_html(role: Role) -> str:
    """The message a learner sees on an instructors-only page."""
    import html

    return ("<div role='alert' class='se4u-problem se4u-refused' style='border-left:4px solid "
            "var(--jp-error-color1, #c62828);padding:0.5rem 0.75rem;margin:0.5rem 0'>"
            "<strong>This page is for the course's instructors only.</strong> "
            f"You are signed in as {html.escape(role.user)}, who is not an instructor of this course. "
            "Your own progress is on the <a href='progress.ipynb'>My progress</a> page.</div>")
