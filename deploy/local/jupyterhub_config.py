"""JupyterHub for one SE4U cohort on one machine (started by `se4u hub`, which sets the SE4U_* variables).

- PAM sign-in with the machine's accounts; each learner's server runs as that learner's own system
  user (LocalProcessSpawner), so learners cannot read each other's homes or answers;
- the course service (forum, progress records) as a hub-managed service at /services/se4u/,
  identity only through the hub (OAuth for browsers, API tokens for kernels);
- the hub group `instructors` marks the instructors; an nbgrader exchange shared by the cohort;
- before a server starts, the course pages are put into the user's ``~/se4u-course`` and the user
  lands on its home page, served by Voilà's server extension with the course template.
"""

import os
from pathlib import Path

from se4u.apps import TEMPLATE_ROOT
from se4u.service.hub import COURSE_FOLDER, install_course_for

c = get_config()  # noqa: F821

env = os.environ
state = env["SE4U_HUB_STATE"]
learners = [n for n in env.get("SE4U_HUB_LEARNERS", "").split(",") if n]
instructors = [n for n in env.get("SE4U_HUB_INSTRUCTORS", "").split(",") if n]
public_url = f"http://127.0.0.1:{env['SE4U_HUB_PORT']}"

# --- where the hub listens and keeps its state (loopback unless SE4U_HUB_IP says otherwise) ----------
c.JupyterHub.bind_url = f"http://{env.get('SE4U_HUB_IP', '127.0.0.1')}:{env['SE4U_HUB_PORT']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{env['SE4U_HUB_INTERNAL_PORT']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{env['SE4U_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [env["SE4U_PROXY"]]
c.JupyterHub.db_url = f"sqlite:///{state}/hub/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{state}/hub/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{state}/hub/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True

# --- who may sign in --------------------------------------------------------------------------------
c.JupyterHub.authenticator_class = "se4u.service.authenticator.CohortAuthenticator"
c.PAMAuthenticator.open_sessions = False
c.Authenticator.allowed_users = set(learners + instructors)
# learners enrolled by `se4u cohort create` while the hub runs may sign in at once
c.CohortAuthenticator.users_file = env.get("SE4U_HUB_USERS_FILE", "")
c.JupyterHub.load_groups = {
    "instructors": {"users": instructors},
    "learners": {"users": learners},
}

# --- one system user per learner ------------------------------------------------------------------
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(Path(env["SE4U_PYTHON"]).parent / "jupyterhub-singleuser")]
# a learner lands on the course home as a code-free Voilà app; JupyterLab stays one click away (/lab)
c.Spawner.default_url = f"/voila/render/{COURSE_FOLDER}/home.ipynb"
c.Spawner.pre_spawn_hook = install_course_for
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.environment = {
    # kernels send progress records to the course service with their own hub token
    "SE4U_SERVICE_URL": f"{public_url}/services/se4u/",
    # nbgrader finds the cohort's exchange folder here, Voilà the course template settings
    "JUPYTER_CONFIG_PATH": f"{state}/etc-jupyter",
    "JUPYTER_PATH": str(TEMPLATE_ROOT),
    # the course's tools first (nbgrader runs `alembic` from PATH for the gradebook)
    "PATH": os.pathsep.join([str(Path(env["SE4U_PYTHON"]).parent), env.get("PATH", "/usr/bin:/bin")]),
}
# the server's token may reach the course service too (kernels post records with it)
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!server",
    "access:services!service=se4u",
    "read:users:name!user",
    "read:users:groups!user",
]

# --- the course service ---------------------------------------------------------------------------
c.JupyterHub.services = [
    {
        "name": "se4u",
        "display": True,
        "oauth_no_confirm": True,
        "url": f"http://127.0.0.1:{env['SE4U_SERVICE_PORT']}",
        "command": [env["SE4U_PYTHON"], "-m", "se4u.service"],
        "environment": {
            "SE4U_SERVICE_DB": env["SE4U_SERVICE_DB"],
            "SE4U_INSTRUCTORS_GROUP": "instructors",
            # the certificate signing key is made on first use in the service's private folder
            "XDG_CONFIG_HOME": f"{state}/service",
            "SE4U_VERIFY_URL": env.get("SE4U_VERIFY_URL") or f"{public_url}/services/se4u/verify",
            "PYTHONUNBUFFERED": "1",
            **({"SE4U_BANKS": env["SE4U_BANKS"]} if env.get("SE4U_BANKS") else {}),
        },
    },
]
c.JupyterHub.load_roles = [
    # every user may use the course service (forum, own records)
    {"name": "user", "scopes": ["self", "access:services!service=se4u"]},
    # the service may look up the cohort's names and groups (for instructors' views)
    {"name": "se4u-service", "services": ["se4u"],
     "scopes": ["list:users", "read:users:name", "read:users:groups", "read:groups"]},
]

# an API client for tests and the load benchmark (never set in a real cohort)
if env.get("SE4U_HUB_ADMIN_TOKEN"):
    c.JupyterHub.services.append({"name": "se4u-admin", "api_token": env["SE4U_HUB_ADMIN_TOKEN"]})
    c.JupyterHub.load_roles.append({
        "name": "se4u-admin", "services": ["se4u-admin"],
        "scopes": ["admin:users", "admin:servers", "admin:server_state", "tokens", "admin:groups", "list:users",
                   "read:users", "access:services"],
    })
