"""Federation: two ChatBoard stacks (a.test, b.test), each with its own Prosody,
portal and bridge, and a stock XMPP server (c.test) on one machine, talking over
real s2s with certificate verification (fixtures in tests/stacks.py)."""

import asyncio
import hashlib

import pytest
from slixmpp.exceptions import IqError

from tests.rooms_helpers import join_room
from tests.test_profiles import image_bytes, read_avatar_ids, read_vcard, wait_async
from tests.xmpp_client import eventually, logged_in

PASSWORD = "correct horse battery"
NEW_ROOM = {"name": "Room", "description": "", "password": "", "persistent": "on", "history": "on"}


def person(stack, username):
    return stack.person(username, PASSWORD)


async def next_message(queue, timeout=10):
    return await asyncio.wait_for(queue.get(), timeout)


def inbox(client):
    queue = asyncio.Queue()
    client.add_event_handler("message", lambda message: queue.put_nowait(message))
    return queue


def test_people_on_two_chatboard_servers_exchange_direct_messages(a, b):
    alice, bob = person(a, "alice"), person(b, "bob")

    async def conversation():
        async with (
            logged_in(a, alice, PASSWORD) as alice_client,
            logged_in(b, bob, PASSWORD) as bob_client,
        ):
            alice_inbox, bob_inbox = inbox(alice_client), inbox(bob_client)
            alice_client.send_message(mto=bob, mbody="Hello from a.test", mtype="chat")
            to_bob = await next_message(bob_inbox)
            bob_client.send_message(mto=alice, mbody="Hello from b.test", mtype="chat")
            to_alice = await next_message(alice_inbox)
            return to_bob, to_alice

    to_bob, to_alice = asyncio.run(conversation())
    assert (to_bob["from"].bare, to_bob["type"], to_bob["body"]) == (
        alice,
        "chat",
        "Hello from a.test",
    )
    assert (to_alice["from"].bare, to_alice["body"]) == (bob, "Hello from b.test")


def test_person_joins_a_public_room_on_another_server_sees_history_and_posts(a, b):
    alice, bob = person(a, "amy"), person(b, "bert")
    room = "lobby@conference.b.test"

    async def visit():
        async with logged_in(b, bob, PASSWORD) as bob_client:
            muc = bob_client.plugin["xep_0045"]
            await muc.join_muc_wait(room, "Bert", maxstanzas=0, timeout=10)
            bob_client.send_message(mto=room, mbody="Welcome to the lobby", mtype="groupchat")
            bob_inbox = inbox(bob_client)
            await next_message(bob_inbox)  # the room echoes it: stored in history
            async with logged_in(a, alice, PASSWORD) as alice_client:
                items = await alice_client.plugin["xep_0030"].get_items(
                    jid="conference.b.test", timeout=10
                )
                listed = {item[0] for item in items["disco_items"]["items"]}
                joined = await alice_client.plugin["xep_0045"].join_muc_wait(
                    room, "Amy", maxstanzas=10, timeout=10
                )
                alice_client.send_message(mto=room, mbody="Hi from a.test", mtype="groupchat")
                while (message := await next_message(bob_inbox))["body"] != "Hi from a.test":
                    pass
                return listed, joined, message

    listed, (_own, _subject, occupants, history), message = asyncio.run(visit())
    assert room in listed
    assert [m["body"] for m in history] == ["Welcome to the lobby"]
    assert "Bert" in {p["from"].resource for p in occupants}
    assert (message["from"].full, message["type"]) == (f"{room}/Amy", "groupchat")


def test_person_reads_profile_published_by_another_chatboard(a, b):
    alice, bob = person(a, "ada"), person(b, "bo")
    b.sign_in("bo", PASSWORD).post_form(
        "/profile/",
        {"name": "Bo from B", "about": "Builds things."},
        files={"avatar": ("bo.png", image_bytes("blue"))},
    )
    avatar_sha1 = b.shell(
        "from portal.profiles.models import Profile; "
        "print(Profile.objects.get(user__username='bo').avatar_sha1)"
    ).strip()
    assert len(avatar_sha1) == 40

    async def alice_reads():
        async with logged_in(a, alice, PASSWORD) as client:

            async def published():
                vcard = await read_vcard(client, bob)
                return vcard if vcard["PHOTO"] else None

            vcard = await wait_async(published, timeout=10)
            return vcard, await read_avatar_ids(client, bob)

    vcard, avatar_ids = asyncio.run(alice_reads())
    assert (vcard["FN"], vcard["NOTE"]) == ("Bo from B", "Builds things.")
    assert hashlib.sha1(vcard["PHOTO"][1]).hexdigest() == avatar_sha1
    assert avatar_ids == [avatar_sha1]


@pytest.fixture
def a_reconfigured(a):
    """a.test, whose operator may change its federation settings; open again afterwards."""
    yield a
    a.reconfigure(federation="open", federation_allowlist=[])


