"""Who may sign in to the cohort hub (imported by the hub process only: it needs JupyterHub)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyterhub.auth import PAMAuthenticator
from traitlets import Unicode

from se4u.admin import read_users
from se4u.applications import ApplicationError


class CohortAuthenticator(PAMAuthenticator):
    """PAM sign-in for the cohort: the accounts named at start, and the learners enrolled while the hub
    runs (``se4u cohort create`` writes the users file, which is read again at each sign-in)."""

    users_file = Unicode("", config=True, help="the cohort's hub_users.json (written by se4u cohort create)")

    def check_allowed(self, username: str, authentication: Any = None) -> bool:
        if super().check_allowed(username, authentication):
            return True
        if not self.users_file:
            return False
        try:
            learners = read_users(Path(self.users_file))["learners"]
        except ApplicationError as exc:
            self.log.warning("%s", exc)
            return False
        return any(isinstance(u, dict) and u.get("username") == username for u in learners)
