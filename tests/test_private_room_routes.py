"""A private room (members-only, hidden) cannot be found, joined or read by a
non-member through any XMPP route: disco on the service and on the room, MAM,
joining, or asking its occupants."""

import asyncio

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from tests.fixtures import own_prosody
from tests.people import PASSWORD
from tests.rooms_helpers import MUC, join
from tests.xmpp_client import connect

pytestmark = pytest.mark.timeout(60)

ROOM = f"hideout@{MUC}"
SECRET_WORDS = ("Hideout", "plans for the heist", "the secret message")


async def make_private_room(owner, member_jid):
    muc = owner.plugin["xep_0045"]
    assert await join(owner, "hideout", nick="owner") is None
    form = await muc.get_room_config(ROOM, timeout=5)
    form.set_values(
        {
            **{name: field["value"] for name, field in form.get_fields().items()},
            "muc#roomconfig_roomname": "Hideout",
            "muc#roomconfig_roomdesc": "plans for the heist",
            "muc#roomconfig_membersonly": True,
            "muc#roomconfig_publicroom": False,
            "muc#roomconfig_persistentroom": True,
            "muc#roomconfig_enablearchiving": True,
        }
    )
    await muc.set_room_config(ROOM, form, timeout=5)
    await muc.set_affiliation(ROOM, "member", jid=member_jid, timeout=5)
    owner.send_message(mto=ROOM, mbody="the secret message", mtype="groupchat")
    await asyncio.sleep(0.3)


async def query(client, kind, to, element, node=None):
    """The reply to an IQ as text, or its error condition."""
    iq = client.make_iq(ito=to, itype=kind)
    child = ET.SubElement(iq.xml, element)
    if node:
        child.set("node", node)
    try:
        return str(await iq.send(timeout=5))
    except IqError as error:
        return error.iq["error"]["condition"]


async def mam_results(client, to):
    found = []
    client.register_handler(
        Callback(
            "mam",
            MatchXPath("{jabber:client}message/{urn:xmpp:mam:2}result"),
            lambda m: found.append(str(m)),
        )
    )
    answer = await query(client, "set", to, "{urn:xmpp:mam:2}query")
    return answer, found


def test_a_non_member_finds_and_reads_nothing_of_a_private_room(tmp_path):
    with own_prosody(tmp_path, ("owner", "member", "outsider")) as server:

        async def scenario():
            owner = await connect(server, "owner@localhost", PASSWORD)
            outsider = await connect(server, "outsider@localhost", PASSWORD)
            member = await connect(server, "member@localhost", PASSWORD)
            try:
                await make_private_room(owner, "member@localhost")
                seen = {
                    "service items": await query(
                        outsider, "get", MUC, "{http://jabber.org/protocol/disco#items}query"
                    ),
                    "room info": await query(
                        outsider, "get", ROOM, "{http://jabber.org/protocol/disco#info}query"
                    ),
                    "room items": await query(
                        outsider, "get", ROOM, "{http://jabber.org/protocol/disco#items}query"
                    ),
                    "archive": await mam_results(outsider, ROOM),
                    "join": await join(outsider, "hideout"),
                }
                # The member, for contrast, does get in and read the history.
                member_view = await mam_results(member, ROOM), await join(member, "hideout")
                return seen, member_view
            finally:
                for client in (owner, outsider, member):
                    client.abort()

        seen, member_view = asyncio.run(scenario())
    leaked = {route: str(answer) for route, answer in seen.items()}
    for route, text in leaked.items():
        for word in SECRET_WORDS:
            assert word not in text, f"{route} shows {word!r}: {text}"
    assert ROOM not in leaked["service items"]
    assert seen["room info"] == seen["room items"] == "item-not-found"  # as if it did not exist
    assert seen["archive"] == ("forbidden", [])
    assert seen["join"] == "registration-required"
    (_, member_archive), member_join = member_view
    assert any("the secret message" in text for text in member_archive)
    assert member_join is None


@pytest.mark.django_db
def test_no_portal_page_or_json_endpoint_shows_a_private_room_to_a_non_member():
    from django.test import Client

    from portal.accounts.models import User
    from portal.rooms.models import Affiliation, Room

    owner = User.objects.create_user("owner", "owner@example.org", PASSWORD)
    outsider = User.objects.create_user("outsider", "outsider@example.org", PASSWORD)
    room = Room.objects.create(
        slug="hideout",
        name="Hideout",
        description="plans for the heist",
        visibility=Room.Visibility.PRIVATE,
    )
    Affiliation.objects.create(room=room, user=owner, kind=Affiliation.Kind.OWNER)
    browser = Client()
    browser.force_login(outsider)
    pages = {
        path: browser.get(path)
        for path in (
            "/rooms/",
            "/rooms/?q=heist",
            "/rooms/?q=hideout",
            "/people/",
            "/people/owner/",
            "/chat/?room=hideout",
            "/chat/credentials",
            "/",
        )
    }
    for path in ("/rooms/hideout/", "/rooms/hideout/edit/", "/rooms/hideout/members/"):
        assert browser.get(path).status_code == 404, path
        assert browser.post(path, {"name": "taken over"}).status_code in (403, 404), path
    assert browser.post("/rooms/hideout/leave/").status_code == 404
    assert browser.get("/rooms/hideout/delete/").status_code == 404
    for path, response in pages.items():
        assert response.status_code == 200, path
        for word in SECRET_WORDS[:2]:
            assert word not in response.content.decode(), f"{path} shows {word!r}"
    assert Room.objects.get(slug="hideout").name == "Hideout"
