"""Federation: two ChatBoard stacks (a.test, b.test) and a stock XMPP server
(c.test) on one machine, each with its own Prosody, portal and bridge, talking
over real s2s with certificate verification."""

import asyncio

import pytest

from tests.stacks import Federation
from tests.xmpp_client import can_log_in, eventually, logged_in

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def federation(tmp_path_factory):
    federation = Federation(tmp_path_factory.mktemp("federation"), ["a.test", "b.test", "c.test"])
    yield federation
    federation.stop_all()


@pytest.fixture(scope="module")
def a(federation):
    return federation.chatboard("a.test")


@pytest.fixture(scope="module")
def b(federation):
    return federation.chatboard("b.test")


def person(stack, username):
    stack.sign_up(username, PASSWORD)
    jid = f"{username}@{stack.domain}"
    eventually(lambda: can_log_in(stack, jid, PASSWORD), timeout=10)
    return jid


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
