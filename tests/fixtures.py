"""Session fixtures: a real Prosody on free ports, the real bridge, the portal.

Prosody and the bridge run as their own processes, from the same code and
configuration template as `make run`; nothing mocks them. Tests that need the
bridge use the `transactional_db` so their writes are visible to it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from stack.environment import REPO_DIR
from stack.prosody import ProsodyConfig, ProsodyServer, wait_for_port
from tests.xmpp_client import eventually


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class XmppServer:
    """A running Prosody and what a test needs to reach it."""

    config: ProsodyConfig
    server: ProsodyServer

    @property
    def domain(self) -> str:
        return self.config.domain

    @property
    def c2s_port(self) -> int:
        return self.config.c2s_port

    @property
    def ca_file(self) -> Path:
        return self.config.runtime_dir / "certs" / f"{self.domain}.crt"

    @property
    def data_path(self) -> Path:
        return self.config.data_path

    def log_text(self) -> str:
        return self.config.log_path.read_text() if self.config.log_path.exists() else ""

    def stop(self) -> None:
        self.server.stop()

    def kill(self) -> None:
        self.server.kill()

    def start(self) -> None:
        self.server.start()

    def restart(self) -> None:
        self.stop()
        self.start()


def prosody_config(runtime_dir: Path, **overrides) -> ProsodyConfig:
    values = {
        "runtime_dir": runtime_dir,
        "domain": settings.XMPP_DOMAIN,
        "token_secret": settings.XMPP_TOKEN_SECRET,
        "bridge_secret": os.environ["BRIDGE_COMPONENT_SECRET"],
        "c2s_port": free_port(),
        "c2s_direct_tls_port": free_port(),
        "s2s_port": free_port(),
        "http_port": free_port(),
        "component_port": free_port(),
        "interfaces": ["127.0.0.1"],
        "log_to_console": False,
        # Every test client connects from 127.0.0.1; tests of the limits set their own.
        "connection_burst": 0,
    }
    return ProsodyConfig(**{**values, **overrides})


@pytest.fixture(scope="session")
def xmpp_server(tmp_path_factory):
    config = prosody_config(tmp_path_factory.mktemp("prosody"))
    server = XmppServer(config, ProsodyServer(config).start())
    previous = settings.PROSODY_C2S_PORT, settings.PROSODY_HTTP_PORT
    settings.PROSODY_C2S_PORT, settings.PROSODY_HTTP_PORT = config.c2s_port, config.http_port
    yield server
    settings.PROSODY_C2S_PORT, settings.PROSODY_HTTP_PORT = previous
    server.stop()


def database_url() -> str:
    """The test database, as a URL the bridge process can open."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or ""
    return f"postgres://{user}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class BridgeProcess:
    def __init__(self, server: XmppServer, log_path: Path, **env):
        self.server = server
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "PROSODY_COMPONENT_PORT": str(server.config.component_port),
            "BRIDGE_POLL_INTERVAL": "0.05",
            **env,
        }
        self.process = None

    def start(self) -> "BridgeProcess":
        self.log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        starts = self.output().count("connected to Prosody")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bridge"],
            env=self.env,
            cwd=REPO_DIR,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        eventually(lambda: self.output().count("connected to Prosody") > starts, timeout=15)
        return self

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def bridge(xmpp_server, django_db_setup, django_db_blocker, tmp_path_factory):
    process = BridgeProcess(xmpp_server, tmp_path_factory.mktemp("bridge") / "bridge.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def synced_db(transactional_db, bridge):
    """A database the bridge sees (committed writes), with the bridge running."""
    return bridge


def wait_for_port_closed(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} still open")


__all__ = ["wait_for_port", "wait_for_port_closed", "free_port"]


def _retry_flush_on_deadlock():
    """The bridge keeps working while a transactional test's teardown flushes the
    database. On PostgreSQL the flush's TRUNCATE of every table can deadlock with
    a bridge transaction; PostgreSQL then aborts one of them, and the flush is
    simply run again (the bridge retries its own work)."""
    from django.test import TransactionTestCase

    teardown = TransactionTestCase._fixture_teardown

    def fixture_teardown(self):
        for attempt in range(5):
            try:
                return teardown(self)
            except Exception as error:
                cause, chain = error, []
                while cause is not None:
                    chain.append(str(cause))
                    cause = cause.__cause__ or cause.__context__
                if attempt == 4 or not any("deadlock detected" in c for c in chain):
                    raise
                time.sleep(0.1)

    TransactionTestCase._fixture_teardown = fixture_teardown


_retry_flush_on_deadlock()


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth counts attempts per IP in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
