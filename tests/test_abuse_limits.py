"""Limits a misbehaving client runs into, on a Prosody with short test settings.

Each test names the setting it relies on; SECURITY.md lists their defaults.
"""

import asyncio
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from stack.environment import REPO_DIR
from tests.fixtures import own_prosody
from tests.network import FreezableProxy
from tests.people import PASSWORD
from tests.rooms_helpers import MUC, join
from tests.xmpp_client import TestClient, connect, wait_for

pytestmark = pytest.mark.timeout(60)

MUC_USER = "http://jabber.org/protocol/muc#user"
USERS = ("alice", "bob", "carol", "mallory")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with own_prosody(
        tmp_path_factory.mktemp("limits"),
        USERS,
        idle_timeout=1,
        smacks_hibernation_time=1,
        muc_message_rate=1,
        muc_message_burst=5,
    ) as server:
        yield server


class Room:
    """Clients in one room, recording what each receives."""

    def __init__(self, server, slug):
        self.server, self.jid, self.slug = server, f"{slug}@{MUC}", slug
        self.clients = {}
        self.messages = {}
        self.presences = {}
        self.errors = {}

    async def enter(self, username, client=None):
        client = client or await connect(self.server, f"{username}@localhost", PASSWORD)
        self.clients[username] = client
        self.messages[username], self.presences[username] = [], []
        self.errors[username] = []
        client.add_event_handler("message", lambda m: self.messages[username].append(m))
        client.add_event_handler("message_error", lambda m: self.errors[username].append(m))
        client.add_event_handler("presence", lambda p: self.presences[username].append(p))
        assert await join(client, self.slug, nick=username) is None
        return client

    def bodies(self, username):
        return [m["body"] for m in self.messages[username] if m["type"] == "groupchat"]

    def left(self, observer, nick):
        return any(
            p["type"] == "unavailable" and p["from"] == f"{self.jid}/{nick}"
            for p in self.presences[observer]
        )

    def close(self):
        for client in self.clients.values():
            if not client.closed.is_set():
                client.abort()


def in_room(server, slug, scenario):
    async def go():
        room = Room(server, slug)
        try:
            return await scenario(room)
        finally:
            room.close()

    return asyncio.run(go())


def test_oversized_room_message_ends_the_sender_and_reaches_nobody(server):
    """c2s_stanza_size_limit (PROSODY_STANZA_SIZE_LIMIT, 64 KiB)."""

    async def scenario(room):
        alice = await room.enter("alice")
        await room.enter("bob")
        alice.send_message(mto=room.jid, mbody="x" * 70_000, mtype="groupchat")
        await asyncio.wait_for(alice.closed.wait(), 5)
        await asyncio.sleep(0.5)
        return alice.stream_errors, room.bodies("bob")

    stream_errors, received = in_room(server, "big", scenario)
    assert [e["condition"] for e in stream_errors] == ["policy-violation"]
    assert not any(len(body) > 1000 for body in received)


def test_fast_talker_is_refused_past_the_burst_and_others_get_only_the_rest(server):
    """chatboard_muc_message_burst/rate (PROSODY_MUC_MESSAGE_BURST/RATE): 5, 1/s here."""

    async def scenario(room):
        alice = await room.enter("alice")
        await room.enter("bob")
        for number in range(12):
            alice.send_message(mto=room.jid, mbody=f"spam {number}", mtype="groupchat")
        await wait_for(lambda: len(room.errors["alice"]) + len(room.bodies("bob")) >= 12, 5)
        refused = list(room.errors["alice"])
        return refused, room.bodies("bob")

    refused, received = in_room(server, "chatty", scenario)
    assert all("policy-violation" in str(e) for e in refused), str(refused[:1])
    assert 5 <= len(received) <= 7  # the burst, and what refilled meanwhile (1/s)
    assert len(refused) + len(received) == 12  # each one either delivered or refused
    assert received[:5] == [f"spam {n}" for n in range(5)]


def stream_opening(sock) -> str:
    sock.sendall(
        b"<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
        b"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
    )
    data = b""
    while b"</stream:features>" not in data and b"</stream:stream>" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode()


