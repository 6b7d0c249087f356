"""The production configuration of every component, without containers.

The same entry points the containers run (stack/container.py), with the same
environment variables docker-compose.yml passes them: the portal under gunicorn
with DJANGO_DEBUG off, on a PostgreSQL database of its own; Prosody with SQL
storage in that database; the bridge; Caddy running deploy/Caddyfile in front,
whose certificates Prosody takes from Caddy's storage. What differs: loopback
addresses and free ports, and Caddy's internal CA instead of ACME (no network).
"""

import http.client
import os
import re
import secrets
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psycopg

from stack.environment import REPO_DIR
from stack.ports import free_port
from stack.process import ManagedProcess, log_line, port_open
from tests.people import signup_form
from tests.xmpp_client import eventually

POSTGRES = "postgres://postgres@127.0.0.1:5432"
DOMAIN = "chatboard.test"
WEB_HOST = "chat.chatboard.test"
# Not conference.<domain>: production runs the room service under a name of its own.
MUC_DOMAIN = "rooms.chatboard.test"


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

    def cut_connections(self) -> int:
        """What a database restart does to its clients: every session on this
        database is terminated while the server keeps running."""
        rows = self.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(rows)


@dataclass
class ProductionStack:
    runtime_dir: Path
    database: Database
    processes: list[ManagedProcess] = field(default_factory=list)

    def __post_init__(self):
        self.portal_port = free_port()
        self.c2s_port = free_port()
        self.http_port = free_port()
        self.component_port = free_port()
        self.https_port = free_port()
        # Caddy keeps its data where the proxy's volume is: <data>/caddy/...
        self.caddy_data = self.runtime_dir / "caddy-data"
        self.env = self._environment()

    @property
    def domain(self) -> str:
        return DOMAIN

    @property
    def ca_file(self) -> Path:
        """What clients trust: the root of the CA that issued Caddy's certificates
        (tests.xmpp_client verifies Prosody against it too)."""
        return self.caddy_data / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    def _environment(self) -> dict[str, str]:
        inherited = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("DJANGO_", "PROSODY_", "CHATBOARD_", "BRIDGE_", "XMPP_"))
            and name not in {"DATABASE_URL", "PORTAL_PORT", "EMAIL_BACKEND"}
        }
        return {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "portal.config.settings",
            "CHATBOARD_RUNTIME_DIR": str(self.runtime_dir),
            "CHATBOARD_DOMAIN": DOMAIN,
            "CHATBOARD_WEB_HOST": WEB_HOST,
            "CHATBOARD_MUC_DOMAIN": MUC_DOMAIN,
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "XMPP_TOKEN_SECRET": secrets.token_urlsafe(48),
            "BRIDGE_COMPONENT_SECRET": secrets.token_urlsafe(48),
            "DATABASE_URL": self.database.url,
            # As docker-compose.yml runs it: kept connections, which a restart cuts.
            "DATABASE_CONN_MAX_AGE": "60",
            "XMPP_WEBSOCKET_URL": "/xmpp-websocket",
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "PORTAL_PORT": str(self.portal_port),
            "PORTAL_BIND": "127.0.0.1",
            "WEB_CONCURRENCY": "2",
            "PROSODY_HOST": "127.0.0.1",
            "PROSODY_INTERFACES": "127.0.0.1",
            "PROSODY_C2S_PORT": str(self.c2s_port),
            "PROSODY_C2S_DIRECT_TLS_PORT": str(free_port()),
            "PROSODY_S2S_PORT": str(free_port()),
            "PROSODY_HTTP_PORT": str(self.http_port),
            "PROSODY_COMPONENT_PORT": str(self.component_port),
            # Every test connection comes from 127.0.0.1: no per-address throttle.
            "PROSODY_CONNECTION_BURST": "0",
            "PROSODY_STORAGE": "sql",
            "PROSODY_SQL_DRIVER": "PostgreSQL",
            "PROSODY_SQL_HOST": "127.0.0.1",
            "PROSODY_SQL_PORT": "5432",
            "PROSODY_SQL_DATABASE": self.database.name,
            "PROSODY_SQL_USERNAME": "postgres",
            "PROSODY_CERTS_SOURCE": str(self.caddy_data / "caddy" / "certificates"),
            "PROSODY_CERTS_CHECK_SECONDS": "0.5",
            "BRIDGE_POLL_INTERVAL": "0.05",
        }

    def _proxy_environment(self) -> dict[str, str]:
        options = [
            "local_certs",
            "skip_install_trust",
            "admin off",
            "default_bind 127.0.0.1",
            f"http_port {free_port()}",
            f"https_port {self.https_port}",
            "servers {\n protocols h1 h2\n}",  # no HTTP/3 listener on a UDP port
        ]
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.runtime_dir),
            "XDG_DATA_HOME": str(self.caddy_data),
            "XDG_CONFIG_HOME": str(self.runtime_dir / "caddy-config"),
            "CHATBOARD_DOMAIN": DOMAIN,
            "CHATBOARD_WEB_HOST": WEB_HOST,
            "CHATBOARD_MUC_DOMAIN": MUC_DOMAIN,
            "ACME_EMAIL": f"ops@{DOMAIN}",
            "PROXY_GLOBAL_OPTIONS": "\n".join(options),
            "PROXY_PORTAL_UPSTREAM": f"127.0.0.1:{self.portal_port}",
            "PROXY_PROSODY_UPSTREAM": f"127.0.0.1:{self.http_port}",
            "PROXY_STATIC_ROOT": str(self.runtime_dir / "static"),
            "PROXY_MEDIA_ROOT": str(self.runtime_dir / "media"),
        }

    def _process(self, name: str, argv: list[str], ready, timeout, env=None) -> ManagedProcess:
        process = ManagedProcess(
            name,
            argv,
            log_path=self.runtime_dir / f"{name}.log",
            env=env or self.env,
            cwd=REPO_DIR,
            ready=ready,
            ready_timeout=timeout,
            grace=15,
        )
        self.processes.append(process)
        return process.start(wait=False)

    def start(self) -> "ProductionStack":
        python = sys.executable
        prosody = self._process(
            "prosody",
            [python, "-m", "stack.container", "prosody"],
            [port_open(self.c2s_port), port_open(self.component_port)],
            timeout=20,
        )
        portal = self._process(
            "portal",
            [python, "-m", "stack.container", "portal"],
            [port_open(self.portal_port)],
            timeout=120,
        )
        self._start_proxy()
        prosody.wait_ready()
        portal.wait_ready()
        bridge = self._process(
            "bridge", [python, "-m", "bridge"], [log_line("connected to Prosody")], timeout=20
        )
        bridge.wait_ready()
        # Prosody starts on a self-signed certificate and switches to the ones
        # Caddy issues as soon as they are in Caddy's storage.
        eventually(lambda: served_certificate(self.c2s_port, self.ca_file), timeout=30)
        return self

    def _certificates_issued(self) -> bool:
        issued = self.caddy_data / "caddy" / "certificates" / "local"
        names = [WEB_HOST, DOMAIN, MUC_DOMAIN, f"upload.{DOMAIN}"]
        files = [issued / name / f"{name}{suffix}" for name in names for suffix in (".crt", ".key")]
        return all(path.exists() and path.stat().st_size for path in files)

    def _start_proxy(self) -> ManagedProcess:
        """Caddy, once it holds a certificate for every name. On empty storage,
        Caddy 2.6 (Debian's) can lose one of its first certificates to its own
        storage cleaner and retry only a minute later; a restart issues it at once."""
        caddyfile = str(REPO_DIR / "deploy" / "Caddyfile")
        argv = ["caddy", "run", "--config", caddyfile, "--adapter", "caddyfile"]
        for _attempt in range(3):
            ready = [port_open(self.https_port)]
            proxy = self._process("proxy", argv, ready, 20, self._proxy_environment())
            proxy.wait_ready()
            try:
                eventually(self._certificates_issued, timeout=10)
                return proxy
            except AssertionError:
                proxy.stop()
                self.processes.remove(proxy)
        raise RuntimeError("Caddy issued no certificate for some names")

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.log_text()[-3000:]}" for p in self.processes)

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "portal.manage", *args],
            env=self.env,
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
        )


