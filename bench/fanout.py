"""Room fan-out: N occupants in one room, 5 of them sending.

Phases, each measured on its own:
- paced: 10 messages/s in total, spread over the senders (latency at low load);
- closed loop: each sender keeps one message in flight (sends the next when the
  room reflects its previous one back), which finds the saturation rate without
  building queues;
- open loop: each sender fires a burst without waiting; every occupant must
  still receive every message (losses are counted per occupant).

A delivery is one message arriving at one occupant (the sender's own echo
included), so a message sent to a room of N makes N deliveries. Bodies carry
phase, sender, sequence number and send time (CLOCK_MONOTONIC, shared by all
processes), so latency is measured at each receiver without a second parse.

All accounts share one password and salt so the load tool derives the SCRAM
key once (login cost is the login storm's subject, not this one's).
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

SENDERS = 5
PACED_RATE = 10.0
PASSWORD = "fan-out-password"
SALT = "fan-out-salt"
ROOM = "fanout@conference.localhost"


@dataclass
class Profile:
    paced_seconds: float = 3.0
    closed_seconds: float = 3.0
    burst_per_sender: int = 20
    quiet_seconds: float = 10.0  # no delivery for this long: what is missing is lost


class Room:
    """The load side: N lean clients in one room, counting what each receives."""

    def __init__(self, config, count: int):
        self.config = config
        self.count = count
        self.clients: list[LeanClient] = []
        self.phases: dict[bytes, Phase] = {}
        self.echoes = [asyncio.Event() for _ in range(SENDERS)]
        self.tasks: list[asyncio.Task] = []

    def _on_body(self, index: int):
        sender_id = str(index).encode()
        phases, echo = self.phases, self.echoes[index] if index < SENDERS else None

        def on_body(body: bytes, received_ns: int) -> None:
            parts = body.split(b":")
            if len(parts) != 4 or (phase := phases.get(parts[0])) is None:
                return
            phase.latencies_ns.append(received_ns - int(parts[3]))
            phase.received[index] += 1
            phase.last_receive_ns = received_ns
            if echo is not None and parts[1] == sender_id:
                echo.set()

        return on_body

    async def enter(self) -> dict:
        context = ssl.create_default_context(
            cafile=str(self.config.runtime_dir / "certs/localhost.crt")
        )

        async def one(index: int) -> float:
            client = LeanClient("127.0.0.1", self.config.c2s_port, "localhost", context)
            self.clients.append(client)
            await client.login(f"occupant{index}", PASSWORD)
            logged_in = time.perf_counter()
            await client.join_room(ROOM, f"occupant{index}")
            self.tasks.append(asyncio.create_task(client.receive_bodies(self._on_body(index))))
            return logged_in

        started = time.perf_counter()
        first = await one(0)  # creates the room
        rest = await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(1, self.count))), 120)
        joined = time.perf_counter()
        # Keep the clients in index order for the senders.
        self.clients.sort(key=lambda c: int(c.jid.split("@")[0][len("occupant") :]))
        return {
            "connect_join_s": round(joined - started, 3),
            "all_logged_in_s": round(max([first, *rest]) - started, 3),
        }

    def _begin(self, tag: bytes) -> Phase:
        phase = Phase(self.count, first_send_ns=time.monotonic_ns())
        self.phases[tag] = phase
        return phase

    def _send(self, tag: bytes, phase: Phase, sender: int, seq: int) -> None:
        body = f"{tag.decode()}:{sender}:{seq}:{time.monotonic_ns()}"
        self.clients[sender].send_groupchat(ROOM, body)
        phase.sent += 1

    async def paced(self, seconds: float) -> Phase:
        phase = self._begin(b"p")
        start = time.monotonic()
        for k in range(int(seconds * PACED_RATE)):
            await asyncio.sleep(max(0.0, start + k / PACED_RATE - time.monotonic()))
            self._send(b"p", phase, k % SENDERS, k)
        return phase

    async def closed_loop(self, seconds: float) -> Phase:
        phase = self._begin(b"c")
        until = time.monotonic() + seconds

        async def sender(index: int) -> None:
            seq = 0
            while time.monotonic() < until:
                self.echoes[index].clear()
                self._send(b"c", phase, index, seq)
                # Generous: in a room beyond the server's capacity a backlog builds.
                await asyncio.wait_for(self.echoes[index].wait(), 600)
                seq += 1

        await asyncio.gather(*(sender(i) for i in range(SENDERS)))
        return phase

    async def open_loop(self, per_sender: int) -> Phase:
        phase = self._begin(b"o")
        for seq in range(per_sender):
            for index in range(SENDERS):
                self._send(b"o", phase, index, seq)
        return phase

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for client in self.clients:
            client.close()


async def measure(config, pid: int, count: int, profile: Profile) -> dict:
    room = Room(config, count)

    def usage():
        return process_cpu_seconds(pid), time.process_time()

    try:
        before = usage()
        result = await room.enter()
        result["join_prosody_cpu_s"] = round(usage()[0] - before[0], 2)
        result["join_load_tool_cpu_s"] = round(usage()[1] - before[1], 2)
        phases = {
            "paced": lambda: room.paced(profile.paced_seconds),
            "closed_loop": lambda: room.closed_loop(profile.closed_seconds),
            "open_loop": lambda: room.open_loop(profile.burst_per_sender),
        }
        for name, run_phase in phases.items():
            if name == "paced" and not profile.paced_seconds:
                continue
            before = usage()
            phase = await run_phase()
            await drain(phase, phase.sent * count, profile.quiet_seconds, lambda: usage()[0])
            after = usage()
            report = phase_report(phase, phase.sent)
            prosody_cpu = after[0] - before[0]
            result[name] = {
                **report,
                "prosody_cpu_s": round(prosody_cpu, 2),
                "load_tool_cpu_s": round(after[1] - before[1], 2),
                # CPU per delivery holds still on a noisy machine where rates do not.
                "prosody_us_per_delivery": round(prosody_cpu / max(report["deliveries"], 1) * 1e6),
            }
        result["prosody_rss_mb"] = round(process_rss_mb(pid), 1)
    finally:
        room.close()
    return result


def run_size(count: int, profile: Profile, **prosody_settings) -> dict:
    from accounts.scram import derive_scram_sha1

    credentials = derive_scram_sha1(PASSWORD, 10000, salt=SALT)
    accounts = {f"occupant{i}": credentials for i in range(count)}
    with (
        tempfile.TemporaryDirectory() as tmp,
        prosody(Path(tmp), "x" * 48, accounts, **prosody_settings) as (config, server),
    ):
        return asyncio.run(measure(config, server.process.pid, count, profile))


# Prosody settings that could matter for a room's throughput, each compared with
# the production template at one size (closed and open loop).
NO_MUC_ARCHIVE = {"muc_log_by_default = true": "muc_log_by_default = false"}
CONFIGURATIONS = {
    "production_template": {},
    # The template's per-connection rate limit (the other cases lift it).
    "production_c2s_rate": {"c2s_rate": None},
    "no_muc_archive": {"replace": NO_MUC_ARCHIVE},
    "no_muc_archive_no_history": {
        "replace": {
            **NO_MUC_ARCHIVE,
            "muc_room_default_history_length = 50": "muc_room_default_history_length = 0",
        }
    },
    "sql_storage": {
        "replace": {
            'storage = "internal"': 'default_storage = "sql"\nstorage = { accounts = "internal" }',
            "sql = nil": 'sql = { driver = "SQLite3", database = "prosody.sqlite" }',
        }
    },
}


def run(
    sizes: list[int],
    profile: Profile,
    compare_occupants: int | None = None,
    configurations: list[str] | None = None,
) -> dict:
    """`configurations`: names from CONFIGURATIONS to compare (default: all)."""
    from stack.prosody import ProsodyConfig

    results = {"sizes": {}}
    for n in sizes:
        try:
            results["sizes"][str(n)] = {"occupants": n, **run_size(n, profile)}
        except Exception as error:  # a size too large for this machine; the others count
            results["sizes"][str(n)] = {"occupants": n, "error": f"{type(error).__name__}: {error}"}
    if compare_occupants:
        compare = Profile(
            paced_seconds=0,
            closed_seconds=profile.closed_seconds,
            burst_per_sender=profile.burst_per_sender,
        )
        production_rate = ProsodyConfig.__dataclass_fields__["c2s_rate"].default
        results["configurations"] = {"occupants": compare_occupants}
        for name in configurations or CONFIGURATIONS:
            settings = CONFIGURATIONS[name]
            if "c2s_rate" in settings:
                settings = {**settings, "c2s_rate": production_rate}
            results["configurations"][name] = run_size(compare_occupants, compare, **settings)
        results["production_c2s_rate"] = production_rate
    return results