def test_connections_from_one_address_are_throttled(tmp_path):
    """chatboard_connection_burst (PROSODY_CONNECTION_BURST): 3 here."""
    with own_prosody(tmp_path, USERS, connection_burst=3, connection_period=60) as server:
        opened = []
        try:
            for _ in range(4):
                sock = socket.create_connection(("127.0.0.1", server.c2s_port), timeout=5)
                opened.append((sock, stream_opening(sock)))
        finally:
            for sock, _ in opened:
                sock.close()
    replies = [reply for _, reply in opened]
    assert all("starttls" in reply for reply in replies[:3])
    assert "policy-violation" in replies[3] and "starttls" not in replies[3]


# ---------- The server stamps who sent what ----------


def test_a_client_cannot_speak_or_come_and_go_in_someone_elses_name(server):
    async def scenario(room):
        mallory = await room.enter("mallory")
        await room.enter("bob")
        await room.enter("carol")
        carol = room.clients["carol"]
        # A room message and a private message claiming to come from bob.
        forged = mallory.make_message(mto=room.jid, mbody="I am bob", mtype="groupchat")
        forged["from"] = "bob@localhost/phone"
        forged.send()
        forged = mallory.make_message(mto=carol.boundjid, mbody="pm from bob", mtype="chat")
        forged["from"] = "bob@localhost/phone"
        forged.send()
        # A leave notice for bob, to the room and straight to carol.
        leave = mallory.make_presence(pto=f"{room.jid}/bob", ptype="unavailable")
        leave["from"] = "bob@localhost/phone"
        leave.send()
        fake = mallory.make_presence(pto=carol.boundjid, ptype="unavailable")
        fake["from"] = f"{room.jid}/bob"
        ET.SubElement(fake.xml, f"{{{MUC_USER}}}x")
        fake.send()
        # A join notice for someone who is not there.
        fake = mallory.make_presence(pto=carol.boundjid)
        fake["from"] = f"{room.jid}/ghost"
        ET.SubElement(fake.xml, f"{{{MUC_USER}}}x")
        fake.send()
        await asyncio.sleep(1)
        return room.messages["carol"], room.presences["carol"], room

    messages, presences, room = in_room(server, "stamped", scenario)
    senders = {str(m["from"]) for m in messages if m["body"] in ("I am bob", "pm from bob")}
    assert f"{room.jid}/bob" not in senders
    assert not any(s.startswith("bob@") for s in senders)
    from_room = [p for p in presences if p["from"].bare == room.jid]
    assert not room.left("carol", "bob")
    assert not any(p["from"].resource == "ghost" for p in from_room)


def test_occupants_of_a_semi_anonymous_room_cannot_learn_real_jids(server):
    async def scenario(room):
        # carol makes the room and is its owner (a moderator who may see JIDs).
        await room.enter("carol")
        await room.enter("alice")
        bob = await room.enter("bob")
        bob.send_message(mto=room.jid, mbody="hello", mtype="groupchat")
        await wait_for(lambda: "hello" in room.bodies("alice"), 5)
        alice = room.clients["alice"]
        items = await alice.plugin["xep_0030"].get_items(jid=room.jid, timeout=5)
        iq = alice.make_iq_set(ito=room.jid)
        ET.SubElement(iq.xml, "{urn:xmpp:mam:2}query")
        archive = []
        alice.register_handler(
            Callback(
                "mam results",
                MatchXPath("{jabber:client}message/{urn:xmpp:mam:2}result"),
                lambda m: archive.append(str(m)),
            )
        )
        await iq.send(timeout=5)
        return room, items, archive

    room, items, archive = in_room(server, "masked", scenario)
    seen_by_alice = "".join(str(p) for p in room.presences["alice"] + room.messages["alice"])
    assert "bob@localhost" not in seen_by_alice
    assert "bob@localhost" not in str(items)
    assert any("hello" in text for text in archive)
    assert not any("bob@localhost" in text for text in archive)
    # The owner, a moderator, does see them: the test can tell the difference.
    seen_by_carol = "".join(str(p) for p in room.presences["carol"])
    assert "bob@localhost" in seen_by_carol


# ---------- No ghosts ----------


