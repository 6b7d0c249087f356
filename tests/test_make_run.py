"""`make run` as a new user runs it: the whole stack up, usable, and gone after Ctrl-C."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from stack.environment import LISTENING_PORTS, REPO_DIR
from stack.ports import free_port
from stack.process import ManagedProcess, log_line
from tests.xmpp_client import can_log_in, eventually

pytestmark = pytest.mark.slow


class StackUnderTest:
    def __init__(self, runtime_dir: Path, ports: dict[str, int], ca_file: Path):
        self.runtime_dir = runtime_dir
        self.c2s_port = ports["PROSODY_C2S_PORT"]
        self.ca_file = ca_file
        self.domain = "localhost"


def processes_mentioning(marker: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "environ").read_bytes() + (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in blob:
            found.append(int(proc.name))
    return found


def test_make_run_starts_a_usable_stack_and_ctrl_c_leaves_nothing(tmp_path):
    runtime_dir = tmp_path / "var"
    ports = {name: free_port() for name in LISTENING_PORTS}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "DJANGO_SECRET_KEY", "XMPP_TOKEN_SECRET"}
        and key not in {"BRIDGE_COMPONENT_SECRET", "CHATBOARD_RUNTIME_DIR"}
    }
    env.update({name: str(port) for name, port in ports.items()})
    env["CHATBOARD_RUNTIME_DIR"] = str(runtime_dir)
    make = ManagedProcess(
        "make run", ["make", "run"], log_path=tmp_path / "make-run.log", env=env, cwd=REPO_DIR,
        ready=[log_line("ChatBoard is ready")], ready_timeout=120,
    )  # fmt: skip
    output = make.log_text
    make.start()
    try:
        portal = f"http://127.0.0.1:{ports['PORTAL_PORT']}"
        with urllib.request.urlopen(f"{portal}/healthz", timeout=5) as response:
            assert response.status == 200
            assert json.load(response)["checks"] == {"database": True, "prosody": True}

        python = str(REPO_DIR / ".venv/bin/python")
        create = (
            "from portal.accounts.models import User; "
            "User.objects.create_user('smoke', password='smoke pass 123')"
        )
        shell = [python, "-m", "portal.manage", "shell", "-c", create]
        subprocess.run(
            [python, "-m", "stack", "exec", "--", *shell], cwd=REPO_DIR, env=env, check=True
        )
        stack = StackUnderTest(runtime_dir, ports, runtime_dir / "prosody/certs/localhost.crt")
        assert eventually(lambda: can_log_in(stack, "smoke@localhost", "smoke pass 123"))
    finally:
        started = time.monotonic()
        os.killpg(make.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        make.wait(30)
        stopped_in = time.monotonic() - started
    assert stopped_in < 10, output()
    assert "stopped in" in output()
    assert eventually(lambda: not processes_mentioning(str(runtime_dir)), timeout=5)
