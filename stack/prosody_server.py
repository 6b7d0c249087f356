"""Prosody processes: one running a rendered config, and throwaway ones on free
ports with accounts of their own (the tests' and the benchmarks' servers)."""

import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stack.env import env_str
from stack.ports import free_port, release_port
from stack.process import ManagedProcess, port_open
from stack.prosody import ProsodyConfig

# The launcher script itself, so that a wrapper can run it with the interpreter.
# CHATBOARD_PROSODY names another one (the bench compares Prosody 13.0 this way).
PROSODY = env_str("CHATBOARD_PROSODY") or shutil.which("prosody") or "prosody"
PORT_FIELDS = ("c2s_port", "c2s_direct_tls_port", "s2s_port", "http_port", "component_port")
# Prosody logs these and keeps running when a port it was given is taken.
PORT_FAILURES = ("Failed to open server port", "Multiple services configured to listen")


class ProsodyServer:
    """One Prosody process running `config` in the foreground."""

    def __init__(
        self, config: ProsodyConfig, wrapper: tuple[str, ...] = (), launcher: str | None = None
    ):
        """`wrapper`: a command Prosody's interpreter runs under (a profiler);
        `launcher`: another Prosody's launcher script than PROSODY."""
        self.config = config
        self.wrapper = wrapper
        self.launcher = launcher or PROSODY
        self.process: ManagedProcess | None = None

    @property
    def domain(self) -> str:
        return self.config.domain

    @property
    def c2s_port(self) -> int:
        return self.config.c2s_port

    @property
    def ca_file(self) -> Path:
        """What a client trusts: the development certificate ProsodyConfig.write made."""
        return self.config.runtime_dir / "certs" / f"{self.domain}.crt"

    @property
    def data_path(self) -> Path:
        return self.config.data_path

    def start(self, timeout: float = 15) -> "ProsodyServer":
        path = self.config.write()
        self.process = ManagedProcess(
            "prosody",
            [*self.wrapper, self.launcher, "--config", path, "-F"],
            log_path=self.config.runtime_dir / "prosody.out",
            env={**os.environ, "LANG": "C.UTF-8"},
            ready=[port_open(self.config.c2s_port), port_open(self.config.component_port)],
            ready_timeout=timeout,
        ).start()
        return self

    def stop(self, grace: float = 10) -> None:
        if self.process is not None:
            self.process.stop(grace)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        """Prosody's log (its own file, or its console output)."""
        path = self.config.log_path
        if not self.config.log_to_console and path.exists():
            return path.read_text(errors="replace")
        return self.process.log_text() if self.process else ""

    def port_failure(self) -> str | None:
        """Prosody's complaint when one of its ports was taken, if any."""
        log = self.log_text()
        return next(
            (line for line in log.splitlines() if any(f in line for f in PORT_FAILURES)), None
        )


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_accounts(data_path: Path, domain: str, credentials: dict) -> None:
    """Accounts written straight into Prosody's internal storage, as
    mod_chatboard_accounts stores them. credentials: username -> an object with
    iterations, salt, server_key and stored_key (accounts.scram.ScramCredentials)."""
    directory = data_path / domain.replace(".", "%2e") / "accounts"
    directory.mkdir(parents=True, exist_ok=True)
    for username, cred in credentials.items():
        (directory / f"{username}.dat").write_text(
            "return {\n"
            f'\t["iteration_count"] = {cred.iterations};\n'
            f'\t["salt"] = {_lua_string(cred.salt)};\n'
            f'\t["server_key"] = {_lua_string(cred.server_key)};\n'
            f'\t["stored_key"] = {_lua_string(cred.stored_key)};\n'
            "};\n"
        )


@contextmanager
def throwaway_prosody(
    runtime_dir: Path,
    *,
    domain: str = "localhost",
    token_secret: str | None = None,
    bridge_secret: str | None = None,
    accounts: dict | None = None,
    config_class: type[ProsodyConfig] = ProsodyConfig,
    attempts: int = 3,
    wrapper: tuple[str, ...] = (),
    launcher: str | None = None,
    start_timeout: float = 15,
    **settings,
) -> Iterator[ProsodyServer]:
    """A Prosody of its own on reserved free ports, loopback only, logging to its
    file, with `accounts` (see write_accounts) in its storage; stopped and its
    ports released on the way out. `settings`: other ProsodyConfig fields;
    `wrapper`, `launcher`: see ProsodyServer."""
    for attempt in range(attempts):
        ports = {name: free_port() for name in PORT_FIELDS}
        values = {
            "runtime_dir": runtime_dir,
            "domain": domain,
            "token_secret": token_secret or secrets.token_urlsafe(48),
            "bridge_secret": bridge_secret or secrets.token_urlsafe(24),
            "interfaces": ["127.0.0.1"],
            "log_to_console": False,
            # Every local client connects from 127.0.0.1; who measures or tests
            # the per-address limit sets its own.
            "connection_burst": 0,
            **ports,
            **settings,
        }
        config = config_class(**values)
        config.log_path.unlink(missing_ok=True)  # only this attempt's messages
        write_accounts(config.data_path, config.domain, accounts or {})
        server = ProsodyServer(config, wrapper, launcher).start(start_timeout)
        failure = server.port_failure()
        if failure is None:
            break
        # Someone who does not reserve ports took one meanwhile: other ports.
        server.stop()
        for port in ports.values():
            release_port(port)
        if attempt == attempts - 1:
            raise RuntimeError(f"Prosody could not open its ports: {failure}")
    try:
        yield server
    finally:
        server.stop()
        for port in ports.values():
            release_port(port)
