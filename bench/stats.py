"""Counting deliveries and latencies of benchmark messages, shared by the scenarios."""

import asyncio
import time
from dataclasses import dataclass, field


@dataclass
class Phase:
    """One measured phase: messages sent, and per receiver what arrived."""

    receivers: int
    sent: int = 0
    first_send_ns: int = 0
    last_receive_ns: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    received: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.received = [0] * self.receivers


def percentile(sorted_values: list, fraction: float):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def phase_report(phase: Phase, expected_per_receiver: int) -> dict:
    """expected_per_receiver: how many bench messages each receiver should have."""
    latencies = sorted(phase.latencies_ns)
    deliveries = sum(phase.received)
    seconds = max(phase.last_receive_ns - phase.first_send_ns, 1) / 1e9

    def ms(fraction):
        value = percentile(latencies, fraction)
        return None if value is None else round(value / 1e6, 1)

    return {
        "messages_sent": phase.sent,
        "deliveries": deliveries,
        "deliveries_per_s": round(deliveries / seconds),
        "lost": sum(max(0, expected_per_receiver - r) for r in phase.received),
        "duplicates": sum(max(0, r - expected_per_receiver) for r in phase.received),
        "p50_ms": ms(0.50),
        "p95_ms": ms(0.95),
        "p99_ms": ms(0.99),
        "seconds": round(seconds, 2),
    }


async def drain(phase: Phase, expected: int, quiet_seconds: float, server_cpu=None) -> None:
    """Wait until `expected` deliveries arrived, or until nothing arrived and the
    server did no work for `quiet_seconds` (what is still missing then is lost).
    `server_cpu()` returns the server's CPU seconds: a server still working on a
    backlog is not quiet (Prosody handles everything one read brought before it
    writes, so a burst into a large room delivers nothing for seconds)."""
    last_count, last_cpu, last_progress = -1, -1.0, time.monotonic()
    while (count := sum(phase.received)) < expected:
        cpu = server_cpu() if server_cpu else 0.0
        if count != last_count or cpu > last_cpu + 0.05:
            last_count, last_cpu, last_progress = count, cpu, time.monotonic()
        elif time.monotonic() - last_progress > quiet_seconds:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # late duplicates would show up too
