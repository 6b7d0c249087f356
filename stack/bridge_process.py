"""The bridge (`python -m bridge`) as a child process of the tests and the
benchmarks, on the database and Prosody they give it."""

import os
import sys
from pathlib import Path

from stack.environment import REPO_DIR
from stack.process import ManagedProcess, log_line

CONNECTED = "connected to Prosody"


def django_database_url() -> str:
    """The database this (Django) process uses, as a URL a bridge process can open."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or ""
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class BridgeProcess:
    """The bridge on `database_url`, talking to the Prosody whose component port
    is `component_port`; `env`: further settings (BRIDGE_*). Its log is appended
    to `log_path` across restarts."""

    def __init__(self, log_path: Path, *, database_url: str, component_port: int, **env):
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PROSODY_COMPONENT_PORT": str(component_port),
            "BRIDGE_POLL_INTERVAL": "0.05",
            **env,
        }
        self.process: ManagedProcess | None = None

    def _process(self, *args: str, ready=(), timeout: float = 30) -> ManagedProcess:
        return ManagedProcess(
            "bridge",
            [sys.executable, "-m", "bridge", *args],
            log_path=self.log_path,
            env=self.env,
            cwd=REPO_DIR,
            ready=ready,
            ready_timeout=timeout,
        )

    def start(self, timeout: float = 30) -> "BridgeProcess":
        """Started and connected to Prosody."""
        self.process = self._process(ready=[log_line(CONNECTED)], timeout=timeout).start()
        return self

    def reconcile_once(self, timeout: float = 1800) -> str:
        """`python -m bridge --reconcile-once` to the end; what it logged."""
        self.process = self._process("--reconcile-once").start()
        try:
            code = self.process.wait(timeout)
        finally:
            self.process.stop()
        if code != 0:
            raise self.process.failure(f"reconcile failed with code {code}")
        return self.process.output()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, grace: float = 10) -> None:
        if self.process is not None:
            self.process.stop(grace)

    def restart(self) -> None:
        self.stop()
        self.start()
