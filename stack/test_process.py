"""ManagedProcess and free_port: what every server of the tests and the benchmarks
is started with."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stack.ports import free_port, release_port
from stack.process import ManagedProcess, ProcessFailed, log_line, port_open

SERVE = (
    "import socket, sys, time\n"
    "server = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
    "print('listening', flush=True)\n"
    "time.sleep(60)\n"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_held_port_is_handed_out_once_on_this_machine():
    port = free_port()
    try:
        assert port not in {free_port() for _ in range(20)}
        # Another process (a second test run, a benchmark) cannot reserve it either.
        code = (
            "import sys; from stack.ports import _try_lock; "
            f"sys.exit(0 if _try_lock('port-{port}') else 3)"
        )
        child = subprocess.run([sys.executable, "-c", code], env={**os.environ})
        assert child.returncode == 3
    finally:
        release_port(port)
    child = subprocess.run([sys.executable, "-c", code], env={**os.environ})
    assert child.returncode == 0, "a released port is free again"


def test_process_is_ready_by_port_and_log_line_and_stops_with_its_children(tmp_path):
    port = free_port()
    # A shell that starts the server as its child: stopping must reach both.
    argv = ["sh", "-c", f'{sys.executable} -c "$0" {port} & wait', SERVE]
    process = ManagedProcess(
        "server", argv, log_path=tmp_path / "server.log",
        ready=[port_open(port), log_line("listening")],
    )  # fmt: skip
    with process:
        assert "listening" in process.output()
        task = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        children = [int(pid) for pid in task.read_text().split()]
        assert children
    assert not process.running()
    assert not any(alive(pid) for pid in children)
    release_port(port)


def test_a_process_that_exits_early_fails_with_its_log(tmp_path):
    process = ManagedProcess(
        "broken",
        [sys.executable, "-c", "print('bad config'); raise SystemExit(4)"],
        log_path=tmp_path / "broken.log",
        ready=[log_line("never")],
    )
    with pytest.raises(ProcessFailed, match=r"(?s)broken exited with code 4.*bad config"):
        process.start()


def test_a_process_deaf_to_sigterm_is_killed_after_the_grace(tmp_path):
    code = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "print('up', flush=True); time.sleep(60)"
    )
    process = ManagedProcess(
        "stubborn", [sys.executable, "-c", code], log_path=tmp_path / "stubborn.log",
        ready=[log_line("up")], grace=0.3,
    ).start()  # fmt: skip
    started = time.monotonic()
    process.stop()
    assert time.monotonic() - started < 3
    assert process.returncode == -9


def test_echo_receives_each_line_and_the_log_keeps_them(tmp_path):
    lines = []
    process = ManagedProcess(
        "talker",
        [sys.executable, "-c", "print('one'); print('two')"],
        log_path=tmp_path / "talker.log",
        echo=lines.append,
    ).start()
    process.wait(10)
    process.stop()
    assert lines == ["one\n", "two\n"]
    assert process.log_text() == "one\ntwo\n"
