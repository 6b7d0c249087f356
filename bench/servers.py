"""Prosody instances for benchmarks: free ports, a fresh data directory, accounts
written straight into Prosody's internal storage (provisioning is not measured)."""

import os
import secrets
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stack.prosody import ProsodyConfig, ProsodyServer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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

    def render(self) -> str:
        text = super().render()
        for old, new in self.replace.items():
            if old not in text:
                raise ValueError(f"{old!r} is not in the Prosody config template")
            text = text.replace(old, new)
        return text


# The benchmark lifts the c2s rate limit unless a case asks for the production one
# (ProsodyConfig.c2s_rate): the load tool sends from few connections.
BENCH_C2S_RATE = "10mb/s"


@contextmanager
def prosody(runtime_dir: Path, token_secret: str, accounts: dict, **overrides):
    overrides = {"c2s_rate": BENCH_C2S_RATE, **overrides}
    config = BenchProsodyConfig(
        runtime_dir=runtime_dir,
        domain="localhost",
        token_secret=token_secret,
        bridge_secret=secrets.token_urlsafe(24),
        c2s_port=free_port(),
        c2s_direct_tls_port=free_port(),
        s2s_port=free_port(),
        http_port=free_port(),
        component_port=free_port(),
        interfaces=["127.0.0.1"],
        log_to_console=False,
        **overrides,
    )
    write_accounts(config.data_path, config.domain, accounts)
    server = ProsodyServer(config).start()
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
