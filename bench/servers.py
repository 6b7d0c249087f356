"""Prosody instances for benchmarks: throwaway servers (stack.prosody_server) on
free ports, accounts written straight into Prosody's internal storage
(provisioning is not measured), and configurations to compare."""

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from stack.prosody import MODULES_DIR, ProsodyConfig, lua
from stack.prosody_server import throwaway_prosody

BENCH_MODULES_DIR = Path(__file__).resolve().parent / "lua"


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
    """A throwaway Prosody (stack.prosody_server) with the bench's limits lifted."""
    settings = {"c2s_rate": BENCH_C2S_RATE, **BENCH_LIMITS, **overrides}
    with throwaway_prosody(
        runtime_dir,
        token_secret=token_secret,
        accounts=accounts,
        config_class=BenchProsodyConfig,
        **settings,
    ) as server:
        yield server.config, server


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
