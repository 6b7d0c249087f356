"""Room sync: how long a portal change takes to be visible over XMPP, and how long
a full reconcile of the rooms takes as their number grows.

Latency: the real bridge process on a throwaway database, a real Prosody, and an
XMPP client (bench/lean_client.py) polling the room's disco#info (every 5 ms) until it shows the
change. Measured from just before the portal action (its transaction, the outbox
row, the bridge's poll, the IQ to Prosody) to the first answer showing it.
Operations alternate between creating a room and renaming one.

Reconcile: an in-process RoomSync against a fresh Prosody, for N rooms each with
an owner whose account exists (so bookmarks are published too; every owner has
ten rooms): once with every
room missing from Prosody (the repair creates them all), then once more with
nothing to do (the steady-state check every few minutes).
"""

import asyncio
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from bench.servers import prosody

TOKEN_SECRET = "r" * 48
MUC = "conference.localhost"
PASSWORD = "bench room password"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return round(ordered[index] * 1000, 1)


def _owner():
    from portal.accounts.models import User

    user = User.objects.filter(username="benchowner").first()
    if user is None:
        user = User(username="benchowner", email="benchowner@example.org")
        user.set_password(PASSWORD)
        user.save()
    return user


async def _shows_name(client, slug: str, name: str) -> bool:
    from bench import rooms

    try:
        reply = await asyncio.wait_for(client.iq(rooms.disco_info(f"{slug}@{MUC}")), 5)
    except TimeoutError:
        return False
    return rooms.shows_name(reply, name)


async def _measure(client, operations: int) -> dict:
    from portal.rooms import actions
    from portal.rooms.models import Room

    owner = await asyncio.to_thread(_owner)
    latencies = {"create": [], "rename": []}
    for number in range(operations):
        if number % 2 == 0:
            slug, name, kind = f"lat{number}", f"Room {number}", "create"

            def act(slug=slug, name=name):
                actions.create_room(owner, Room(slug=slug, name=name))

        else:
            slug, name, kind = f"lat{number - 1}", f"Renamed {number}", "rename"

            def act(slug=slug, name=name):
                room = Room.objects.get(slug=slug)
                room.name = name
                actions.save_room(room)

        started = time.perf_counter()
        await asyncio.to_thread(act)
        while not await _shows_name(client, slug, name):
            if time.perf_counter() - started > 30:
                raise TimeoutError(f"{kind} of {slug} not visible after 30 s")
            await asyncio.sleep(0.005)
        latencies[kind].append(time.perf_counter() - started)
    every = latencies["create"] + latencies["rename"]
    result = {
        "operations": len(every),
        "p50_ms": _percentile(every, 0.5),
        "p99_ms": _percentile(every, 0.99),
        "mean_ms": round(statistics.mean(every) * 1000, 1),
    }
    for kind, values in latencies.items():
        result[kind] = {"p50_ms": _percentile(values, 0.5), "p99_ms": _percentile(values, 0.99)}
    return result


def latency(operations: int) -> dict:
    import ssl

    from django.db import connection

    from bench.lean_client import LeanClient
    from portal.accounts.scram import derive_scram_sha1
    from stack.bridge_process import BridgeProcess, django_database_url

    with tempfile.TemporaryDirectory() as tmp:
        accounts = {"benchowner": derive_scram_sha1(PASSWORD, 10000)}
        with prosody(Path(tmp), TOKEN_SECRET, accounts) as (config, _server):
            _owner()
            bridge = BridgeProcess(
                Path(tmp) / "bridge.log",
                database_url=django_database_url(),
                component_port=config.component_port,
                BRIDGE_COMPONENT_SECRET=config.bridge_secret,
                BRIDGE_POLL_INTERVAL="0.1",  # the production default
            )
            bridge.start()
            connection.close()

            async def run():
                context = ssl.create_default_context(
                    cafile=str(config.runtime_dir / "certs/localhost.crt")
                )
                client = LeanClient("127.0.0.1", config.c2s_port, config.domain, context)
                await client.login("benchowner", PASSWORD)
                try:
                    return await _measure(client, operations)
                finally:
                    client.close()

            try:
                return asyncio.run(run())
            finally:
                bridge.stop()


ROOMS_PER_OWNER = 10


