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
import os
import re
import signal
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
    # For all N to connect and join: N joins are about N² presences, and a 1,000
    # room under Prosody's default collector took over 250 s on a shared machine.
    join_timeout: float = 600.0


class Room:
    """The load side: N lean clients in one room, counting what each receives."""

    def __init__(
        self, config, count: int, stream_management: bool = False, join_timeout: float = 120
    ):
        self.config = config
        self.count = count
        self.join_timeout = join_timeout
        self.stream_management = stream_management
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
            return logged_in

        started = time.perf_counter()
        first = await one(0)  # creates the room
        rest = await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(1, self.count))), self.join_timeout
        )
        joined = time.perf_counter()
        # Keep the clients in index order for the senders.
        self.clients.sort(key=lambda c: int(c.jid.split("@")[0][len("occupant") :]))
        if self.stream_management:
            # Once the room is quiet: every stanza from here on carries a body.
            await asyncio.gather(*(client.enable_sm() for client in self.clients))
        for index, client in enumerate(self.clients):
            self.tasks.append(asyncio.create_task(client.receive_bodies(self._on_body(index))))
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


class LuaProfile:
    """Drives bench/lua/mod_bench_profile.lua over a control connection of its own
    (not in the room): reset before a phase, dump after it."""

    NS = "urn:chatboard:bench:profile"

    def __init__(self, config, directory: Path):
        self.config, self.directory = config, directory
        self.client: LeanClient | None = None
        self.phases: dict[str, dict] = {}

    async def open(self) -> None:
        context = ssl.create_default_context(
            cafile=str(self.config.runtime_dir / "certs/localhost.crt")
        )
        self.client = LeanClient("127.0.0.1", self.config.c2s_port, "localhost", context)
        await self.client.login("occupant0", PASSWORD)

    async def _control(self, action: str, path: str = "") -> None:
        extra = f" path='{path}'" if path else ""
        reply = await self.client.iq(
            f"<iq type='set' id='profile-{action}' to='localhost'>"
            f"<profile xmlns='{self.NS}' action='{action}'{extra}/></iq>"
        )
        while f"id='profile-{action}'".encode() not in reply:
            # The server's pings (this connection is otherwise silent) come first.
            if match := re.search(rb"<iq id='([^']+)' type='get'[^>]*>\s*<ping", reply):
                self.client.send(f"<iq type='result' id='{match.group(1).decode()}'/>")
            reply = await self.client.iq("")
        if b"type='result'" not in reply:
            raise RuntimeError(f"profiler {action} failed: {reply[:300]!r}")

    async def reset(self) -> None:
        await self._control("reset")

    async def dump(self, phase: str, units: int, unit: str) -> None:
        path = self.directory / f"profile-{phase}.tsv"
        await self._control("dump", str(path))
        self.phases[phase] = summarise_profile(path.read_text(), units, unit)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


async def lua_heap(config, pid: int, timeout: float = 10) -> tuple[float, float]:
    """Prosody's Lua heap (MB) before and after a full collection: garbage not
    yet collected against live data (bench/lua/mod_bench_memory.lua, on SIGUSR2).
    The rest of the RSS is memory outside Lua: OpenSSL, the XML parser, malloc."""
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = config.log_path.read_text(errors="replace") if config.log_path.exists() else ""
        if found := LUA_HEAP.findall(log):
            before, live = found[-1]
            return round(int(before) / 1024, 1), round(int(live) / 1024, 1)
        await asyncio.sleep(0.1)
    raise TimeoutError("Prosody did not report its Lua heap")


LUA_HEAP = re.compile(r"before full collection (\d+) kB, live (\d+) kB")


