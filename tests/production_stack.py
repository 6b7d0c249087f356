"""The production configuration of every component, without containers.

The same entry points the containers run (stack/container.py), with the same
environment variables docker-compose.yml passes them: the portal under gunicorn
with DJANGO_DEBUG off, on a PostgreSQL database of its own; Prosody with SQL
storage in that database and its certificate taken from a certificate store laid
out as Caddy keeps it; the bridge. Only host names and ports differ (loopback,
free ports), and TLS ends at the test's HTTP client instead of at Caddy.
"""

import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

import psycopg

from stack.certs import ensure_dev_certificate
from stack.environment import REPO_DIR
from stack.prosody import wait_for_port
from tests.fixtures import free_port
from tests.xmpp_client import eventually

POSTGRES = "postgres://postgres@127.0.0.1:5432"
DOMAIN = "chatboard.test"
WEB_HOST = "chat.chatboard.test"


def postgres_available() -> bool:
    try:
        psycopg.connect(f"{POSTGRES}/postgres", connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


class Database:
    """A PostgreSQL database made for one test run and dropped after it."""

    def __init__(self):
        self.name = f"chatboard_prod_{secrets.token_hex(4)}"
        self.url = f"{POSTGRES}/{self.name}"

    def _admin(self, sql: str) -> None:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as connection:
            connection.execute(sql)

    def create(self) -> "Database":
        self._admin(f'CREATE DATABASE "{self.name}"')
        return self

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def query(self, sql: str, *params) -> list[tuple]:
        with psycopg.connect(self.url) as connection:
            return connection.execute(sql, params).fetchall()


@dataclass
class Process:
    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> "Process":
        log = open(self.log_path, "a")  # noqa: SIM115 - the child keeps it open
        self.popen = subprocess.Popen(
            self.argv, env=env, cwd=REPO_DIR, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def output(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class ProductionStack:
    runtime_dir: Path
    database: Database
    processes: list[Process] = field(default_factory=list)

    def __post_init__(self):
        self.portal_port = free_port()
        self.c2s_port = free_port()
        self.component_port = free_port()
        self.cert_source = self.runtime_dir / "caddy" / "certificates"
        self.env = self._environment()

    @property
    def domain(self) -> str:
        return DOMAIN

    @property
    def ca_file(self) -> Path:
        """What clients trust: the certificate put in the store, as an ACME CA's
        would be (tests.xmpp_client verifies the server against it)."""
        return self.cert_source / "acme.test-directory" / DOMAIN / f"{DOMAIN}.crt"

    def _environment(self) -> dict[str, str]:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DJANGO_", "PROSODY_", "CHATBOARD_", "BRIDGE_", "XMPP_"))
            and name not in {"DATABASE_URL", "PORTAL_PORT", "EMAIL_BACKEND"}
        }
        return {
            **inherited,
            "PYTHONPATH": f"{REPO_DIR / 'portal'}{os.pathsep}{REPO_DIR}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "CHATBOARD_RUNTIME_DIR": str(self.runtime_dir),
            "CHATBOARD_DOMAIN": DOMAIN,
            "CHATBOARD_WEB_HOST": WEB_HOST,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "XMPP_TOKEN_SECRET": secrets.token_urlsafe(48),
            "BRIDGE_COMPONENT_SECRET": secrets.token_urlsafe(48),
            "DATABASE_URL": self.database.url,
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "PORTAL_PORT": str(self.portal_port),
            "PORTAL_BIND": "127.0.0.1",
            "WEB_CONCURRENCY": "2",
            "PROSODY_HOST": "127.0.0.1",
            "PROSODY_INTERFACES": "127.0.0.1",
            "PROSODY_C2S_PORT": str(self.c2s_port),
            "PROSODY_C2S_DIRECT_TLS_PORT": str(free_port()),
            "PROSODY_S2S_PORT": str(free_port()),
            "PROSODY_HTTP_PORT": str(free_port()),
            "PROSODY_COMPONENT_PORT": str(self.component_port),
            "PROSODY_STORAGE": "sql",
            "PROSODY_SQL_DRIVER": "PostgreSQL",
            "PROSODY_SQL_HOST": "127.0.0.1",
            "PROSODY_SQL_PORT": "5432",
            "PROSODY_SQL_DATABASE": self.database.name,
            "PROSODY_SQL_USERNAME": "postgres",
            "PROSODY_CERTS_SOURCE": str(self.cert_source),
            "PROSODY_CERTS_CHECK_SECONDS": "0.5",
            "BRIDGE_POLL_INTERVAL": "0.05",
        }

    def _process(self, name: str, *args: str) -> Process:
        process = Process(name, [sys.executable, *args], self.runtime_dir / f"{name}.log")
        self.processes.append(process)
        return process.start(self.env)

    def start(self) -> "ProductionStack":
        # The certificate the proxy would have obtained, where Caddy keeps it.
        ensure_dev_certificate(self.ca_file.parent, DOMAIN)
        prosody = self._process("prosody", "-m", "stack.container", "prosody")
        portal = self._process("portal", "-m", "stack.container", "portal")
        wait_for_port("127.0.0.1", self.c2s_port, 20, prosody.popen)
        wait_for_port("127.0.0.1", self.component_port, 20, prosody.popen)
        wait_for_port("127.0.0.1", self.portal_port, 120, portal.popen)
        bridge = self._process("bridge", "-m", "bridge")
        eventually(lambda: "connected to Prosody" in bridge.output(), timeout=20)
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.output()[-3000:]}" for p in self.processes)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(REPO_DIR / "portal" / "manage.py"), *args],
            env=self.env,
            capture_output=True,
            text=True,
        )


class Browser:
    """An HTTPS visitor as gunicorn sees it behind the proxy: Host is the web host,
    X-Forwarded-Proto says https, cookies round-trip (Secure ones included)."""

    def __init__(self, port: int, host: str = WEB_HOST):
        self.port = port
        self.host = host
        self.cookies: dict[str, str] = {}

    def request(self, method, path, body=None, headers=None, *, https=True):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": self.host, **(headers or {})}
        if https:
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.text = response.read().decode()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response

    def sign_up(self, username: str, password: str):
        page = self.request("GET", "/accounts/signup/")
        assert page.status == 200, page.text[:1000]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        from urllib.parse import urlencode

        form = urlencode(
            {
                "csrfmiddlewaretoken": token,
                "username": username,
                "email": f"{username}@example.org",
                "password1": password,
                "password2": password,
            }
        )
        origin = f"https://{self.host}"
        return self.request(
            "POST",
            "/accounts/signup/",
            form,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": f"{origin}/accounts/signup/",
            },
        )
