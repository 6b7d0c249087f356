"""Sync latency: from a portal action (committed) to its effect seen over XMPP.

The portal's actions run in this process on the bench database; the bridge and
Prosody run as their own processes (bench/stack.py), as in production. An
observer client watches for each effect:
- signup: the new person can log in (a fresh login attempt after each failure,
  so a latency includes up to one failed attempt's duration);
- profile change: the person's vCard (vcard-temp, as any client reads it) shows
  the new name;
- room create and edit (rooms app): the room's disco#info shows its name;
- membership (rooms app): the room's member list, read by its owner, names
  the new member.
Operations start at a steady rate and overlap, as they would on a busy portal.
"""

import asyncio
import datetime
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from bench import rooms
from bench.lean_client import LeanClient, LoginFailed
from bench.servers import process_cpu_seconds
from bench.stack import Workspace, bridge_process, chatboard_prosody, fast_password_hashing
from bench.stats import percentile

RATE = 10.0  # operations started per second
TIMEOUT = 30.0
# The observer must not load the server it observes: each operation checks
# again after 10 ms, then backs off to every 100 ms; checks share a few
# connections. (Polling every 20 ms on a connection per operation made a
# backlog feed itself: 100 pending profile edits meant 5,000 vCard reads/s.)
FIRST_POLL, MAX_POLL = 0.01, 0.1
WATCHERS = 4

_db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-actions")


async def portal(fn, *args, **kwargs):
    """Run portal code on the one database thread (the ORM is synchronous)."""
    return await asyncio.get_running_loop().run_in_executor(_db, lambda: fn(*args, **kwargs))


def close_connections() -> None:
    from django.db import connections

    connections.close_all()


def sign_up(username: str, password: str):
    from portal.accounts.models import User

    return User.objects.create_user(username=username, email="", password=password)


def change_name(username: str, name: str) -> None:
    from portal.accounts.models import User
    from portal.profiles.actions import update_profile

    update_profile(User.objects.get(username=username), name=name, about="")


def outbox_delays(topic: str, since: datetime.datetime | None = None) -> dict:
    """The bridge's share: from the outbox row's commit to the bridge marking it applied."""
    from portal.outbox.models import OutboxEntry

    rows = OutboxEntry.objects.filter(topic=topic, applied_at__isnull=False)
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    delays = sorted(
        (applied - created).total_seconds()
        for created, applied in rows.values_list("created_at", "applied_at")
    )
    ms = lambda f: None if not delays else round(percentile(delays, f) * 1000, 1)  # noqa: E731
    return {"rows": len(delays), "p50_ms": ms(0.5), "p99_ms": ms(0.99)}


def _summary(latencies: list[float], failures: int) -> dict:
    latencies.sort()
    ms = lambda f: None if not latencies else round(percentile(latencies, f) * 1000, 1)  # noqa: E731
    return {
        "operations": len(latencies) + failures,
        "failures": failures,
        "p50_ms": ms(0.5),
        "p99_ms": ms(0.99),
        "max_ms": ms(1.0),
    }


class Observer:
    def __init__(self, config, context):
        self.config, self.context = config, context

    def client(self) -> LeanClient:
        return LeanClient("127.0.0.1", self.config.c2s_port, self.config.domain, self.context)

    async def can_log_in(self, username: str, password: str) -> bool:
        client = self.client()
        try:
            await asyncio.wait_for(client.login(username, password), 10)
            return True
        except (LoginFailed, OSError, TimeoutError):
            return False
        finally:
            client.close()

    async def wait_for_login(self, username: str, password: str, started: float) -> float:
        """Retry SASL on one encrypted stream until it succeeds: a failed attempt
        costs the server a lookup, not a TLS handshake."""
        client = self.client()
        try:
            await client.start_tls()
            pause = FIRST_POLL
            while time.perf_counter() - started < TIMEOUT:
                try:
                    await client.authenticate(username, password, "SCRAM-SHA-1")
                    return time.perf_counter() - started
                except LoginFailed:
                    await asyncio.sleep(pause)
                    pause = min(pause * 1.5, MAX_POLL)
            raise TimeoutError
        finally:
            client.close()

    async def wait_until(self, check, started: float) -> float:
        pause = FIRST_POLL
        while time.perf_counter() - started < TIMEOUT:
            if await check():
                return time.perf_counter() - started
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, MAX_POLL)
        raise TimeoutError


# Process ids whose CPU time each kind of operation reports: Prosody and the bridge.
PROCESSES: dict[str, int] = {}


