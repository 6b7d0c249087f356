"""Whole ChatBoard stacks for one domain each, side by side on one machine.

A stack is what `make run` starts: its own Prosody (the config template rendered
by ProsodyConfig), its own portal (runserver) and bridge processes with an
environment from stack.environment (secrets generated in its runtime directory),
on its own SQLite database (also on a PostgreSQL test run), on free ports. Tests drive it as people
and operators do: HTTP for the portal, `portal.manage shell -c` for what an operator
would type, real XMPP clients for chat.

Servers find each other without DNS or /etc/hosts: each stack's s2s listener
binds port 5269 on an address of its own in 127.0.0.0/8, and every Prosody
reads a hosts file naming those addresses (`unbound.hoststxt`), so s2s goes
through the real resolver and connection path. Certificates come from a test
CA that every Prosody trusts, with s2s_secure_auth on as in production.
"""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from stack.addresses import Addresses
from stack.certs import ensure_dev_certificate
from stack.environment import REPO_DIR, stack_environment
from stack.ports import free_loopback_address, free_port
from stack.process import ManagedProcess, log_line, port_open
from stack.prosody import ProsodyConfig
from stack.prosody_server import ProsodyServer
from tests.certificates import TestCA
from tests.people import signup_form, wait_until_provisioned

S2S_PORT = 5269  # what a server without SRV records is reached on
MANAGE = ["-m", "portal.manage"]
# Settings a stack takes from its own runtime directory, never from the test run's.
OWN_SETTINGS = ("DATABASE_URL", "DJANGO_SECRET_KEY", "XMPP_TOKEN_SECRET", "REDIS_URL")
OWN_PREFIXES = ("CHATBOARD_", "PROSODY_", "BRIDGE_", "PORTAL_", "XMPP_")


class Network:
    """The hosts file and CA that a group of domains share."""

    def __init__(self, directory: Path, domains: list[str]):
        self.directory = directory
        self.ca = TestCA(directory / "ca")
        self.addresses = {domain: free_loopback_address(S2S_PORT) for domain in domains}
        self.hosts_file = directory / "hosts"
        lines = []
        for domain, address in self.addresses.items():
            hosts = [domain, *(f"{c}.{domain}" for c in ("conference", "upload"))]
            lines.append(f"{address} {' '.join(hosts)}\n")
        self.hosts_file.write_text("".join(lines))

    def prosody_config(self, domain: str, runtime_dir: Path, **settings) -> ProsodyConfig:
        """Where `domain`'s Prosody listens, and what it trusts and resolves."""
        self.ca.issue(runtime_dir / "certs", domain)
        values = {
            "runtime_dir": runtime_dir,
            "domain": domain,
            "token_secret": "unused",
            "bridge_secret": "unused",
            "c2s_port": free_port(),
            "c2s_direct_tls_port": free_port(),
            "http_port": free_port(),
            "component_port": free_port(),
            "interfaces": ["127.0.0.1"],
            "s2s_port": S2S_PORT,
            "s2s_interfaces": [self.addresses[domain]],
            "ca_file": str(self.ca.cert),
            "hosts_file": str(self.hosts_file),
            "log_to_console": False,
            # Every test client connects from 127.0.0.1; tests of the limits set their own.
            "connection_burst": 0,
        }
        return ProsodyConfig(**{**values, **settings})


class XmppServer(ProsodyServer):
    """A Prosody of the network, trusted by tests' XMPP clients (tests.xmpp_client)
    through the network's test CA."""

    def __init__(self, network: Network, config: ProsodyConfig):
        super().__init__(config)
        self.network = network

    @property
    def ca_file(self) -> Path:
        return self.network.ca.cert

    def reconfigure(self, **changes) -> None:
        """Restart Prosody with other settings (as an operator editing .env would)."""
        self.stop()
        self.config = dataclasses.replace(self.config, **changes)
        self.start()


