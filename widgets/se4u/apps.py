"""How the learner apps are served: Voilà with the course template and preheated kernels."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from se4u.config import REPO_DIR

TEMPLATE_ROOT = REPO_DIR / "share" / "jupyter"
#: Kernels kept ready per notebook; each is used once, then replaced.
DEFAULT_POOL_SIZE = 1
#: JupyterLab extensions installed for authors and instructors that a course page never uses.
AUTHOR_EXTENSIONS = ("@jupyter/nbgrader", "jupyterlab-jupytext", "@jupyter-notebook/lab-extension",
                     "@voila-dashboards/jupyterlab-preview")
#: Pages opened rarely enough that a kernel kept waiting for them would only cost memory.
#: The forum and the instructor's dashboard show what others wrote just now, so they are never
#: prepared in advance (and the dashboard's pandas would cost every server memory for nothing).
NOT_PREHEATED = ("gallery.ipynb", "glossary.ipynb", "progress.ipynb", "exit_survey.ipynb", "forum.ipynb",
                 "instructor.ipynb", "apply.ipynb")


def voila_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment Voilà needs to find the course template (without losing other paths)."""
    env = dict(os.environ if base is None else base)
    paths = [str(TEMPLATE_ROOT), *filter(None, env.get("JUPYTER_PATH", "").split(os.pathsep))]
    env["JUPYTER_PATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


#: Files a page may load besides notebooks (the course's pictures).
FILE_ALLOWLIST = r".*\.(png|jpg|jpeg|svg|gif|webp)"


def voila_command(root: Path, *, port: int, host: str = "127.0.0.1", preheat: bool = True,
                  pool_size: int = DEFAULT_POOL_SIZE, template: str | None = "se4u") -> list[str]:
    """The Voilà command line serving every notebook under ``root`` as a code-free app."""
    voila = shutil.which("voila", path=str(Path(sys.executable).parent)) or "voila"
    cmd = [voila, str(root), f"--Voila.ip={host}", f"--port={port}", "--no-browser",
           "--Voila.port_retries=0", "--theme=light", "--show_tracebacks=False",
           f"--VoilaConfiguration.file_allowlist={FILE_ALLOWLIST}"]
    if template:
        cmd.append(f"--template={template}")
        # Extensions for authors (nbgrader, jupytext, …) would only slow a learner's page down.
        cmd += [f"--VoilaConfiguration.extension_denylist={name}" for name in AUTHOR_EXTENSIONS]
    if preheat:
        cmd += ["--preheat_kernel=True", f"--pool_size={pool_size}"]
        cmd += [f"--VoilaKernelManager.preheat_denylist={name}" for name in NOT_PREHEATED]
    return cmd


def server_extension_config() -> str:
    """A ``jupyter_server_config.py`` that makes a JupyterLab server's ``/voila/render/…`` pages course apps.

    On a hub each learner's JupyterLab serves the same pages as ``se4u start`` (course template, no
    tracebacks) through Voilà's server extension; its kernels start on demand (no preheating there).
    """
    settings = {"template": "se4u", "theme": "light", "show_tracebacks": False,
                "file_allowlist": [FILE_ALLOWLIST], "extension_denylist": list(AUTHOR_EXTENSIONS)}
    lines = ["c = get_config()  # noqa: F821"]
    lines += [f"c.VoilaConfiguration.{name} = {value!r}" for name, value in settings.items()]
    return "\n".join(lines) + "\n"


def wait_for_learner() -> None:
    """In a preheated kernel, pause until a learner opens the page, so answers are restored fresh.

    Everything imported before this call is ready when the page is requested; everything after it
    (restoring the learner's saved answers) happens for that request. Outside a preheated Voilà
    kernel this returns at once.
    """
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    # Voilà's own helper (voila.utils.wait_for_request) imports the whole server stack into the
    # kernel (about 45 MB per learner); the protocol is one websocket message, so speak it here.
    import json

    from websockets.sync.client import connect

    env = os.environ
    base = env.get("VOILA_WS_BASE_URL") or env.get("VOILA_SERVER_URL", "/")
    url = (f"{env.get('VOILA_WS_PROTOCOL', 'ws')}://{env.get('VOILA_APP_IP', '127.0.0.1')}:"
           f"{env.get('VOILA_APP_PORT', '8866')}{base}voila/query/{env.get('VOILA_KERNEL_ID', '')}")
    try:
        with connect(url, open_timeout=10, max_size=2**20) as socket:
            info = json.loads(socket.recv())
    except (OSError, TimeoutError, ValueError):
        return  # the page still works; it just was not told about the request
    if isinstance(info, dict):
        for key, value in info.items():
            if isinstance(value, str):
                os.environ[key] = value