def _make_owners(count: int) -> list:
    """count people sharing one set of credentials (derived once: PBKDF2 is slow)."""
    from portal.accounts.models import User

    template = _owner()
    User.objects.filter(username__startswith="owner").delete()
    return User.objects.bulk_create(
        User(
            username=f"owner{number}",
            email=f"owner{number}@example.org",
            password=template.password,
            scram_salt=template.scram_salt,
            scram_iterations=template.scram_iterations,
            scram_stored_key=template.scram_stored_key,
            scram_server_key=template.scram_server_key,
        )
        for number in range(count)
    )


def _make_rooms(count: int, owners: list) -> None:
    """Rooms written straight to the portal's tables: Prosody learns of them only
    through the reconcile being measured. Each owner has ROOMS_PER_OWNER rooms,
    so bookmark lists stay the same size whatever the number of rooms."""
    from portal.outbox.models import OutboxEntry
    from portal.outbox.payloads import Topic
    from portal.rooms.models import Affiliation, Room

    Room.objects.all().delete()
    # Deleting the previous size's rooms queued their removal from Prosody; with
    # no bridge to apply it, the reconcile would skip the new rooms of the same
    # names as "about to be applied by the outbox".
    OutboxEntry.objects.filter(topic=Topic.ROOM).delete()
    rooms = Room.objects.bulk_create(
        Room(slug=f"rec{number}", name=f"Reconciled {number}", description="bench")
        for number in range(count)
    )
    Affiliation.objects.bulk_create(
        Affiliation(room=room, user=owners[number // ROOMS_PER_OWNER], kind="owner")
        for number, room in enumerate(rooms)
    )


def reconcile(count: int, portal) -> dict:
    from bridge.component import BridgeComponent
    from bridge.config import BridgeConfig
    from bridge.prosody import ProsodyRooms
    from bridge.rooms import RoomSync
    from portal.accounts.scram import derive_scram_sha1

    with tempfile.TemporaryDirectory() as tmp:
        credentials = derive_scram_sha1(PASSWORD, 10000)
        owners = -(-count // ROOMS_PER_OWNER)
        accounts = {f"owner{number}": credentials for number in range(owners)}
        with prosody(Path(tmp), TOKEN_SECRET, accounts) as (config, _server):
            _make_rooms(count, _make_owners(owners))

            async def run():
                bridge_config = BridgeConfig(
                    domain="localhost",
                    component_secret=config.bridge_secret,
                    component_port=config.component_port,
                    iq_timeout=60,
                )
                component = BridgeComponent(bridge_config)
                rooms = RoomSync(portal, ProsodyRooms(component), bridge_config)
                component.del_event_handler("session_start", rooms._on_session_start)
                component.start()
                await asyncio.wait_for(component.online.wait(), 15)
                try:
                    started = time.perf_counter()
                    report = await rooms.reconcile()
                    repair = time.perf_counter() - started
                    assert len(report.created_or_updated) == count, report
                    started = time.perf_counter()
                    report = await rooms.reconcile()
                    steady = time.perf_counter() - started
                    assert not report.created_or_updated, report
                finally:
                    await component.stop()
                return {
                    "rooms": count,
                    "repair_s": round(repair, 2),
                    "steady_s": round(steady, 2),
                    "repair_ms_per_room": round(repair * 1000 / count, 2),
                    "steady_ms_per_room": round(steady * 1000 / count, 2),
                }

            return asyncio.run(run())


def run(operations: int = 200, sizes=(100, 1000)) -> dict:
    """Everything on a throwaway copy of the portal's database."""
    from django.db import connection

    from bridge.portal import Portal

    os.environ.setdefault("BRIDGE_COMPONENT_SECRET", secrets.token_urlsafe(24))
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    try:
        results = {"latency": latency(operations)}
        portal = Portal()  # one database thread, as in the bridge
        results["reconcile"] = [reconcile(size, portal) for size in sizes]
        small, large = results["reconcile"][0], results["reconcile"][-1]
        results["reconcile_growth"] = {
            "rooms_ratio": large["rooms"] / small["rooms"],
            "repair_ratio": round(large["repair_s"] / small["repair_s"], 1),
            "steady_ratio": round(large["steady_s"] / small["steady_s"], 1),
        }
        return results
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