class PlainXmppServer(XmppServer):
    """Any other XMPP server: stock Prosody with its own accounts, no portal, no bridge."""

    def __init__(self, network: Network, domain: str, runtime_dir: Path, trusted=True, **prosody):
        config = network.prosody_config(
            domain, runtime_dir, authentication="internal_hashed", **prosody
        )
        if not trusted:  # a self-signed certificate, as `make run` makes for development
            for suffix in ("crt", "key"):
                (runtime_dir / "certs" / f"{domain}.{suffix}").unlink()
            ensure_dev_certificate(runtime_dir / "certs", domain)
        self.trusted = trusted
        super().__init__(network, config)

    @property
    def ca_file(self) -> Path:
        if self.trusted:
            return self.network.ca.cert
        return self.config.runtime_dir / "certs" / f"{self.domain}.crt"

    def register(self, username: str, password: str) -> None:
        subprocess.run(
            ["prosodyctl", "--config", str(self.config.config_path), "register",
             username, self.domain, password],
            check=True, capture_output=True,
        )  # fmt: skip

    def person(self, username: str, password: str) -> str:
        """A new account; its JID."""
        self.register(username, password)
        return f"{username}@{self.domain}"


class ChatBoardStack(XmppServer):
    """Prosody, portal and bridge for one domain, each in its own process."""

    def __init__(self, network: Network, domain: str, runtime_dir: Path, settings=None, **prosody):
        """`settings`: environment variables as an operator would put them in `.env`."""
        runtime_dir.mkdir(parents=True, exist_ok=True)
        self.runtime_dir = runtime_dir
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in OWN_SETTINGS and not k.startswith(OWN_PREFIXES)
        }
        base.update(
            CHATBOARD_RUNTIME_DIR=str(runtime_dir),
            CHATBOARD_DOMAIN=domain,
            DATABASE_URL=f"sqlite:///{runtime_dir / 'portal.sqlite3'}",
            DJANGO_DEBUG="true",
            BRIDGE_POLL_INTERVAL="0.05",
            **(settings or {}),
        )
        env = stack_environment(base)  # generates this stack's secrets once
        self.addresses = Addresses.from_env(env)
        config = network.prosody_config(
            domain,
            runtime_dir / "prosody",
            token_secret=env["XMPP_TOKEN_SECRET"],
            bridge_secret=env["BRIDGE_COMPONENT_SECRET"],
            muc_domain=self.addresses.muc,
            **prosody,
        )
        super().__init__(network, config)
        self.portal_port = free_port()
        self.env = {
            **env,
            "PORTAL_PORT": str(self.portal_port),
            "PROSODY_C2S_PORT": str(config.c2s_port),
            "PROSODY_HTTP_PORT": str(config.http_port),
            "PROSODY_COMPONENT_PORT": str(config.component_port),
        }
        self.processes: dict[str, ManagedProcess] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.portal_port}"

    def migrate(self, template: Path | None = None) -> None:
        """A migrated database: a copy of `template` when given (same migrations)."""
        database = self.runtime_dir / "portal.sqlite3"
        if template is not None and template.exists():
            shutil.copyfile(template, database)
        self.manage("migrate", "--noinput", "-v0")

    def start(self) -> None:
        super().start()
        portal = [*MANAGE, "runserver", f"127.0.0.1:{self.portal_port}", "--noreload"]
        self._spawn("portal", portal, port_open(self.portal_port))
        self._spawn("bridge", ["-m", "bridge"], log_line("connected to Prosody"))
        for process in self.processes.values():
            process.wait_ready()

    def stop(self) -> None:
        for name in ("bridge", "portal"):
            process = self.processes.pop(name, None)
            if process is not None:
                process.stop()
        super().stop()

    def _spawn(self, name: str, args: list[str], ready) -> None:
        self.processes[name] = ManagedProcess(
            name,
            [sys.executable, *args],
            log_path=self.runtime_dir / f"{name}.log",
            env=self.env,
            cwd=REPO_DIR,
            ready=[ready],
        ).start(wait=False)

    def output(self, name: str) -> str:
        path = self.runtime_dir / f"{name}.log"
        return path.read_text() if path.exists() else ""

    def manage(self, *args: str) -> str:
        """`python -m portal.manage ARGS` with this stack's settings; its standard output."""
        result = subprocess.run(
            [sys.executable, *MANAGE, *args], env=self.env, cwd=REPO_DIR,
            capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "--no-imports", "-c", code)

    def sign_up(self, username: str, password: str) -> "PortalSession":
        """Sign up through the portal's real signup page (CSRF and all)."""
        session = PortalSession(self.url)
        email = f"{username}@{self.domain}.example"
        session.post_form("/accounts/signup/", signup_form(username, password, email))
        if session.last_url.endswith("/accounts/signup/"):
            raise AssertionError(f"signup of {username} refused")
        return session

    def person(self, username: str, password: str) -> str:
        """Someone who signed up in the portal and whose XMPP account is ready; their JID."""
        self.sign_up(username, password)
        return wait_until_provisioned(self, username, password)

    def sign_in(self, username: str, password: str) -> "PortalSession":
        session = PortalSession(self.url)
        session.post_form("/accounts/login/", {"login": username, "password": password})
        if session.last_url.endswith("/accounts/login/"):
            raise AssertionError(f"{username} could not sign in")
        return session


