"""1:1 messages: P pairs, each sender writing to its partner's bare JID (so the
message takes the full path: routing to the account, the archive of both sides
(MAM, default policy on), carbons).

Phases as in the room fan-out: closed loop (one message in flight per pair:
the sender sends the next when its partner received the previous one) and an
open-loop burst (every message must arrive).
"""

import asyncio
import ssl
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.lean_client import LeanClient
from bench.servers import process_cpu_seconds, process_rss_mb, prosody
from bench.stats import Phase, drain, phase_report

PASSWORD = "direct-password"
SALT = "direct-salt"


@dataclass
class Profile:
    closed_seconds: float = 3.0
    burst_per_sender: int = 20
    quiet_seconds: float = 10.0


class Pairs:
    def __init__(self, config, pairs: int):
        self.config = config
        self.pairs = pairs
        self.senders: list[LeanClient] = []
        self.receivers: list[LeanClient] = []
        self.arrived = [asyncio.Event() for _ in range(pairs)]
        self.phases: dict[bytes, Phase] = {}
        self.tasks: list[asyncio.Task] = []

    def _on_body(self, index: int):
        phases, arrived = self.phases, self.arrived[index]

        def on_body(body: bytes, received_ns: int) -> None:
            parts = body.split(b":")
            if len(parts) != 3 or (phase := phases.get(parts[0])) is None:
                return
            phase.latencies_ns.append(received_ns - int(parts[2]))
            phase.received[index] += 1
            phase.last_receive_ns = received_ns
            arrived.set()

        return on_body

    async def connect(self) -> float:
        context = ssl.create_default_context(
            cafile=str(self.config.runtime_dir / "certs/localhost.crt")
        )

        async def one(name: str) -> LeanClient:
            client = LeanClient("127.0.0.1", self.config.c2s_port, "localhost", context)
            await client.login(name, PASSWORD)
            client.send("<presence/>")  # available: messages to the bare JID reach it
            return client

        started = time.perf_counter()
        self.senders = await asyncio.gather(*(one(f"alice{i}") for i in range(self.pairs)))
        self.receivers = await asyncio.gather(*(one(f"bob{i}") for i in range(self.pairs)))
        for index, client in enumerate(self.receivers):
            self.tasks.append(asyncio.create_task(client.receive_bodies(self._on_body(index))))
        for client in self.senders:  # their own presence echoes; nothing to count
            self.tasks.append(asyncio.create_task(client.receive_bodies(lambda *_: None)))
        await asyncio.sleep(0.2)  # initial presences settle
        return round(time.perf_counter() - started, 3)

    def _send(self, tag: bytes, phase: Phase, index: int, seq: int) -> None:
        self.senders[index].send_chat(
            f"bob{index}@localhost", f"{tag.decode()}:{seq}:{time.monotonic_ns()}"
        )
        phase.sent += 1

    def _begin(self, tag: bytes) -> Phase:
        phase = Phase(self.pairs, first_send_ns=time.monotonic_ns())
        self.phases[tag] = phase
        return phase

    async def closed_loop(self, seconds: float) -> Phase:
        phase = self._begin(b"c")
        until = time.monotonic() + seconds

        async def pair(index: int) -> None:
            seq = 0
            while time.monotonic() < until:
                self.arrived[index].clear()
                self._send(b"c", phase, index, seq)
                await asyncio.wait_for(self.arrived[index].wait(), 30)
                seq += 1

        await asyncio.gather(*(pair(i) for i in range(self.pairs)))
        return phase

    async def open_loop(self, per_sender: int) -> Phase:
        phase = self._begin(b"o")
        for seq in range(per_sender):
            for index in range(self.pairs):
                self._send(b"o", phase, index, seq)
        return phase

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for client in [*self.senders, *self.receivers]:
            client.close()


async def measure(config, pid: int, pairs: int, profile: Profile) -> dict:
    load = Pairs(config, pairs)

    def usage():
        return process_cpu_seconds(pid), time.process_time()

    try:
        result = {"pairs": pairs, "connect_s": await load.connect()}
        for name, run_phase in {
            "closed_loop": lambda: load.closed_loop(profile.closed_seconds),
            "open_loop": lambda: load.open_loop(profile.burst_per_sender),
        }.items():
            before = usage()
            phase = await run_phase()
            await drain(phase, phase.sent, profile.quiet_seconds, lambda: usage()[0])
            after = usage()
            # Each receiver gets what its own sender sent: per pair, sent / pairs.
            report = phase_report(phase, 0)
            report["lost"] = phase.sent - sum(phase.received)
            report.pop("duplicates")
            report["messages_per_s"] = report.pop("deliveries_per_s")
            result[name] = {
                **report,
                "prosody_cpu_s": round(after[0] - before[0], 2),
                "load_tool_cpu_s": round(after[1] - before[1], 2),
            }
        result["prosody_rss_mb"] = round(process_rss_mb(pid), 1)
    finally:
        load.close()
    return result


def run(pairs: int, profile: Profile) -> dict:
    from portal.accounts.scram import derive_scram_sha1

    credentials = derive_scram_sha1(PASSWORD, 10000, salt=SALT)
    names = [f"{side}{i}" for side in ("alice", "bob") for i in range(pairs)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        prosody(Path(tmp), "x" * 48, dict.fromkeys(names, credentials)) as (config, server),
    ):
        return asyncio.run(measure(config, server.process.pid, pairs, profile))