VANISHING_CLIENT = """
import asyncio
from tests.xmpp_client import connect
from tests.rooms_helpers import join

class Server:
    c2s_port = {port}
    ca_file = {ca_file!r}

async def main():
    client = await connect(Server, "alice@localhost", {password!r})
    assert await join(client, "haunted", nick="alice") is None
    print("joined", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_a_killed_client_leaves_the_room_within_the_hibernation_time(server):
    """smacks_hibernation_time (PROSODY_SMACKS_HIBERNATION_TIME): 1 s here."""
    code = VANISHING_CLIENT.format(
        port=server.c2s_port,
        ca_file=str(server.ca_file),
        password=PASSWORD,
    )

    async def scenario(room):
        await room.enter("bob")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", code, stdout=subprocess.PIPE, cwd=REPO_DIR
        )
        try:
            assert await asyncio.wait_for(process.stdout.readline(), 10) == b"joined\n"
            await wait_for(
                lambda: any(p["from"].resource == "alice" for p in room.presences["bob"]), 5
            )
            process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            await wait_for(lambda: room.left("bob", "alice"), 10)
            return time.monotonic() - killed
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()

    assert in_room(server, "haunted", scenario) < 4


@pytest.mark.parametrize("stream_management", [True, False], ids=["smacks", "no-smacks"])
def test_a_client_whose_network_vanished_leaves_the_room(server, stream_management):
    """chatboard_idle_timeout (PROSODY_IDLE_TIMEOUT) 1 s, hibernation 1 s here:
    gone within 3 x idle timeout + hibernation."""

    async def scenario(room):
        await room.enter("bob")
        proxy = FreezableProxy(server.c2s_port)
        alice = TestClient(
            "alice@localhost",
            PASSWORD,
            ca_file=server.ca_file,
            stream_management=stream_management,
        )
        alice.connect("127.0.0.1", proxy.port)
        try:
            await asyncio.wait_for(alice.outcome, 5)
            await room.enter("alice", alice)
            proxy.freeze()
            frozen = time.monotonic()
            await wait_for(lambda: room.left("bob", "alice"), 10)
            return time.monotonic() - frozen
        finally:
            proxy.close()

    delay = in_room(server, f"halfopen{int(stream_management)}", scenario)
    assert delay < 6


def test_a_quiet_client_that_answers_pings_stays_even_after_resuming(server):
    """The liveness check pings, it does not evict: a client that answers stays,
    also on a connection it resumed with stream management."""

    async def scenario(room):
        await room.enter("bob")
        alice = await room.enter("alice")
        resumed = asyncio.Event()
        alice.add_event_handler("session_resumed", lambda _: resumed.set())
        alice.transport.abort()  # the network drops; the client comes straight back
        await asyncio.wait_for(alice.closed.wait(), 5)
        alice.closed.clear()
        alice.connect("127.0.0.1", server.c2s_port)
        await asyncio.wait_for(resumed.wait(), 5)
        await asyncio.sleep(4)  # four idle timeouts, answering pings only
        return alice.closed.is_set(), room.left("bob", "alice")

    assert in_room(server, "quiet", scenario) == (False, False)


def test_prosody_logged_no_error(server):
    """Everything above was refused cleanly: no Lua error in Prosody's log."""
    log = server.log_text()
    assert not re.search(r"\berror\b.*(traceback|stack|attempt to)", log, re.I), log[-3000:]


def test_a_connection_cannot_push_faster_than_its_bandwidth_limit(tmp_path):
    """limits.c2s.rate (PROSODY_C2S_RATE): 10kb/s with a 2 s burst here."""
    with own_prosody(tmp_path, USERS, c2s_rate="10kb/s") as server:

        async def scenario():
            alice = await connect(server, "alice@localhost", PASSWORD)
            bob = await connect(server, "bob@localhost", PASSWORD)
            bodies = []
            bob.add_event_handler("message", lambda m: bodies.append(m["body"]))
            started = time.monotonic()
            for number in range(40):  # 40 x 1 KiB: twice the burst
                alice.send_message(mto="bob@localhost", mbody=f"{number:04d}" + "y" * 1020)
            await wait_for(lambda: len(bodies) == 40, 15)
            elapsed = time.monotonic() - started
            alice.abort()
            bob.abort()
            return elapsed

        elapsed = asyncio.run(scenario())
    assert elapsed > 1.5  # ~20 KiB past the burst at 10 KiB/s; unthrottled: milliseconds