class PortalSession:
    """A browser-like HTTP session with one portal: cookies, CSRF tokens."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.last_url = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=15) as response:
            self.last_url = response.url
            return response.read().decode()

    def post_form(self, path: str, fields: dict[str, str], files=None) -> str:
        """Submit the form on `path` as a browser would; `files`: {name: (filename, bytes)}."""
        page = self.get(path)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        fields = {**fields, "csrfmiddlewaretoken": token}
        if files:
            data, content_type = _multipart(fields, files)
            headers = {"Content-Type": content_type}
        else:
            data, headers = urllib.parse.urlencode(fields).encode(), {}
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
        with self.opener.open(request, timeout=15) as response:
            self.last_url = response.url
            return response.read().decode()


class Federation:
    """Stacks sharing one network; every one started here is stopped by stop_all()."""

    def __init__(self, directory: Path, domains: list[str]):
        self.directory = directory
        self.network = Network(directory, domains)
        self.started: list[XmppServer] = []
        self._template: Path | None = None

    def chatboard(self, domain: str, settings=None, **prosody) -> ChatBoardStack:
        runtime_dir = self.directory / domain
        stack = ChatBoardStack(self.network, domain, runtime_dir, settings, **prosody)
        stack.migrate(template=self._template)
        if self._template is None:  # a pristine copy: later stacks skip most of migrate
            self._template = self.directory / "migrated.sqlite3"
            shutil.copyfile(stack.runtime_dir / "portal.sqlite3", self._template)
        self.started.append(stack)
        stack.start()
        return stack

    def plain(self, domain: str, **prosody) -> PlainXmppServer:
        server = PlainXmppServer(self.network, domain, self.directory / domain, **prosody)
        self.started.append(server)
        server.start()
        return server

    def stop_all(self) -> None:
        for server in reversed(self.started):
            server.stop()


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n')
        parts.append(f"{value}\r\n")
    body = "".join(parts).encode()
    for name, (filename, content) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        body += head.encode() + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# ---------- fixtures (session-wide: starting a stack costs a few seconds) ----------

FEDERATION_DOMAINS = ["a.test", "b.test", "c.test", "untrusted.test"]


@pytest.fixture(scope="session")
def federation(tmp_path_factory):
    """The shared network; every stack started on it is stopped at the end."""
    federation = Federation(tmp_path_factory.mktemp("federation"), FEDERATION_DOMAINS)
    yield federation
    federation.stop_all()


@pytest.fixture(scope="session")
def a(federation) -> ChatBoardStack:
    return federation.chatboard("a.test")


@pytest.fixture(scope="session")
def b(federation) -> ChatBoardStack:
    return federation.chatboard("b.test")


@pytest.fixture(scope="session")
def c(federation) -> PlainXmppServer:
    """Any other XMPP server: stock Prosody, its certificate from the trusted CA."""
    return federation.plain("c.test")
