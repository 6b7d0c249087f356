"""Rooms across the portal, the bridge and a real Prosody, seen from XMPP clients."""

import asyncio
import time

import pytest
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from portal.rooms.models import Affiliation, Room
from tests.people import (
    capture_outbox,
    make_room_member,
    member,
    wait_until_provisioned,
    wait_until_synced,
)
from tests.rooms_helpers import (
    MUC,
    join,
    listed_rooms,
    new_room,
    room_config,
    run_as,
    try_room_config,
)
from tests.xmpp_client import eventually

pytestmark = pytest.mark.django_db(transaction=True)

MUC_USER = "http://jabber.org/protocol/muc#user"
BOOKMARKS = "urn:xmpp:bookmarks:1"


def affiliations_in_prosody(server, owner, slug) -> dict[str, str]:
    async def action(client):
        found = {}
        for kind in ("owner", "admin", "member", "outcast"):
            jids = await client.plugin["xep_0045"].get_affiliation_list(
                f"{slug}@{MUC}", kind, timeout=5
            )
            found.update({str(jid): kind for jid in jids})
        return found

    return run_as(server, owner, action)


def bookmarks_of(server, username) -> dict[str, dict]:
    """XEP-0402 bookmarks (PEP) and the XEP-0048 view mod_bookmarks derives from them."""

    async def action(client):
        iq = client.make_iq_get(ito=client.boundjid.bare)
        pubsub = ET.SubElement(iq.xml, "{http://jabber.org/protocol/pubsub}pubsub")
        ET.SubElement(pubsub, "{http://jabber.org/protocol/pubsub}items", {"node": BOOKMARKS})
        try:
            reply = await iq.send(timeout=5)
            items = reply.xml.iter("{http://jabber.org/protocol/pubsub}item")
            pep = {item.get("id"): item.find(f"{{{BOOKMARKS}}}conference").attrib for item in items}
        except Exception:
            pep = {}
        iq = client.make_iq_get()
        query = ET.SubElement(iq.xml, "{jabber:iq:private}query")
        ET.SubElement(query, "{storage:bookmarks}storage")
        reply = await iq.send(timeout=5)
        legacy = {c.get("jid"): c.attrib for c in reply.xml.iter("{storage:bookmarks}conference")}
        return pep, legacy

    return run_as(server, username, action)


def test_room_made_in_portal_exists_in_prosody_as_configured(xmpp_server, synced_db):
    alice = member(xmpp_server, "alice")
    new_room(alice, "lounge", name="The Lounge", description="Tea\nand talk", password="sesame")
    config = eventually(lambda: try_room_config(xmpp_server, "alice", "lounge"), timeout=5)
    assert config["muc#roomconfig_roomname"] == "The Lounge"
    assert config["muc#roomconfig_roomdesc"] == "Tea\nand talk"
    assert config["muc#roomconfig_publicroom"] is True
    assert not config["muc#roomconfig_membersonly"]
    assert config["muc#roomconfig_roomsecret"] == "sesame"
    assert config["muc#roomconfig_persistentroom"] is True
    assert config["muc#roomconfig_enablearchiving"] is True
    assert config["muc#roomconfig_whois"] == "moderators"
    assert affiliations_in_prosody(xmpp_server, "alice", "lounge") == {"alice@localhost": "owner"}
    assert f"lounge@{MUC}" in listed_rooms(xmpp_server, "alice")


