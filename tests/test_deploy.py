"""The Zero to JupyterHub files, checked where a machine without Kubernetes can check them.

The one-machine hub (deploy/local) is run end to end by test_hub_e2e; here the Kubernetes values are
held to the same roles, scopes, landing page and course install, and to JupyterHub's real names.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

from se4u.config import REPO_DIR

Z2JH = REPO_DIR / "deploy" / "zero-to-jupyterhub"


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((Z2JH / "values.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """deploy/local/jupyterhub_config.py loaded as JupyterHub loads it (with se4u hub's variables)."""
    import os

    env = {"SE4U_HUB_STATE": str(tmp_path_factory.mktemp("state")), "SE4U_HUB_PORT": "8000",
           "SE4U_HUB_INTERNAL_PORT": "8081", "SE4U_PROXY_API_PORT": "8001", "SE4U_SERVICE_PORT": "10101",
           "SE4U_SERVICE_DB": "sqlite://", "SE4U_PROXY": "chp", "SE4U_PYTHON": "/usr/bin/python3",
           "SE4U_HUB_LEARNERS": "a,b", "SE4U_HUB_INSTRUCTORS": "i"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        config = Config()
        source = (REPO_DIR / "deploy" / "local" / "jupyterhub_config.py").read_text(encoding="utf-8")
        exec(compile(source, "jupyterhub_config.py", "exec"), {"get_config": lambda: config})
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return config


def _known_scope(scope: str) -> bool:
    from jupyterhub.scopes import scope_definitions

    base, _, restriction = scope.partition("!")
    return base in scope_definitions and (not restriction or bool(
        re.fullmatch(r"(user|server|group=[\w-]+|service=[\w-]+|user=[\w-]+)", restriction)))


def test_every_scope_in_the_values_is_one_jupyterhub_knows(values):
    """Is every scope granted on Kubernetes a real JupyterHub scope with a valid restriction?"""
    scopes = [s for role in values["hub"]["loadRoles"].values() for s in role["scopes"]]
    assert scopes
    assert [s for s in scopes if not _known_scope(s)] == []


def test_kubernetes_grants_what_the_local_hub_grants(values, local):
    """Do learners and their servers get the same scopes on Kubernetes as on the tested local hub?"""
    roles = values["hub"]["loadRoles"]
    local_roles = {role["name"]: role for role in local.JupyterHub.load_roles}
    assert set(roles["user"]["scopes"]) == set(local_roles["user"]["scopes"])
    assert set(roles["se4u-service"]["scopes"]) == set(local_roles["se4u-service"]["scopes"])
    assert set(roles["server"]["scopes"]) == set(local.Spawner.server_token_scopes)


def test_learners_land_on_the_course_home_and_get_the_course_on_both(values, local):
    """Is the landing page the course home on both, and is the course installed by the same code?"""
    from se4u.cli import build_parser

    assert values["singleuser"]["defaultUrl"] == local.Spawner.default_url
    command = values["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[0] == "se4u"
    assert build_parser().parse_args(command[1:]).command == "install-course"


def test_the_hub_settings_name_real_jupyterhub_traits(values):
    """Does each hub.config section set traits that JupyterHub's classes really have?"""
    from jupyterhub.app import JupyterHub
    from jupyterhub.auth import Authenticator

    classes = {"JupyterHub": JupyterHub, "Authenticator": Authenticator}
    for section, settings in values["hub"]["config"].items():
        if section not in classes:
            continue  # the OAuthenticator classes are not installed here
        unknown = [name for name in settings if not classes[section].class_traits().get(name)]
        assert unknown == [], section
    for name, code in values["hub"]["extraConfig"].items():
        compile(code, name, "exec")


def test_the_image_enables_real_extensions_and_the_course_template():
    """Does the Dockerfile enable an importable nbgrader extension and the learners' Voilà settings?"""
    dockerfile = (Z2JH / "Dockerfile").read_text(encoding="utf-8")
    for module in re.findall(r"server extension enable --sys-prefix ([\w.]+)", dockerfile):
        importlib.import_module(module)
    assert "server_extension_config()" in dockerfile
    assert "JUPYTER_PATH=/opt/se4u/share/jupyter" in dockerfile
    assert (REPO_DIR / "share" / "jupyter" / "voila" / "templates" / "se4u").is_dir()


def test_install_course_command_fills_a_home(tmp_path, capsys):
    """Does `se4u install-course --home H` put the course into H/se4u-course and say how much?"""
    from se4u.cli import main
    from se4u.service.hub import COURSE_FOLDER

    assert main(["install-course", "--home", str(tmp_path)]) == 0
    assert (tmp_path / COURSE_FOLDER / "home.ipynb").is_file()
    assert "written to" in capsys.readouterr().out
    assert main(["install-course", "--home", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("0 file(s)")


def test_the_values_file_is_tidy():
    """Does the values file parse, and keep secrets out (no password or token values)?"""
    text = (Z2JH / "values.yaml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*(password|client_secret|api_token|apiToken)\s*:\s*\S", text, re.M)
    assert Path(Z2JH / "README.md").is_file()
