"""Presences and room messages to an online session take
mod_chatboard_groupchat_delivery's short path to the session. What a person has
blocked must still never reach them, and every session of an occupant must get
what the room sends."""

import asyncio
from contextlib import AsyncExitStack

from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from tests.fixtures import own_prosody
from tests.people import PASSWORD
from tests.rooms_helpers import MUC
from tests.xmpp_client import logged_in, wait_for

BLOCKING = "urn:xmpp:blocking"
ROOM = f"delivery@{MUC}"


async def set_blocked(client, jid: str, blocked: bool) -> None:
    iq = client.Iq()
    iq["type"] = "set"
    action = "block" if blocked else "unblock"
    iq.append(ET.fromstring(f"<{action} xmlns='{BLOCKING}'><item jid='{jid}'/></{action}>"))
    await iq.send(timeout=5)


def presences_from(client) -> list[tuple[str, str]]:
    """(sender, type) of every presence the client receives from now on."""
    seen = []
    client.register_handler(
        Callback(
            f"presences-{id(seen)}",
            MatchXPath("{jabber:client}presence"),
            lambda p: seen.append((str(p["from"]), p["type"])),
        )
    )
    return seen


def test_a_blocked_persons_presence_is_dropped_and_everyone_elses_arrives(tmp_path):
    async def scenario(server):
        async with AsyncExitStack() as stack:
            alice, bob, carol = [
                await stack.enter_async_context(logged_in(server, f"{name}@localhost", PASSWORD))
                for name in ("alice", "bob", "carol")
            ]
            await set_blocked(alice, "bob@localhost", True)
            to_alice, to_carol = presences_from(alice), presences_from(carol)
            bob.send_presence(pto=alice.boundjid.full, pstatus="hello")
            bob.send_presence(pto=carol.boundjid.full, pstatus="hello")
            await wait_for(lambda: any(s.startswith("bob@") for s, _ in to_carol), 5)
            # Prosody handles Bob's stream in order, so Alice's copy was routed
            # before Carol's; Carol's own presence to Alice comes after both.
            carol.send_presence(pto=alice.boundjid.full, pstatus="marker")
            await wait_for(lambda: any(s.startswith("carol@") for s, _ in to_alice), 5)
            assert not [s for s, _ in to_alice if s.startswith("bob@")]

            await set_blocked(alice, "bob@localhost", False)
            bob.send_presence(pto=alice.boundjid.full, ptype="unavailable")
            await wait_for(lambda: (str(bob.boundjid), "unavailable") in to_alice, 5)

    with own_prosody(tmp_path, ["alice", "bob", "carol"]) as server:
        asyncio.run(scenario(server))


def test_every_session_of_an_occupant_sees_others_join_and_leave(tmp_path):
    async def scenario(server):
        async with AsyncExitStack() as stack:
            phone, laptop = [
                await stack.enter_async_context(logged_in(server, "alice@localhost", PASSWORD))
                for _ in range(2)
            ]
            for session in (phone, laptop):
                await session.plugin["xep_0045"].join_muc_wait(ROOM, "alice", maxstanzas=0)
            on_phone, on_laptop = presences_from(phone), presences_from(laptop)
            async with logged_in(server, "bob@localhost", PASSWORD) as bob:
                await bob.plugin["xep_0045"].join_muc_wait(ROOM, "bob", maxstanzas=0)
                for seen in (on_phone, on_laptop):
                    await wait_for(lambda seen=seen: (f"{ROOM}/bob", "available") in seen, 5)
                bob.plugin["xep_0045"].leave_muc(ROOM, "bob")
                for seen in (on_phone, on_laptop):
                    await wait_for(lambda seen=seen: (f"{ROOM}/bob", "unavailable") in seen, 5)

    with own_prosody(tmp_path, ["alice", "bob"]) as server:
        asyncio.run(scenario(server))


def test_room_output_written_out_early_arrives_whole_and_in_order(tmp_path):
    """A connection holding `flush_after_stanzas` unsent room stanzas is written
    out at once; with a bound of 2 nearly every copy of a burst takes that path,
    and every occupant must still get every message, once, in the order sent."""
    burst = [f"burst {number}" for number in range(150)]

    async def scenario(server):
        async with AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(logged_in(server, f"{name}@localhost", PASSWORD))
                for name in ("alice", "bob", "carol")
            ]
            received = {client.boundjid.user: [] for client in clients}
            for client in clients:
                await client.plugin["xep_0045"].join_muc_wait(
                    ROOM, client.boundjid.user, maxstanzas=0
                )
                client.add_event_handler(
                    "groupchat_message",
                    lambda m, seen=received[client.boundjid.user]: seen.append(m["body"]),
                )
            alice = clients[0]
            for body in burst:
                alice.send_message(mto=ROOM, mbody=body, mtype="groupchat")
            for seen in received.values():
                await wait_for(lambda seen=seen: len(seen) >= len(burst), 15)
            await asyncio.sleep(0.5)  # nothing more may follow
            assert received == {name: burst for name in received}

    with own_prosody(
        tmp_path, ["alice", "bob", "carol"], flush_after_stanzas=2, muc_message_rate=0
    ) as server:
        asyncio.run(scenario(server))


def test_a_room_message_serialised_once_reaches_each_occupant_addressed_to_them(tmp_path):
    """Every copy of a room message is made from one serialisation with `to`
    filled in: each session must get the message addressed to its own full JID,
    resources that need XML escaping included, with the body as sent."""
    body = "fish & chips <for> 'everyone' \"now\""
    resources = ["phone", "o'neil & <co>", 'say "hi"']

    async def scenario(server):
        async with AsyncExitStack() as stack:
            sessions = [
                await stack.enter_async_context(
                    logged_in(server, f"{name}@localhost/{resource}", PASSWORD)
                )
                for name, resource in zip(("alice", "bob", "carol"), resources, strict=True)
            ]
            got = {str(session.boundjid): [] for session in sessions}
            for session in sessions:
                await session.plugin["xep_0045"].join_muc_wait(
                    ROOM, session.boundjid.user, maxstanzas=0
                )
                session.add_event_handler(
                    "groupchat_message",
                    lambda m, seen=got[str(session.boundjid)]: seen.append(
                        (str(m["to"]), m["body"])
                    ),
                )
            bodies = [f"{body} 1", f"{body} 2"]  # the second needs halves of its own
            for text in bodies:
                sessions[1].send_message(mto=ROOM, mbody=text, mtype="groupchat")
            for seen in got.values():
                await wait_for(lambda seen=seen: len(seen) == 2, 5)
            assert got == {full: [(full, text) for text in bodies] for full in got}
            assert sorted(session.boundjid.resource for session in sessions) == sorted(resources)
            assert not any(session.closed.is_set() for session in sessions)

    with own_prosody(tmp_path, ["alice", "bob", "carol"]) as server:
        asyncio.run(scenario(server))
