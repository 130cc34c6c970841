"""Where the course keeps its files and who the learner is, from the environment or a config file."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

import tomllib

PACKAGE_DIR = Path(__file__).resolve().parent
#: The repository checkout the package was installed from (editable installs), if there is one.
REPO_DIR = PACKAGE_DIR.parent.parent


class ConfigError(Exception):
    """The config file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Settings:
    """The settings a kernel needs: the store's URL, the learner's id and the banks folder."""

    store_url: str
    learner: str
    banks_dir: Path


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def config_path() -> Path:
    """The config file: ``$SE4U_CONFIG``, else ``~/.config/se4u/config.toml``."""
    if os.environ.get("SE4U_CONFIG"):
        return Path(os.environ["SE4U_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "se4u" / "config.toml"


def _read_config() -> dict[str, object]:
    path = config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"{path}: cannot read the course config file: {exc}") from None
    section = data.get("se4u", data)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: the [se4u] section must be a table")
    return section


def store_url_from(value: str) -> str:
    """A SQLAlchemy URL from either a URL or a plain file path (a path means SQLite)."""
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def current_learner() -> str:
    """The learner's id: the hub user, else ``$SE4U_LEARNER``, else the system user."""
    for name in ("JUPYTERHUB_USER", "SE4U_LEARNER"):
        if os.environ.get(name):
            return os.environ[name]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "learner"


def default_banks_dir() -> Path:
    """The activity banks: ``$SE4U_BANKS``, else ``banks/`` beside the notebook, else the course's."""
    if os.environ.get("SE4U_BANKS"):
        return Path(os.environ["SE4U_BANKS"])
    here = Path.cwd() / "banks"
    if here.is_dir():
        return here
    return REPO_DIR / "notebooks" / "banks"


def load_settings() -> Settings:
    """Settings from the environment first, then the config file, then the defaults."""
    config = _read_config()
    store = os.environ.get("SE4U_STORE") or config.get("store")
    if store is None:
        store = str(_data_home() / "se4u" / "responses.sqlite")
    learner = current_learner()
    banks = os.environ.get("SE4U_BANKS") or config.get("banks")
    banks_dir = Path(str(banks)) if banks else default_banks_dir()
    return Settings(store_url=store_url_from(str(store)), learner=learner, banks_dir=banks_dir)
