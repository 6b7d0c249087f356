"""Prosody instances for benchmarks: free ports, a fresh data directory, accounts
written straight into Prosody's internal storage (provisioning is not measured)."""

import os
import secrets
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stack.prosody import MODULES_DIR, ProsodyConfig, ProsodyServer, lua

BENCH_MODULES_DIR = Path(__file__).resolve().parent / "lua"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct free ports: each socket stays bound until all are chosen (one at
    a time, the kernel may hand out the same port twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


PORT_FIELDS = ("c2s_port", "c2s_direct_tls_port", "s2s_port", "http_port", "component_port")
PORT_FAILURES = ("Failed to open server port", "Multiple services configured to listen")


def port_settings() -> dict[str, int]:
    return dict(zip(PORT_FIELDS, free_ports(len(PORT_FIELDS)), strict=True))


def start_prosody(make_config, attempts: int = 3) -> ProsodyServer:
    """Start Prosody on fresh ports, again on other ports if one was taken in the
    meantime (another process on this shared machine may grab it first).
    `make_config(ports)` returns a ProsodyConfig for the given port settings."""
    for _ in range(attempts):
        config = make_config(port_settings())
        config.log_path.unlink(missing_ok=True)  # only this attempt's messages
        server = ProsodyServer(config).start()
        log = config.log_path.read_text() if config.log_path.exists() else ""
        if not any(failure in log for failure in PORT_FAILURES):
            return server
        server.stop()
    raise RuntimeError(f"Prosody could not open its ports:\n{log[-2000:]}")


def lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_accounts(data_path: Path, domain: str, credentials: dict) -> None:
    """credentials: username -> accounts.scram.ScramCredentials."""
    directory = data_path / domain.replace(".", "%2e") / "accounts"
    directory.mkdir(parents=True, exist_ok=True)
    for username, cred in credentials.items():
        (directory / f"{username}.dat").write_text(
            "return {\n"
            f'\t["iteration_count"] = {cred.iterations};\n'
            f'\t["salt"] = {lua_string(cred.salt)};\n'
            f'\t["server_key"] = {lua_string(cred.server_key)};\n'
            f'\t["stored_key"] = {lua_string(cred.stored_key)};\n'
            "};\n"
        )


@dataclass
class BenchProsodyConfig(ProsodyConfig):
    """The production template with a few lines replaced, to compare configurations
    (e.g. MUC archiving off). Each replaced text must exist in the template."""

    replace: dict[str, str] = field(default_factory=dict)
    # Global settings added to the template (e.g. `gc = { ... }`).
    extra_settings: str = ""
    # Modules from bench/lua loaded on the VirtualHost (e.g. the profiler).
    bench_modules: list[str] = field(default_factory=list)
    # Module names taken out of the template's modules_enabled lists.
    without_modules: list[str] = field(default_factory=list)

    def render(self) -> str:
        text = super().render()
        for old, new in self.replace.items():
            if old not in text:
                raise ValueError(f"{old!r} is not in the Prosody config template")
            text = text.replace(old, new)
        for name in self.without_modules:
            if f'"{name}";' not in text and f'"{name}" ' not in text:
                raise ValueError(f"{name!r} is not enabled in the Prosody config template")
            text = text.replace(f'"{name}";', "").replace(f'"{name}" ', "")
        if self.bench_modules:
            plugins = f"plugin_paths = {{ {lua(str(MODULES_DIR))} }}"
            text = text.replace(plugins, plugins[:-2] + f", {lua(str(BENCH_MODULES_DIR))} }}")
            enabled = "".join(f"{lua(name)}; " for name in self.bench_modules)
            text = text.replace("modules_enabled = {", "modules_enabled = { " + enabled, 1)
        if self.extra_settings:
            marker = "---------- Modules ----------"
            text = text.replace(marker, self.extra_settings + "\n" + marker)
        return text


# The benchmark lifts the c2s rate limit unless a case asks for the production one
# (ProsodyConfig.c2s_rate): the load tool sends from few connections.
BENCH_C2S_RATE = "10mb/s"
# Every benchmark client connects from 127.0.0.1 and the senders carry a whole
# room's traffic: the per-address connection and per-occupant message limits
# would measure themselves.
BENCH_LIMITS = {"connection_burst": 0, "muc_message_rate": 0}


@contextmanager
def prosody(runtime_dir: Path, token_secret: str, accounts: dict, **overrides):
    overrides = {"c2s_rate": BENCH_C2S_RATE, **BENCH_LIMITS, **overrides}

    def make_config(ports: dict[str, int]) -> BenchProsodyConfig:
        config = BenchProsodyConfig(
            runtime_dir=runtime_dir,
            domain="localhost",
            token_secret=token_secret,
            bridge_secret=secrets.token_urlsafe(24),
            interfaces=["127.0.0.1"],
            log_to_console=False,
            **ports,
            **overrides,
        )
        write_accounts(config.data_path, config.domain, accounts)
        return config

    server = start_prosody(make_config)
    config = server.config
    try:
        yield config, server
    finally:
        server.stop()


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def process_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
