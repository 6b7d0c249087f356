"""Acting on rooms as a person would: through the portal's pages and from an XMPP client."""

import asyncio

from django.test import Client
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from tests.people import PASSWORD
from tests.xmpp_client import eventually, logged_in

MUC = "conference.localhost"


def new_room(client: Client, slug, **fields):
    data = {
        "slug": slug,
        "name": fields.pop("name", slug.title()),
        "description": "",
        "visibility": "public",
        "password": "",
        "persistent": "on",
        "history": "on",
        **fields,
    }
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post("/rooms/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


def run_as(server, username, action):
    """Run `await action(client)` with <username> logged in over XMPP."""

    async def go():
        async with logged_in(server, f"{username}@localhost", PASSWORD) as client:
            return await action(client)

    return asyncio.run(go())


def room_config(server, username, slug) -> dict:
    """The room's configuration form as its owner sees it from a client."""

    async def action(client):
        form = await client.plugin["xep_0045"].get_room_config(f"{slug}@{MUC}", timeout=5)
        return form.get_values()

    return run_as(server, username, action)


def try_room_config(server, username, slug):
    try:
        return room_config(server, username, slug)
    except (IqError, AssertionError):
        return None


def room_in_prosody(server, owner: Client, owner_name: str, slug: str, **fields) -> str:
    """A room made in the portal by <owner>, once the bridge has made it in Prosody;
    its address."""
    new_room(owner, slug, **fields)
    eventually(lambda: try_room_config(server, owner_name, slug))
    return f"{slug}@{MUC}"


async def join(client, slug, nick=None, password=None, timeout=5):
    """Join the room; the error condition when Prosody refuses, or None once joined."""
    return await join_room(client, f"{slug}@{MUC}", nick, password, timeout)


async def join_room(client, room, nick=None, password=None, timeout=5):
    """join() by the room's full address, on this server or another one."""
    nick = nick or client.boundjid.user
    answer = asyncio.get_running_loop().create_future()

    def on_presence(presence):
        if presence["from"].bare != room or answer.done():
            return
        if presence["type"] == "error":
            answer.set_result(presence["error"]["condition"])
        elif presence["from"].resource == nick and presence["type"] != "unavailable":
            answer.set_result(None)

    client.add_event_handler("presence", on_presence)
    try:
        stanza = client.make_presence(pto=f"{room}/{nick}")
        x = ET.SubElement(stanza.xml, "{http://jabber.org/protocol/muc}x")
        if password:
            ET.SubElement(x, "{http://jabber.org/protocol/muc}password").text = password
        stanza.send()
        return await asyncio.wait_for(answer, timeout)
    finally:
        client.del_event_handler("presence", on_presence)


def listed_rooms(server, username) -> set[str]:
    async def action(client):
        items = await client.plugin["xep_0030"].get_items(jid=MUC, timeout=5)
        return {item[0] for item in items["disco_items"]["items"]}

    return run_as(server, username, action)
