"""Grading kernels forked from a zygote: fresh, isolated, stoppable, and replaced when the zygote is gone."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from jupyter_client.blocking import BlockingKernelClient
from jupyter_core.utils import run_sync

from se4u.kernels import ForkedKernelManager, ForkProvisioner, Zygote

pytestmark = pytest.mark.slow


@pytest.fixture
def zygote():
    started = ForkProvisioner.zygote = Zygote()
    yield started
    ForkProvisioner.zygote = None
    started.close()


def start(cwd) -> ForkedKernelManager:
    manager = ForkedKernelManager(kernel_name="python3")
    run_sync(manager.start_kernel)(cwd=str(cwd), extra_arguments=["--HistoryManager.hist_file=:memory:"])
    return manager


def run(manager: ForkedKernelManager, code: str, timeout: float = 20) -> dict:
    """Execute ``code``; return the reply and everything printed."""
    client = BlockingKernelClient()
    client.load_connection_info(manager.get_connection_info())
    client.start_channels()
    printed: list[str] = []
    try:
        client.wait_for_ready(timeout=timeout)
        reply = client.execute_interactive(
            code, timeout=timeout,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")))
    finally:
        client.stop_channels()
    return {"status": reply["content"]["status"], "out": "".join(printed)}


def stop(manager: ForkedKernelManager) -> None:
    run_sync(manager.shutdown_kernel)(now=True)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_each_kernel_is_a_new_process_with_nothing_of_the_last(zygote, tmp_path):
    """Does every submission get its own kernel process, in its folder, with no state of the one before?"""
    first = start(tmp_path)
    try:
        done = run(first, "import os; secret = 'learner A'; print(os.getpid(), os.getcwd())")
        assert done["status"] == "ok"
        pid_a, cwd_a = done["out"].split()
        assert cwd_a == str(tmp_path)
    finally:
        stop(first)
    second = start(tmp_path)
    try:
        done = run(second, "import os; print(os.getpid(), 'secret' in globals())")
        pid_b, leaked = done["out"].split()
    finally:
        stop(second)
    assert pid_a != pid_b
    assert int(pid_a) not in (os.getpid(), zygote.process.pid)
    assert leaked == "False"


def test_a_cell_that_loops_forever_can_be_interrupted_and_the_kernel_stopped(zygote, tmp_path):
    """Does an interrupt reach a forked kernel (the per-cell timeout), and does shutdown end it?"""
    manager = start(tmp_path)
    pid = manager.provisioner.pid
    client = BlockingKernelClient()
    client.load_connection_info(manager.get_connection_info())
    client.start_channels()
    try:
        client.wait_for_ready(timeout=20)
        msg_id = client.execute("while True: pass")
        time.sleep(0.5)
        run_sync(manager.interrupt_kernel)()
        reply = client.get_shell_msg(timeout=20)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = client.get_shell_msg(timeout=20)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
    finally:
        client.stop_channels()
        stop(manager)
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_kernels_start_the_ordinary_way_when_the_zygote_is_gone(tmp_path):
    """If the zygote has died, is the next kernel launched as a normal process instead of failing?"""
    gone = ForkProvisioner.zygote = Zygote()
    gone.process.kill()
    gone.process.wait()
    try:
        manager = start(tmp_path)
        try:
            assert run(manager, "print(6 * 7)")["out"].strip() == "42"
            assert manager.provisioner.process.__class__.__name__ == "Popen"
        finally:
            stop(manager)
        assert ForkProvisioner.zygote is None
    finally:
        ForkProvisioner.zygote = None
        gone.close()