def summarise_profile(text: str, units: int, unit: str, top: int = 25) -> dict:
    """The profiler's dump as the top functions by self and inclusive time, in µs
    per unit of work (a delivery, a join presence)."""
    total, rows = 0.0, {"self": [], "inclusive": []}
    for line in text.splitlines():
        kind, seconds, samples, function = line.split("\t", 3)
        if kind == "total":
            total = float(seconds)
        else:
            rows[kind].append((float(seconds), int(samples), function))
    summary = {"unit": unit, "units": units, "profiled_cpu_s": round(total, 3)}
    for kind, entries in rows.items():
        entries.sort(reverse=True)
        summary[kind] = [
            {
                "function": function,
                "us_per_unit": round(seconds / max(units, 1) * 1e6, 2),
                "share": round(seconds / total, 3) if total else None,
                **({"samples": samples} if kind == "self" else {}),
            }
            for seconds, samples, function in entries[:top]
        ]
    return summary


async def measure(
    config,
    pid: int,
    count: int,
    profile: Profile,
    stream_management: bool = False,
    lua_profile: LuaProfile | None = None,
    lua_memory: bool = False,
) -> dict:
    room = Room(config, count, stream_management, profile.join_timeout)

    def usage():
        return process_cpu_seconds(pid), time.process_time()

    try:
        if lua_profile:
            await lua_profile.open()
            await lua_profile.reset()
        before = usage()
        result = await room.enter()
        result["join_prosody_cpu_s"] = round(usage()[0] - before[0], 2)
        result["join_load_tool_cpu_s"] = round(usage()[1] - before[1], 2)
        # The k-th to join gets k-1 presences of those in and its own is sent to k.
        result["join_presences"] = count * count
        result["join_prosody_us_per_presence"] = round(
            result["join_prosody_cpu_s"] / (count * count) * 1e6, 1
        )
        if lua_profile:
            await lua_profile.dump("join", count * count, "join presence")
        phases = {
            "paced": lambda: room.paced(profile.paced_seconds),
            "closed_loop": lambda: room.closed_loop(profile.closed_seconds),
            "open_loop": lambda: room.open_loop(profile.burst_per_sender),
        }
        for name, run_phase in phases.items():
            if name == "paced" and not profile.paced_seconds:
                continue
            if lua_profile:
                await lua_profile.reset()
            before = usage()
            phase = await run_phase()
            await drain(phase, phase.sent * count, profile.quiet_seconds, lambda: usage()[0])
            after = usage()
            report = phase_report(phase, phase.sent)
            if lua_profile:
                await lua_profile.dump(name, report["deliveries"], "delivery")
            prosody_cpu = after[0] - before[0]
            result[name] = {
                **report,
                "prosody_cpu_s": round(prosody_cpu, 2),
                "load_tool_cpu_s": round(after[1] - before[1], 2),
                # CPU per delivery holds still on a noisy machine where rates do not.
                "prosody_us_per_delivery": round(prosody_cpu / max(report["deliveries"], 1) * 1e6),
            }
        result["prosody_rss_mb"] = round(process_rss_mb(pid), 1)
        if lua_memory:
            result["lua_heap_mb"], result["lua_live_mb"] = await lua_heap(config, pid)
        if lua_profile:
            result["lua_profile"] = lua_profile.phases
    finally:
        room.close()
        if lua_profile:
            lua_profile.close()
    return result


def run_size(
    count: int,
    profile: Profile,
    stream_management: bool = False,
    lua_profile: bool = False,
    **prosody_settings,
) -> dict:
    """One room of `count` under one Prosody configuration. `lua_profile`: load
    the sampling profiler (bench/lua/mod_bench_profile.lua) and report where
    the Lua time goes in the join and in each phase. The Lua heap is reported
    next to the RSS (bench/lua/mod_bench_memory.lua)."""
    from portal.accounts.scram import derive_scram_sha1

    credentials = derive_scram_sha1(PASSWORD, 10000, salt=SALT)
    accounts = {f"occupant{i}": credentials for i in range(count)}
    modules = [*prosody_settings.get("bench_modules", []), "bench_memory"]
    if lua_profile:
        modules.append("bench_profile")
    prosody_settings = {**prosody_settings, "bench_modules": modules}
    with (
        tempfile.TemporaryDirectory() as tmp,
        prosody(Path(tmp), "x" * 48, accounts, **prosody_settings) as (config, server),
    ):
        profiler = LuaProfile(config, Path(tmp)) if lua_profile else None
        return asyncio.run(
            measure(
                config,
                server.process.pid,
                count,
                profile,
                stream_management,
                profiler,
                lua_memory=True,
            )
        )