def served_certificate(port: int, ca_file: Path) -> dict | None:
    """The certificate Prosody presents after STARTTLS on its c2s port, if it
    verifies against `ca_file` for the XMPP domain."""
    if not ca_file.exists():
        return None
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"<?xml version='1.0'?><stream:stream to='{DOMAIN}' version='1.0' "
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>".encode()
        )
        received = b""
        while b"</stream:features>" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("Prosody closed the connection before its features")
            received += chunk
        sock.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        assert b"proceed" in sock.recv(4096)
        context = ssl.create_default_context(cafile=str(ca_file))
        try:
            with context.wrap_socket(sock, server_hostname=DOMAIN) as tls:
                return tls.getpeercert()
        except ssl.SSLCertVerificationError:
            return None


class ProxyConnection(http.client.HTTPSConnection):
    """HTTPS to the proxy on loopback, presenting `server_name` (SNI and Host) and
    verifying the proxy's certificate against `ca_file`."""

    def __init__(self, port: int, server_name: str, ca_file: Path):
        context = ssl.create_default_context(cafile=str(ca_file))
        super().__init__(server_name, port, context=context, timeout=30)

    def connect(self):
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Browser:
    """A visitor of the portal: over HTTPS through the proxy (`stack` given), or
    straight to gunicorn over plain HTTP (`port` given). Cookies round-trip."""

    def __init__(self, stack=None, *, port=None, host=WEB_HOST):
        self.stack = stack
        self.port = port
        self.host = host
        self.cookies: dict[str, str] = {}

    @property
    def origin(self) -> str:
        return f"https://{self.host}:{self.stack.https_port}"

    def connection(self):
        if self.stack is not None:
            return ProxyConnection(self.stack.https_port, self.host, self.stack.ca_file)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def request(self, method, path, body=None, headers=None):
        connection = self.connection()
        sent = dict(headers or {})
        if self.stack is None:
            sent["Host"] = self.host
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        response.body = response.read()
        response.text = response.body.decode(errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        connection.close()
        return response

    def sign_up(self, username: str, password: str):
        page = self.request("GET", "/accounts/signup/")
        assert page.status == 200, page.text[:1000]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = urlencode({"csrfmiddlewaretoken": token, **signup_form(username, password)})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": self.origin,
            "Referer": f"{self.origin}/accounts/signup/",
        }
        return self.request("POST", "/accounts/signup/", form, headers)