def refusals(sender_server, sender, recipient, body="Are you there?"):
    """What the sender's client gets back for a message to `recipient`."""

    async def attempt():
        async with logged_in(sender_server, sender, PASSWORD) as client:
            errors = asyncio.Queue()
            client.add_event_handler("message_error", errors.put_nowait)
            client.send_message(mto=recipient, mbody=body, mtype="chat")
            error = (await next_message(errors, timeout=15))["error"]
            return error["condition"], error["text"]

    return asyncio.run(attempt())


def delivered(sender_server, sender, recipient_server, recipient) -> bool:
    async def attempt():
        async with (
            logged_in(sender_server, sender, PASSWORD) as sending,
            logged_in(recipient_server, recipient, PASSWORD) as receiving,
        ):
            received = inbox(receiving)
            sending.send_message(mto=recipient, mbody="ping across", mtype="chat")
            return (await next_message(received))["body"] == "ping across"

    return asyncio.run(attempt())


def joins(server, jid, room) -> bool:
    async def attempt():
        async with logged_in(server, jid, PASSWORD) as client:
            await client.plugin["xep_0045"].join_muc_wait(room, "Visitor", timeout=10)
            return True

    return asyncio.run(attempt())


def test_server_with_federation_off_refuses_s2s_both_ways(a_reconfigured, b):
    alice, bob = person(a_reconfigured, "alma"), person(b, "ben")
    a_reconfigured.reconfigure(federation="off")
    assert refusals(a_reconfigured, alice, bob) == (
        "not-allowed",
        "Communication with remote domains is not enabled",
    )
    assert refusals(b, bob, alice) == (
        "remote-server-not-found",
        "Server-to-server connection failed: connection refused",
    )


def test_allowlist_admits_only_the_listed_servers(a_reconfigured, b, c):
    alice, bob, carol = person(a_reconfigured, "anna"), person(b, "bill"), person(c, "carol")
    assert delivered(c, carol, a_reconfigured, alice)  # open: everyone may talk
    a_reconfigured.reconfigure(federation="allowlist", federation_allowlist=["b.test"])
    assert delivered(a_reconfigured, alice, b, bob)
    assert delivered(b, bob, a_reconfigured, alice)
    assert refusals(a_reconfigured, alice, carol) == (
        "not-allowed",
        "This server does not federate with c.test",
    )
    assert refusals(c, carol, alice) == (
        "remote-server-timeout",
        "Server-to-server connection failed: policy-violation "
        "(This server does not federate with c.test)",
    )
    assert joins(a_reconfigured, alice, "allowed@conference.b.test")  # rooms of b.test too


def test_server_with_an_unverifiable_certificate_is_refused(a, federation):
    untrusted = federation.plain("untrusted.test", trusted=False)
    untrusted.register("eve", PASSWORD)
    alice = person(a, "agnes")
    assert refusals(a, alice, "eve@untrusted.test") == (
        "remote-server-timeout",
        "Server-to-server connection failed: Remote server's certificate is not trusted",
    )
    assert refusals(untrusted, "eve@untrusted.test", alice) == (
        "remote-server-timeout",
        "Server-to-server connection failed: not-authorized "
        "(Your server's certificate is not trusted)",
    )


def join_outcome(server, jid, room) -> str | None:
    async def attempt():
        async with logged_in(server, jid, PASSWORD) as client:
            return await join_room(client, room, jid.split("@")[0], timeout=10)

    return asyncio.run(attempt())


def room_exists(server, jid, room) -> bool:
    async def ask():
        async with logged_in(server, jid, PASSWORD) as client:
            try:
                await client.plugin["xep_0030"].get_info(jid=room, timeout=5)
            except IqError:
                return False
            return True

    return asyncio.run(ask())


def test_private_room_admits_a_remote_person_only_while_the_owner_has_her_as_member(a, b):
    alice, bob = person(a, "aria"), person(b, "boris")
    owner = b.sign_in("boris", PASSWORD)
    owner.post_form("/rooms/new/", {**NEW_ROOM, "slug": "backroom", "visibility": "private"})
    room = "backroom@conference.b.test"
    eventually(lambda: room_exists(b, bob, room), timeout=10)
    assert join_outcome(a, alice, room) == "registration-required"

    owner.post_form("/rooms/backroom/members/", {"username": alice, "affiliation": "member"})
    assert eventually(lambda: join_outcome(a, alice, room) is None, timeout=10)

    async def while_alice_is_in():
        async with logged_in(a, alice, PASSWORD) as client:
            assert await join_room(client, room, "aria", timeout=10) is None
            # (blocking the loop is fine here: Prosody reports the count)
            return eventually(lambda: "1 person in the room now" in owner.get("/rooms/backroom/"))

    assert asyncio.run(while_alice_is_in())
    page = owner.get("/rooms/backroom/")
    assert alice in page and "/people/aria" not in page  # by address, no profile link

    owner.post_form("/rooms/backroom/members/", {"username": alice, "affiliation": "none"})
    assert eventually(lambda: join_outcome(a, alice, room) == "registration-required", timeout=10)