def test_room_edited_in_portal_is_reconfigured_in_prosody(xmpp_server, synced_db):
    bob = member(xmpp_server, "bob")
    new_room(bob, "plans", password="pw")
    eventually(lambda: try_room_config(xmpp_server, "bob", "plans"))
    response = bob.post(
        "/rooms/plans/edit/",
        {
            "name": "Secret plans",
            "description": "Only us",
            "visibility": "private",
            "password": "",
            "history": "",
            "persistent": "on",
            "real_jids_visible_to": "anyone",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    def reconfigured():
        config = room_config(xmpp_server, "bob", "plans")
        return config["muc#roomconfig_roomname"] == "Secret plans" and config

    config = eventually(reconfigured, timeout=5)
    assert config["muc#roomconfig_roomdesc"] == "Only us"
    assert not config["muc#roomconfig_publicroom"]
    assert config["muc#roomconfig_membersonly"] is True
    assert not config["muc#roomconfig_roomsecret"]
    assert not config["muc#roomconfig_enablearchiving"]
    assert config["muc#roomconfig_whois"] == "anyone"
    assert f"plans@{MUC}" not in listed_rooms(xmpp_server, "bob")


def test_room_deleted_in_portal_is_destroyed_and_occupants_are_told(xmpp_server, synced_db):
    carol = member(xmpp_server, "carol")
    new_room(carol, "doomed")
    eventually(lambda: try_room_config(xmpp_server, "carol", "doomed"))

    async def scenario(client):
        told = asyncio.get_running_loop().create_future()

        def on_presence(presence):
            reason = presence.xml.find(
                f"{{{MUC_USER}}}x/{{{MUC_USER}}}destroy/{{{MUC_USER}}}reason"
            )
            if reason is not None and not told.done():
                told.set_result(reason.text)

        client.add_event_handler("groupchat_presence", on_presence)
        assert await join(client, "doomed") is None
        page = await asyncio.to_thread(carol.get, "/rooms/doomed/delete/")
        assert page.status_code == 200
        response = await asyncio.to_thread(
            carol.post, "/rooms/doomed/delete/", {"confirm": "doomed"}
        )
        assert response.status_code == 302
        started = time.monotonic()
        reason = await asyncio.wait_for(told, 5)
        return reason, time.monotonic() - started

    reason, delay = run_as(xmpp_server, "carol", scenario)
    assert reason == "This room was deleted."
    assert delay < 1.0
    assert try_room_config(xmpp_server, "carol", "doomed") is None


def test_private_room_is_closed_and_invisible_to_non_members(xmpp_server, synced_db, client):
    dave = member(xmpp_server, "dave")
    eve = member(xmpp_server, "eve")
    member(xmpp_server, "frank")
    new_room(dave, "hideout", visibility="private")
    make_room_member(dave, "hideout", "frank")
    eventually(lambda: "frank@localhost" in affiliations_in_prosody(xmpp_server, "dave", "hideout"))

    async def try_join(c):
        return await join(c, "hideout")

    assert run_as(xmpp_server, "eve", try_join) == "registration-required"
    assert f"hideout@{MUC}" not in listed_rooms(xmpp_server, "eve")
    assert eve.get("/rooms/hideout/").status_code == 404
    assert b"hideout" not in eve.get("/rooms/").content
    assert run_as(xmpp_server, "frank", try_join) is None


def test_password_protected_room_needs_its_password(xmpp_server, synced_db):
    gina = member(xmpp_server, "gina")
    member(xmpp_server, "hank")
    new_room(gina, "vault", password="open sesame")
    eventually(lambda: try_room_config(xmpp_server, "gina", "vault"))

    async def attempts(c):
        return await join(c, "vault"), await join(c, "vault", password="open sesame")

    assert run_as(xmpp_server, "hank", attempts) == ("not-authorized", None)


def test_members_page_sets_affiliations_in_prosody(xmpp_server, synced_db):
    ivy = member(xmpp_server, "ivy")
    for name in ("jack", "kate", "liam"):
        member(xmpp_server, name)
    new_room(ivy, "crew")
    for username, kind in (("jack", "member"), ("kate", "admin"), ("liam", "outcast")):
        response = ivy.post("/rooms/crew/members/", {"username": username, "affiliation": kind})
        assert response.status_code == 302
    expected = {
        "ivy@localhost": "owner",
        "jack@localhost": "member",
        "kate@localhost": "admin",
        "liam@localhost": "outcast",
    }
    eventually(lambda: affiliations_in_prosody(xmpp_server, "ivy", "crew") == expected)

    async def try_join(c):
        return await join(c, "crew")

    assert run_as(xmpp_server, "liam", try_join) == "forbidden"
    make_room_member(ivy, "crew", "liam", "none")
    make_room_member(ivy, "crew", "kate")
    expected.pop("liam@localhost")
    expected["kate@localhost"] = "member"
    eventually(lambda: affiliations_in_prosody(xmpp_server, "ivy", "crew") == expected)
    assert run_as(xmpp_server, "liam", try_join) is None


def test_members_get_an_autojoin_bookmark_until_they_leave(xmpp_server, synced_db):
    mia = member(xmpp_server, "mia")
    noah = member(xmpp_server, "noah")
    new_room(mia, "bookclub", name="Book club")
    make_room_member(mia, "bookclub", "noah")
    room = f"bookclub@{MUC}"

    def bookmarked():
        pep, legacy = bookmarks_of(xmpp_server, "noah")
        return room in pep and room in legacy and (pep, legacy)

    pep, legacy = eventually(bookmarked, timeout=5)
    assert pep[room]["autojoin"] == "true"
    assert pep[room]["name"] == "Book club"
    assert legacy[room]["autojoin"] in ("true", "1")
    assert room in bookmarks_of(xmpp_server, "mia")[0]  # the owner too

    response = mia.post(
        "/rooms/bookclub/edit/",
        {
            "name": "Readers",
            "visibility": "public",
            "persistent": "on",
            "history": "on",
            "real_jids_visible_to": "moderators",
        },
    )
    assert response.status_code == 302
    eventually(lambda: bookmarks_of(xmpp_server, "noah")[0][room]["name"] == "Readers")

    assert noah.post("/rooms/bookclub/leave/").status_code == 302
    eventually(lambda: room not in bookmarks_of(xmpp_server, "noah")[0], timeout=5)
    make_room_member(mia, "bookclub", "noah")
    eventually(lambda: room in bookmarks_of(xmpp_server, "noah")[0], timeout=5)
    make_room_member(mia, "bookclub", "noah", "none")
    eventually(lambda: room not in bookmarks_of(xmpp_server, "noah")[0], timeout=5)


def _portal_room(slug):
    return Room.objects.filter(slug=slug).first()


def _portal_affiliations(slug) -> dict[str, str]:
    rows = Affiliation.objects.filter(room__slug=slug).values_list("user__username", "kind")
    return dict(rows)


def test_room_made_from_a_client_appears_in_portal_and_follows_its_changes(xmpp_server, synced_db):
    olga = member(xmpp_server, "olga")
    member(xmpp_server, "pete")
    with capture_outbox() as written:

        async def create(client):
            assert await join(client, "fromclient") is None

        started = time.monotonic()
        run_as(xmpp_server, "olga", create)
        room = eventually(lambda: _portal_room("fromclient"), timeout=5)
        assert time.monotonic() - started < 5
        assert _portal_affiliations("fromclient") == {"olga": "owner"}
        assert room.is_public and room.persistent
        assert olga.get("/rooms/fromclient/").status_code == 200

        async def reconfigure(client):
            muc = client.plugin["xep_0045"]
            form = await muc.get_room_config(f"fromclient@{MUC}", timeout=5)
            form.set_values(
                {
                    **{name: field["value"] for name, field in form.get_fields().items()},
                    "muc#roomconfig_roomname": "Made in a client",
                    "muc#roomconfig_roomdesc": "Configured from XMPP",
                    "muc#roomconfig_membersonly": True,
                    "muc#roomconfig_publicroom": False,
                }
            )
            await muc.set_room_config(f"fromclient@{MUC}", form, timeout=5)
            await muc.set_affiliation(f"fromclient@{MUC}", "admin", jid="pete@localhost", timeout=5)

        run_as(xmpp_server, "olga", reconfigure)
        eventually(lambda: _portal_room("fromclient").name == "Made in a client", timeout=5)
        room = _portal_room("fromclient")
        assert room.description == "Configured from XMPP"
        assert room.visibility == Room.Visibility.PRIVATE
        eventually(lambda: _portal_affiliations("fromclient").get("pete") == "admin", timeout=5)

        async def destroy(client):
            await client.plugin["xep_0045"].destroy(f"fromclient@{MUC}", "done", timeout=5)

        run_as(xmpp_server, "olga", destroy)
        eventually(lambda: _portal_room("fromclient") is None, timeout=5)
        assert olga.get("/rooms/fromclient/").status_code == 404
    # Applying what came from Prosody sent nothing back.
    assert not written.of("room")


def test_temporary_room_disappears_from_portal_when_prosody_drops_it(xmpp_server, synced_db):
    quinn = member(xmpp_server, "quinn")
    new_room(quinn, "popup", persistent=None)
    eventually(lambda: try_room_config(xmpp_server, "quinn", "popup"))

    async def visit(client):
        assert await join(client, "popup") is None
        await asyncio.sleep(0.2)

    run_as(xmpp_server, "quinn", visit)
    eventually(lambda: _portal_room("popup") is None, timeout=5)


def test_room_list_shows_live_occupant_counts(xmpp_server, synced_db):
    rose = member(xmpp_server, "rose")
    new_room(rose, "busy", name="Busy room")
    eventually(lambda: try_room_config(xmpp_server, "rose", "busy"))

    def count_shown():
        html = rose.get("/rooms/").content.decode()
        return html.split('data-room="busy">')[1].split("<")[0]

    async def stay(client):
        assert await join(client, "busy") is None
        shown = await asyncio.to_thread(eventually, lambda: count_shown() == "1", 5)
        return shown

    assert count_shown() == "0"
    assert run_as(xmpp_server, "rose", stay)
    eventually(lambda: count_shown() == "0", timeout=5)


def _prosody_view(server, owner, slug) -> tuple:
    config = room_config(server, owner, slug)
    return (
        config["muc#roomconfig_roomname"],
        config["muc#roomconfig_roomdesc"] or "",
        bool(config["muc#roomconfig_publicroom"]),
        bool(config["muc#roomconfig_membersonly"]),
        bool(config["muc#roomconfig_persistentroom"]),
        bool(config["muc#roomconfig_enablearchiving"]),
        config["muc#roomconfig_whois"],
        affiliations_in_prosody(server, owner, slug),
    )


def _portal_view(slug) -> tuple:
    room = _portal_room(slug)
    return (
        room.name,
        room.description,
        room.is_public,
        not room.is_public,
        room.persistent,
        room.history,
        room.real_jids_visible_to,
        {f"{user}@localhost": kind for user, kind in _portal_affiliations(slug).items()},
    )


def test_prosody_catches_up_with_changes_made_while_it_was_down(xmpp_server, synced_db):
    sam = member(xmpp_server, "sam")
    with capture_outbox() as written:
        xmpp_server.stop()
        try:
            for number in range(5):
                new_room(sam, f"offline{number}")
            edits = {
                0: {"visibility": "public", "history": "on", "real_jids_visible_to": "anyone"},
                1: {"visibility": "private", "real_jids_visible_to": "moderators"},
            }
            for number, fields in edits.items():
                fields = {"name": f"Edited {number}", "description": "Offline edit", **fields}
                response = sam.post(f"/rooms/offline{number}/edit/", {"persistent": "on", **fields})
                assert response.status_code == 302
            assert sam.post("/rooms/offline4/delete/", {"confirm": "offline4"}).status_code == 302
        finally:
            xmpp_server.start()
    started = time.monotonic()

    wait_until_synced(timeout=10, topic="room")
    assert time.monotonic() - started < 10
    for number in range(4):
        slug = f"offline{number}"
        assert _prosody_view(xmpp_server, "sam", slug) == _portal_view(slug), slug
    assert _portal_view("offline1")[:2] == ("Edited 1", "Offline edit")
    assert try_room_config(xmpp_server, "sam", "offline4") is None
    log = xmpp_server.config.log_path.read_text()
    for number in range(4):
        assert log.count(f"Room offline{number}@{MUC} created by the bridge") == 1
    assert f"Room offline4@{MUC}" not in log  # created and deleted before Prosody saw it
    rows = written.current().of("room")
    assert rows and all(row.state == "done" and row.attempts == 1 for row in rows)


def test_reconcile_repairs_drift_both_ways_after_reconnecting(xmpp_server, synced_db):
    tess = member(xmpp_server, "tess")
    new_room(tess, "drifted", name="Portal name")
    new_room(tess, "forgotten", name="Only Prosody remembers")
    eventually(lambda: try_room_config(xmpp_server, "tess", "forgotten"))
    eventually(lambda: try_room_config(xmpp_server, "tess", "drifted"))
    # Changes behind the outbox's back: nothing tells the bridge about them.
    Room.objects.filter(slug="drifted").update(name="Changed quietly")
    Room.objects.filter(slug="forgotten").delete()

    xmpp_server.restart()  # the bridge reconciles when it reconnects

    def repaired():
        config = try_room_config(xmpp_server, "tess", "drifted")
        return config and config["muc#roomconfig_roomname"] == "Changed quietly"

    eventually(repaired, timeout=10)
    room = eventually(lambda: _portal_room("forgotten"), timeout=10)
    assert room.name == "Only Prosody remembers"
    assert _portal_affiliations("forgotten") == {"tess": "owner"}


def test_room_deleted_in_portal_can_be_made_again_with_its_address(xmpp_server, synced_db):
    uma = member(xmpp_server, "uma")
    new_room(uma, "phoenix", name="First life")
    eventually(lambda: try_room_config(xmpp_server, "uma", "phoenix"))
    uma.post("/rooms/phoenix/delete/", {"confirm": "phoenix"})
    eventually(lambda: try_room_config(xmpp_server, "uma", "phoenix") is None)
    new_room(uma, "phoenix", name="Second life")

    def reborn():
        config = try_room_config(xmpp_server, "uma", "phoenix")
        return config and config["muc#roomconfig_roomname"] == "Second life"

    eventually(reborn, timeout=5)
    assert _portal_room("phoenix").name == "Second life"  # not taken for a client's destruction


@pytest.fixture
def restricted_xmpp_server(xmpp_server, synced_db, tmp_path):
    """A second Prosody that refuses room creation from clients, with its own bridge."""
    from tests.fixtures import bridge_for, own_prosody

    with own_prosody(tmp_path / "prosody", restrict_room_creation=True) as server:
        bridge = bridge_for(server, tmp_path / "bridge.log").start()
        try:
            yield server
        finally:
            bridge.stop()


def test_room_creation_from_clients_can_be_restricted(xmpp_server, synced_db, request):
    # Made before the second bridge starts: its first reconcile brings both there.
    vera = member(xmpp_server, "vera")
    new_room(vera, "wanted")
    eventually(lambda: try_room_config(xmpp_server, "vera", "wanted"), timeout=5)
    server = request.getfixturevalue("restricted_xmpp_server")
    wait_until_provisioned(server, "vera")

    async def create(client):
        return await join(client, "unwanted")

    assert run_as(server, "vera", create) == "not-allowed"
    # Rooms still come from the portal: the bridge is not a client.
    eventually(lambda: try_room_config(server, "vera", "wanted"), timeout=5)


def test_only_the_bridge_can_drive_rooms(xmpp_server, synced_db):
    """Clients can neither send the bridge's requests nor fake Prosody's events."""
    wendy = member(xmpp_server, "wendy")
    new_room(wendy, "guarded")
    eventually(lambda: try_room_config(xmpp_server, "wendy", "guarded"))
    ns = "urn:chatboard:rooms:0"

    async def attack(client):
        message = client.make_message(mto="bridge.localhost", mtype="normal")
        ET.SubElement(message.xml, f"{{{ns}}}destroyed", {"jid": f"guarded@{MUC}"})
        message.send()
        iq = client.make_iq_set(ito=MUC)
        ET.SubElement(iq.xml, f"{{{ns}}}destroy", {"jid": f"guarded@{MUC}"})
        try:
            await iq.send(timeout=5)
        except IqError as error:
            return error.iq["error"]["condition"]
        return "accepted"

    assert run_as(xmpp_server, "wendy", attack) == "forbidden"
    time.sleep(0.5)
    assert _portal_room("guarded") is not None
    assert try_room_config(xmpp_server, "wendy", "guarded") is not None


def test_changes_made_from_clients_while_the_bridge_was_away_reach_the_portal(
    xmpp_server, synced_db
):
    xena = member(xmpp_server, "xena")
    new_room(xena, "short-lived")
    eventually(lambda: try_room_config(xmpp_server, "xena", "short-lived"))

    async def while_away(client):
        await client.plugin["xep_0045"].destroy(f"short-lived@{MUC}", "bye", timeout=5)
        assert await join(client, "made-offline") is None

    synced_db.stop()  # Prosody's messages to the bridge now bounce
    try:
        run_as(xmpp_server, "xena", while_away)
        assert _portal_room("short-lived") is not None
    finally:
        synced_db.start()
    # The bridge reconciles as it reconnects: the tombstone is newer than the
    # portal's room, and the new room is unknown to the portal.
    eventually(lambda: _portal_room("short-lived") is None, timeout=10)
    eventually(lambda: _portal_room("made-offline"), timeout=10)
    assert _portal_affiliations("made-offline") == {"xena": "owner"}


def test_room_page_lists_who_is_in_the_room_as_the_room_allows(xmpp_server, synced_db):
    owner = member(xmpp_server, "tessa")
    visitor = member(xmpp_server, "ulric")
    new_room(owner, "parlour", name="Parlour")  # semi-anonymous: real JIDs for moderators
    eventually(lambda: try_room_config(xmpp_server, "tessa", "parlour"))

    def page(client):
        return client.get("/rooms/parlour/").content.decode()

    async def stay(client):
        assert await join(client, "parlour", nick="Ulric the Visitor") is None
        await asyncio.to_thread(eventually, lambda: "Ulric the Visitor" in page(owner), 5)
        return await asyncio.to_thread(lambda: (page(owner), page(visitor)))

    owner_view, visitor_view = run_as(xmpp_server, "ulric", stay)
    # The owner, a moderator, sees the real address, linked to the local profile.
    assert '<a href="/people/ulric/">ulric@localhost</a>' in owner_view
    # Anyone else sees the nickname only, as in the room itself.
    assert "Ulric the Visitor" in visitor_view
    assert "ulric@localhost" not in visitor_view
    eventually(lambda: "Ulric the Visitor" not in page(owner), timeout=5)