async def run_operations(count: int, operation) -> dict:
    """Start `operation(i)` at RATE per second; each returns its latency (s)."""
    latencies, failures = [], 0
    cpu_before = {name: process_cpu_seconds(pid) for name, pid in PROCESSES.items()}

    async def one(i: int) -> None:
        nonlocal failures
        try:
            latencies.append(await operation(i))
        except TimeoutError:
            failures += 1

    tasks = []
    start = time.monotonic()
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / RATE - time.monotonic()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    summary = _summary(latencies, failures)
    for name, pid in PROCESSES.items():
        summary[f"{name}_cpu_ms_per_op"] = round(
            (process_cpu_seconds(pid) - cpu_before[name]) / count * 1000, 1
        )
    return summary


async def room_operations(count: int, config, observer, reply_to) -> dict:
    """Room create, rename and membership, seen by the rooms' owner ("watcher")."""
    jids = {}

    def shows(i: int, name: str):
        async def check() -> bool:
            return rooms.shows_name(await reply_to(rooms.disco_info(jids[i])), name)

        return check

    async def create(i: int) -> float:
        jids[i] = await portal(rooms.create_room, f"bench{i}", f"Bench {i}", "watcher")
        return await observer.wait_until(shows(i, f"Bench {i}"), time.perf_counter())

    async def rename(i: int) -> float:
        await portal(rooms.rename_room, f"bench{i}", f"Renamed {i}")
        return await observer.wait_until(shows(i, f"Renamed {i}"), time.perf_counter())

    async def add_member(i: int) -> float:
        await portal(rooms.add_member, f"bench{i}", "watcher", f"signup{i}")
        member = f"signup{i}@{config.domain}"

        async def listed() -> bool:
            return rooms.lists_member(await reply_to(rooms.member_list(jids[i])), member)

        return await observer.wait_until(listed, time.perf_counter())

    results = {}
    for kind, operation in (
        ("room_create", create),
        ("room_edit", rename),
        ("room_membership", add_member),
    ):
        since = datetime.datetime.now(datetime.UTC)
        results[kind] = await run_operations(count, operation)
        results[kind]["outbox_to_applied"] = await portal(outbox_delays, "room", since)
    return results


async def measure(config, count: int) -> dict:
    context = ssl.create_default_context(cafile=str(config.runtime_dir / "certs/localhost.crt"))
    observer = Observer(config, context)

    async def signup(i: int) -> float:
        password = f"password-{i}"
        await portal(sign_up, f"signup{i}", password)
        started = time.perf_counter()
        return await observer.wait_for_login(f"signup{i}", password, started)

    results = {"signup": await run_operations(count, signup)}
    results["signup"]["outbox_to_applied"] = await portal(outbox_delays, "account")

    watchers: asyncio.Queue[LeanClient] = asyncio.Queue()
    await portal(sign_up, "watcher", "watcher-password")
    await observer.wait_until(
        lambda: observer.can_log_in("watcher", "watcher-password"), time.perf_counter()
    )

    for _ in range(WATCHERS):
        client = observer.client()
        await client.login("watcher", "watcher-password")
        watchers.put_nowait(client)

    async def reply_to(stanza: str) -> bytes:
        client = await watchers.get()
        try:
            return await client.iq(stanza)
        finally:
            watchers.put_nowait(client)

    async def vcard_shows(username: str, name: str) -> bool:
        to = f"{username}@{config.domain}"
        reply = await reply_to(f"<iq type='get' id='v' to='{to}'><vCard xmlns='vcard-temp'/></iq>")
        return f"<FN>{name}</FN>".encode() in reply

    async def profile_change(i: int) -> float:
        username, name = f"signup{i}", f"Name {i} {time.monotonic_ns()}"
        await portal(change_name, username, name)
        started = time.perf_counter()
        return await observer.wait_until(lambda: vcard_shows(username, name), started)

    results["profile_change"] = await run_operations(count, profile_change)
    results["profile_change"]["outbox_to_applied"] = await portal(outbox_delays, "profile")
    if rooms.installed():
        results.update(await room_operations(count, config, observer, reply_to))
    while not watchers.empty():
        watchers.get_nowait().close()
    return results


def run(workspace: Workspace, count: int) -> dict:
    workspace.fresh_database()
    fast_password_hashing()
    with chatboard_prosody(workspace.run_dir) as (config, server, secret):
        bridge = bridge_process(workspace, config, secret).start()
        PROCESSES.update(prosody=server.process.pid, bridge=bridge.process.pid)
        try:
            results = asyncio.run(measure(config, count))
        finally:
            bridge.stop()
            _db.submit(close_connections).result()  # the next scenario replaces the file
    if not rooms.installed():
        results["rooms"] = rooms.SKIPPED
    return {"operations_per_kind": count, "rate_per_s": RATE, **results}
