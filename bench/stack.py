"""The whole of ChatBoard for the sync, reconcile and portal benchmarks: the
portal's database (a SQLite file in the run's temporary directory, migrated
once and copied fresh for each scenario), Prosody on free ports from the
production template, and the bridge as its own process (`python -m bridge`).
The portal's actions run in this process, on the same database.

`bench/__main__.py` points DATABASE_URL at the bench database before
django.setup(); nothing here touches the development database. (The test of
the benchmark code gives the scenarios a Workspace on the test database.)
"""

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import BenchProsodyConfig, start_prosody
from stack.environment import REPO_DIR

DB_NAME = "portal.sqlite3"


@dataclass
class Workspace:
    """A run's temporary directory and the portal database the scenarios share."""

    run_dir: Path

    @property
    def database_path(self) -> Path:
        return self.run_dir / DB_NAME

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database_path}"

    def prepare_database(self) -> None:
        """Migrate once and keep a copy to start each scenario from."""
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0, interactive=False)
        connections.close_all()
        shutil.copy(self.database_path, self.run_dir / f"{DB_NAME}.migrated")

    def fresh_database(self) -> None:
        from django.db import connections

        connections.close_all()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.database_path}{suffix}").unlink(missing_ok=True)
        # A new file, not the old one overwritten: nothing can read a mix of both.
        copy = self.run_dir / f"{DB_NAME}.copy"
        shutil.copy(self.run_dir / f"{DB_NAME}.migrated", copy)
        copy.replace(self.database_path)


def fast_password_hashing() -> None:
    """Django's password hash (deliberately slow) is not on any measured path; the
    XMPP SCRAM keys are still derived as in production."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class Bridge:
    """`python -m bridge` on the bench database."""

    def __init__(self, workspace: Workspace, config, secret: str):
        self.log_path = workspace.run_dir / f"bridge-{time.monotonic_ns()}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": workspace.database_url,
            "PROSODY_COMPONENT_PORT": str(config.component_port),
            "BRIDGE_COMPONENT_SECRET": secret,
            "CHATBOARD_DOMAIN": config.domain,
        }
        self.process: subprocess.Popen | None = None

    def _start(self, *args: str) -> subprocess.Popen:
        log = self.log_path.open("a")
        try:
            return subprocess.Popen(
                [sys.executable, "-m", "bridge", *args],
                env=self.env,
                cwd=REPO_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def start(self, timeout: float = 30) -> "Bridge":
        self.process = self._start()
        try:
            self._wait_connected(timeout)
        except RuntimeError:
            self.stop()
            raise
        return self

    def _wait_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while "connected to Prosody" not in self.output():
            if self.process.poll() is not None and "reconciled in" in self.output():
                return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bridge did not connect:\n{self.output()[-2000:]}")
            time.sleep(0.05)

    def reconcile_once(self, timeout: float = 1800) -> str:
        """Run `python -m bridge --reconcile-once` to the end; return its log."""
        self.process = self._start("--reconcile-once")
        try:
            self._wait_connected(30)
            self.process.wait(timeout)
        finally:
            self.stop()
        if self.process.returncode != 0:
            raise RuntimeError(f"reconcile failed:\n{self.output()[-2000:]}")
        return self.output()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextmanager
def chatboard_prosody(run_dir: Path):
    """Prosody configured as the portal expects (its domain and token secret)."""
    from django.conf import settings

    runtime_dir = run_dir / f"prosody-{time.monotonic_ns()}"
    secret = secrets.token_urlsafe(24)
    server = start_prosody(
        lambda ports: BenchProsodyConfig(
            runtime_dir=runtime_dir,
            domain=settings.XMPP_DOMAIN,
            token_secret=settings.XMPP_TOKEN_SECRET,
            bridge_secret=secret,
            interfaces=["127.0.0.1"],
            log_to_console=False,
            # The observer logs in once per pending signup, all from 127.0.0.1.
            connection_burst=0,
            **ports,
        )
    )
    config = server.config
    try:
        yield config, server, secret
    finally:
        server.stop()
        shutil.rmtree(runtime_dir, ignore_errors=True)