def run_ejabberd_size(count: int, profile: Profile) -> dict:
    """The same room and load against ejabberd (bench/ejabberd.py). Its accounts
    are registered in-band first (not measured); each has its own SCRAM salt, so
    the load tool derives a key per account (about 1 ms each)."""
    from bench import ejabberd

    usernames = [f"occupant{i}" for i in range(count)]
    with (
        tempfile.TemporaryDirectory() as tmp,
        ejabberd.ejabberd(Path(tmp), usernames, PASSWORD) as (config, server),
    ):
        result = asyncio.run(measure(config, server.pid, count, profile))
        return {**result, "registration_s": config.registration_s}


# Prosody settings that could matter for a room's throughput, each compared with
# the production template at one size (closed and open loop).
NO_MUC_ARCHIVE = {"muc_log_by_default = true": "muc_log_by_default = false"}
NETWORK_SETTINGS = "network_settings = { tcp_backlog = 1024 }"


GC_SETTINGS = 'gc = { mode = "generational" }'
PROSODY_13 = Path(__file__).resolve().parent.parent / "var" / "prosody13" / "prosody"


def prosody_13_version() -> str:
    version = PROSODY_13.parent / "root" / "usr" / "lib" / "prosody" / "prosody.version"
    return version.read_text().strip() if version.exists() else "not fetched"


def gc_settings(settings: str) -> dict:
    return {"replace": {GC_SETTINGS: f"gc = {{ {settings} }}"}}


def network_settings(settings: str) -> dict:
    return {"replace": {NETWORK_SETTINGS: f"network_settings = {{ {settings} }}"}}


CONFIGURATIONS = {
    "production_template": {},
    # The template's per-connection rate limit (the other cases lift it).
    "production_c2s_rate": {"c2s_rate": None},
    # Every client enables stream management (XEP-0198) once in the room, as
    # Converse and mobile clients do: Prosody queues each stanza until acked.
    "stream_management": {"stream_management": True},
    # The same, with an ack asked for every 50 unacked stanzas instead of 5.
    "stream_management_ack_50": {
        "stream_management": True,
        "replace": {"smacks_max_unacked_stanzas = 5": "smacks_max_unacked_stanzas = 50"},
    },
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
    # Room messages through mod_mam's, mod_carbons' and mod_message's handlers
    # again, as without mod_chatboard_groupchat_delivery.
    "stock_groupchat_delivery": {"without_modules": ["chatboard_groupchat_delivery"]},
    # Our modules on the MUC component (message rate cap, hidden rooms, room sync).
    "no_chatboard_muc_modules": {
        "without_modules": [
            "chatboard_muc_limits",
            "chatboard_hidden_rooms",
            "chatboard_rooms",
        ]
    },
    # Lua 5.4's garbage collector. The template: generational. Prosody's default:
    # incremental, threshold 105 (a cycle each time the heap grows by 5 %), step
    # 500; Lua's own incremental default is closer to 200 and 100.
    "gc_prosody_default": gc_settings('mode = "incremental"; threshold = 105; speed = 500'),
    "gc_incremental_200_200": gc_settings('mode = "incremental"; threshold = 200; speed = 200'),
    "gc_incremental_400_400": gc_settings('mode = "incremental"; threshold = 400; speed = 400'),
    # Write at once instead of at the next turn of the event loop, with
    # TCP_NODELAY (small writes would otherwise wait for the peer's delayed ACK).
    "opportunistic_writes": network_settings(
        "tcp_backlog = 1024; opportunistic_writes = true; nagle = false"
    ),
    # The template as it was before the fan-out work, for memory at 1,000 occupants:
    # Prosody's default collector, room messages through the stock handlers (and
    # so no early flush of a connection's output).
    "template_before_fanout_work": {
        **gc_settings('mode = "incremental"; threshold = 105; speed = 500'),
        "without_modules": ["chatboard_groupchat_delivery"],
    },
    "read_size_64k": network_settings("tcp_backlog = 1024; read_size = 65536"),
    # Room output waits for the event loop however much of it a connection holds
    # (mod_chatboard_groupchat_delivery otherwise writes it out at 32 stanzas).
    "no_early_flush": {"flush_after_stanzas": 10**9},
    # Each copy of a room message serialised on its own, as Prosody does.
    "serialise_each_copy": {"extra_settings": "chatboard_serialise_room_messages_once = false"},
    # The same template and modules on Prosody 13.0 from Debian's bookworm-backports
    # (scripts/fetch-prosody13, which `make bench` runs), instead of 0.12.
    "prosody_13": {"launcher": str(PROSODY_13)},
}


