"""Fresh grading kernels in milliseconds: a kernel forked from a process that has imported everything.

Starting a Python kernel costs about half a second of CPU (the interpreter, IPython, ipykernel),
and a self-assessment test imports the course's widgets on top: together more than the grading
itself. A *zygote* process imports all of that once; each submission's kernel is a ``fork`` of it,
so every submission still gets a new kernel process with nothing of any other submission in it
(the zygote never runs a notebook, opens a socket or starts an event loop), but without paying
the imports again.

:class:`ForkedKernelManager` is jupyter_client's ``AsyncKernelManager`` with a provisioner that
asks the zygote to fork instead of launching a new interpreter; everything else (connection file,
channels, interrupt on timeout, shutdown) is jupyter_client's own, so nbclient and nbgrader's
``Execute`` drive it unchanged. If the zygote is gone, kernels are launched the ordinary way.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from jupyter_core.utils import ensure_async, run_sync
from traitlets import DottedObjectName

#: What the zygote imports before it forks: the kernel itself and what the tests' cells import.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipywidgets", "anywidget", "se4u.assessment",
           "se4u.marking")


class Zygote:
    """A child process that has imported :data:`PRELOAD` and forks a kernel on request."""

    def __init__(self) -> None:
        env = dict(os.environ, PYTHONWARNINGS="ignore")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "se4u.kernels"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)
        self._lock = threading.Lock()
        assert self.process.stdout is not None
        ready = self.process.stdout.readline()
        if ready.strip() != "ready":
            self.close()
            raise OSError("the kernel zygote did not start")

    def fork(self, connection_file: str, cwd: str, extra_arguments: list[str]) -> int:
        """A new kernel process for ``connection_file``; its pid (it leads its own process group)."""
        request = {"connection_file": connection_file, "cwd": cwd, "argv": extra_arguments,
                   "parent_pid": os.getpid()}
        with self._lock:
            if self.process.poll() is not None:
                raise OSError("the kernel zygote has exited")
            assert self.process.stdin is not None and self.process.stdout is not None
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        try:
            return int(json.loads(answer)["pid"])
        except (ValueError, KeyError, TypeError):
            raise OSError(f"the kernel zygote answered {answer!r}") from None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin:
                self.process.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class _ForkedProcess:
    """What the provisioner needs of a ``Popen`` for a kernel that is the zygote's child, not ours."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                state = "X"  # reaped by the zygote; its status is not ours to read
            if state in ("Z", "X"):
                self.returncode = 0
        return self.returncode

    def wait(self) -> int | None:
        return self.poll()

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkProvisioner(LocalProvisioner):
    """Launches the kernel by forking the zygote (the connection file is written as usual)."""

    zygote: Zygote | None = None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        zygote = type(self).zygote
        if zygote is None:
            return await super().launch_kernel(cmd, **kwargs)
        connection_file = self.parent.connection_file
        extra = [a for a in cmd if a.startswith("--")]  # the kernelspec's options; -f is ours
        try:
            pid = zygote.fork(connection_file, str(kwargs.get("cwd") or Path.cwd()), extra)
        except OSError:
            type(self).zygote = None
            return await super().launch_kernel(cmd, **kwargs)
        self.process = _ForkedProcess(pid)  # type: ignore[assignment]
        self.pid = self.pgid = pid
        self.cwd = kwargs.get("cwd", Path.cwd())
        return self.connection_info

    async def wait(self) -> int | None:
        """Wait until the kernel has ended (polled every 5 ms: a killed fork ends at once)."""
        import asyncio

        if not isinstance(self.process, _ForkedProcess):
            return await super().wait()
        while self.process.poll() is None:
            await asyncio.sleep(0.005)
        code = self.process.returncode
        self.process = None
        return code


class QuickReady:
    """``wait_for_ready`` without jupyter_client's closing 0.2 s wait for more IOPub messages.

    jupyter_client ends every ``wait_for_ready`` by waiting until IOPub has been quiet for 0.2 s, so
    each submission would idle 0.2 s per client. nbclient ignores messages that do not answer its
    own requests, so draining what has already arrived is enough.
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()  # type: ignore[attr-defined]
            try:
                msg = await ensure_async(self.shell_channel.get_msg(timeout=1))  # type: ignore[attr-defined]
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:  # IOPub is connected once it delivers the kernel_info's status messages
                    await ensure_async(self.iopub_channel.get_msg(timeout=0.2))  # type: ignore[attr-defined]
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(msg)  # type: ignore[attr-defined]
                    break
            if not await self._async_is_alive():  # type: ignore[attr-defined]
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:
            try:
                await ensure_async(self.iopub_channel.get_msg(timeout=0))  # type: ignore[attr-defined]
            except Empty:
                break


class QuickAsyncClient(QuickReady, AsyncKernelClient):
    """The asynchronous client nbclient uses, ready without the idle wait."""

    wait_for_ready = QuickReady._async_wait_for_ready


class QuickBlockingClient(QuickReady, BlockingKernelClient):
    """A blocking client, ready without the idle wait."""

    wait_for_ready = run_sync(QuickReady._async_wait_for_ready)


class ForkedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernels are forked from the zygote."""

    client_class = DottedObjectName("se4u.kernels.QuickAsyncClient")

    async def _async_pre_start_kernel(self, **kw: Any) -> Any:
        if self.provisioner is None:
            import uuid

            self.kernel_id = self.kernel_id or kw.get("kernel_id") or str(uuid.uuid4())
            self.provisioner = ForkProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                               parent=self)
        return await super()._async_pre_start_kernel(**kw)


# ==================================================================================================
# The zygote process
# ==================================================================================================
def _reap(_signum: int, _frame: Any) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _kernel(request: dict[str, Any]) -> None:
    """In the forked child: become a kernel for the request's connection file, then exit."""
    os.setsid()  # its own process group: interrupts and kills reach it and its children only
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    os.chdir(request["cwd"])
    os.environ["JPY_PARENT_PID"] = str(request["parent_pid"])
    from ipykernel.kernelapp import IPKernelApp

    code = 0
    try:
        IPKernelApp.launch_instance(argv=["-f", request["connection_file"], *request["argv"]])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    finally:
        os._exit(code)


def serve() -> None:
    """Import :data:`PRELOAD`, say ``ready``, then fork a kernel for every request line on stdin."""
    import importlib
    import warnings

    warnings.simplefilter("ignore")
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGCHLD, _reap)
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _kernel(request)
        print(json.dumps({"pid": pid}), flush=True)


if __name__ == "__main__":
    serve()
