"""Root pytest configuration: every kernel the tests start (nbval included) gets a throw-away store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Point kernels at a store under .pytest_cache, never at an author's own answers."""
    store_dir = Path(config.rootpath) / ".pytest_cache" / "se4u"
    store_dir.mkdir(parents=True, exist_ok=True)
    os.environ["SE4U_STORE"] = str(store_dir / f"run-{os.getpid()}.sqlite")
    os.environ["SE4U_LEARNER"] = "test-learner"
    os.environ.pop("JUPYTERHUB_USER", None)
    os.environ["SE4U_CONFIG"] = str(store_dir / "no-config.toml")