def _median_run(runs: list[dict]) -> dict:
    """The round with the median closed-loop CPU per delivery, with every round's
    figures beside it (rounds alternate configurations: noise hits them all)."""
    ordered = sorted(runs, key=lambda r: r["closed_loop"]["prosody_us_per_delivery"])
    chosen = dict(ordered[len(ordered) // 2])
    chosen["rounds"] = [
        {
            "closed_us_per_delivery": r["closed_loop"]["prosody_us_per_delivery"],
            "burst_us_per_delivery": r["open_loop"]["prosody_us_per_delivery"],
            "connect_join_s": r["connect_join_s"],
            "join_us_per_presence": r["join_prosody_us_per_presence"],
            "rss_mb": r["prosody_rss_mb"],
        }
        for r in runs
    ]
    return chosen


def run(
    sizes: list[int],
    profile: Profile,
    compare_occupants: int | None = None,
    configurations: list[str] | None = None,
    rounds: int = 1,
    lua_profile: bool = False,
    reference: bool = False,
) -> dict:
    """`configurations`: names from CONFIGURATIONS to compare (default: all), each
    run `rounds` times, alternating. `lua_profile`: profile the sizes' Prosody.
    `reference`: each size also against ejabberd, right after Prosody."""
    from bench import ejabberd
    from stack.prosody import ProsodyConfig

    results = {"sizes": {}}
    if reference and ejabberd.installed():
        results["ejabberd"] = {"version": ejabberd.version(), "sizes": {}}
    for n in sizes:
        try:
            results["sizes"][str(n)] = {
                "occupants": n,
                **run_size(n, profile, lua_profile=lua_profile),
            }
        except Exception as error:  # a size too large for this machine; the others count
            results["sizes"][str(n)] = {"occupants": n, "error": f"{type(error).__name__}: {error}"}
        if "ejabberd" in results:
            try:
                results["ejabberd"]["sizes"][str(n)] = {
                    "occupants": n,
                    **run_ejabberd_size(n, profile),
                }
            except Exception as error:
                results["ejabberd"]["sizes"][str(n)] = {
                    "occupants": n,
                    "error": f"{type(error).__name__}: {error}",
                }
    if compare_occupants:
        compare = Profile(
            paced_seconds=0,
            closed_seconds=profile.closed_seconds,
            burst_per_sender=profile.burst_per_sender,
        )
        production_rate = ProsodyConfig.__dataclass_fields__["c2s_rate"].default
        names = configurations or list(CONFIGURATIONS)
        for name in names:
            launcher = CONFIGURATIONS[name].get("launcher")
            if launcher and not Path(launcher).exists():
                raise FileNotFoundError(
                    f"{name}: {launcher} is missing (make bench runs scripts/fetch-prosody13)"
                )
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for _ in range(rounds):
            for name in names:
                settings = CONFIGURATIONS[name]
                if "c2s_rate" in settings:
                    settings = {**settings, "c2s_rate": production_rate}
                runs[name].append(run_size(compare_occupants, compare, **settings))
        results["configurations"] = {"occupants": compare_occupants, "rounds": rounds}
        for name in names:
            results["configurations"][name] = _median_run(runs[name])
        results["production_c2s_rate"] = production_rate
    return results
