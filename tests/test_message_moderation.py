"""Message moderation (XEP-0425 with XEP-0424 retraction) in a real Prosody, from
real slixmpp clients: what every occupant sees and what the archive keeps."""

import asyncio
from contextlib import AsyncExitStack

import pytest
from slixmpp import JID
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from portal.audit.models import AuditEntry
from tests.people import PASSWORD, member
from tests.rooms_helpers import MUC, join, room_in_prosody
from tests.xmpp_client import eventually, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

MODERATE = "urn:xmpp:message-moderate:1"
RETRACT = "urn:xmpp:message-retract:1"
FASTEN = "urn:xmpp:fasten:0"
MODERATE_0 = "urn:xmpp:message-moderate:0"
RETRACT_0 = "urn:xmpp:message-retract:0"
STANZA_ID = "urn:xmpp:sid:0"
MAM = "urn:xmpp:mam:2"


class Inbox:
    """Every groupchat message a client receives from one room, as XML."""

    def __init__(self, client, room):
        self.room = room
        self.messages: list[ET.Element] = []
        self.arrived = asyncio.Event()
        client.register_handler(
            Callback(f"inbox-{room}", MatchXPath("{jabber:client}message"), self._on_message)
        )

    def _on_message(self, message):
        if message["from"].bare == self.room and message["type"] == "groupchat":
            self.messages.append(message.xml)
            self.arrived.set()

    async def first(self, predicate, timeout=5):
        async def wait():
            while True:
                for element in self.messages:
                    if predicate(element):
                        return element
                self.arrived.clear()
                await self.arrived.wait()

        return await asyncio.wait_for(wait(), timeout)


def stanza_id_of(element) -> str:
    return element.find(f"{{{STANZA_ID}}}stanza-id").get("id")


def with_body(text):
    return lambda element: element.findtext("{jabber:client}body") == text


def retraction_of(stanza_id):
    def matches(element):
        retract = element.find(f"{{{RETRACT}}}retract")
        return retract is not None and retract.get("id") == stanza_id

    return matches


async def moderate(client, room, stanza_id, reason):
    iq = client.make_iq_set(ito=room)
    request = ET.SubElement(iq.xml, f"{{{MODERATE}}}moderate", {"id": stanza_id})
    ET.SubElement(request, f"{{{RETRACT}}}retract")
    ET.SubElement(request, f"{{{MODERATE}}}reason").text = reason
    return await iq.send(timeout=5)


async def archive_of(client, room) -> list[ET.Element]:
    """The room's MAM archive as an occupant fetches it: the archived messages."""
    found = []
    queryid = "q1"

    def on_result(message):
        result = message.xml.find(f"{{{MAM}}}result")
        if result is not None and result.get("queryid") == queryid:
            found.append(result.find("{urn:xmpp:forward:0}forwarded/{jabber:client}message"))

    client.register_handler(
        Callback("mam-result", MatchXPath(f"{{jabber:client}}message/{{{MAM}}}result"), on_result)
    )
    iq = client.make_iq_set(ito=room)
    ET.SubElement(iq.xml, f"{{{MAM}}}query", {"queryid": queryid})
    await iq.send(timeout=5)
    client.remove_handler("mam-result")
    return found


def test_moderator_removes_a_message_for_everyone_and_from_the_archive(xmpp_server, synced_db):
    owner = member(xmpp_server, "mod-olive")
    member(xmpp_server, "mod-pablo")
    member(xmpp_server, "mod-queen")
    room = room_in_prosody(xmpp_server, owner, "mod-olive", "agora")

    async def scenario():
        async with AsyncExitStack() as stack:
            clients = {}
            for name in ("mod-olive", "mod-pablo", "mod-queen"):
                jid = f"{name}@localhost"
                client = await stack.enter_async_context(logged_in(xmpp_server, jid, PASSWORD))
                clients[name] = (client, Inbox(client, room))
                assert await join(client, "agora") is None
            olive, pablo, queen = (clients[n][0] for n in ("mod-olive", "mod-pablo", "mod-queen"))
            inboxes = [inbox for _client, inbox in clients.values()]

            pablo.send_message(mto=room, mbody="buy cheap pills", mtype="groupchat")
            pablo.send_message(mto=room, mbody="good morning", mtype="groupchat")
            spam = await clients["mod-queen"][1].first(with_body("buy cheap pills"))
            spam_id = stanza_id_of(spam)
            kept = await clients["mod-queen"][1].first(with_body("good morning"))

            # A participant may not moderate, not even someone else's message.
            with pytest.raises(IqError) as refused:
                await moderate(queen, room, spam_id, "I dislike it")
            assert refused.value.iq["error"]["condition"] == "forbidden"

            await moderate(olive, room, spam_id, "spam")
            notices = [await inbox.first(retraction_of(spam_id)) for inbox in inboxes]
            for notice in notices:
                retract = notice.find(f"{{{RETRACT}}}retract")
                moderated = retract.find(f"{{{MODERATE}}}moderated")
                assert moderated.get("by") == f"{room}/mod-olive"
                assert retract.findtext(f"{{{RETRACT}}}reason") == "spam"
                # Clients that know only XEP-0425 v0.2 get the same notice.
                applied = notice.find(f"{{{FASTEN}}}apply-to")
                assert applied.get("id") == spam_id
                assert applied.find(f"{{{MODERATE_0}}}moderated/{{{RETRACT_0}}}retract") is not None

            return spam_id, stanza_id_of(kept), await archive_of(queen, room)

    spam_id, kept_id, archive = asyncio.run(scenario())
    bodies = [m.findtext("{jabber:client}body") for m in archive]
    assert "buy cheap pills" not in bodies
    assert "good morning" in bodies
    tombstones = [m for m in archive if m.find(f"{{{RETRACT}}}retracted") is not None]
    assert len(tombstones) == 1
    tombstone = tombstones[0].find(f"{{{RETRACT}}}retracted")
    assert tombstone.find(f"{{{MODERATE}}}moderated").get("by") == f"{room}/mod-olive"
    assert tombstones[0].get("from") == f"{room}/mod-pablo"
    assert kept_id != spam_id
    # The portal's audit log has it, once, with who, whose message, where and why.
    entry = eventually(lambda: AuditEntry.objects.filter(action="room.remove_message").first())
    assert (entry.actor_name, entry.target, entry.room_slug, entry.reason) == (
        "mod-olive",
        "mod-pablo",
        "agora",
        "spam",
    )
    assert AuditEntry.objects.filter(action="room.remove_message").count() == 1


def test_moderating_needs_a_message_of_that_room(xmpp_server, synced_db):
    owner = member(xmpp_server, "mod-rhea")
    room_in_prosody(xmpp_server, owner, "mod-rhea", "forum")

    async def scenario():
        async with logged_in(xmpp_server, "mod-rhea@localhost", PASSWORD) as client:
            assert await join(client, "forum") is None
            with pytest.raises(IqError) as missing:
                await moderate(client, f"forum@{MUC}", "no-such-message", "spam")
            return missing.value.iq["error"]["condition"]

    assert asyncio.run(scenario()) == "item-not-found"


def test_the_muc_service_advertises_message_moderation(xmpp_server, synced_db):
    owner = member(xmpp_server, "mod-sven")
    room_in_prosody(xmpp_server, owner, "mod-sven", "square")

    async def features():
        async with logged_in(xmpp_server, "mod-sven@localhost", PASSWORD) as client:
            info = await client.plugin["xep_0030"].get_info(jid=f"square@{MUC}", timeout=5)
            return set(info["disco_info"]["features"])

    assert {MODERATE, MODERATE_0} <= asyncio.run(features())


def test_clients_of_the_older_version_moderate_too(xmpp_server, synced_db):
    owner = member(xmpp_server, "mod-tara")
    member(xmpp_server, "mod-ugo")
    room = room_in_prosody(xmpp_server, owner, "mod-tara", "kiosk")

    async def scenario():
        async with (
            logged_in(xmpp_server, "mod-tara@localhost", PASSWORD) as tara,
            logged_in(xmpp_server, "mod-ugo@localhost", PASSWORD) as ugo,
        ):
            inbox = Inbox(ugo, room)
            assert await join(tara, "kiosk") is None
            assert await join(ugo, "kiosk") is None
            ugo.send_message(mto=room, mbody="rude words", mtype="groupchat")
            spam_id = stanza_id_of(await inbox.first(with_body("rude words")))
            iq = tara.make_iq_set(ito=room)
            applied = ET.SubElement(iq.xml, f"{{{FASTEN}}}apply-to", {"id": spam_id})
            moderate_0 = ET.SubElement(applied, f"{{{MODERATE_0}}}moderate")
            ET.SubElement(moderate_0, f"{{{RETRACT_0}}}retract")
            ET.SubElement(moderate_0, f"{{{MODERATE_0}}}reason").text = "language"
            await iq.send(timeout=5)

            def v0_notice(element):
                found = element.find(f"{{{FASTEN}}}apply-to")
                return found is not None and found.get("id") == spam_id

            await inbox.first(v0_notice)
            return [m.findtext("{jabber:client}body") for m in await archive_of(ugo, room)]

    assert "rude words" not in asyncio.run(scenario())
    entry = eventually(lambda: AuditEntry.objects.filter(room_slug="kiosk").first())
    assert (entry.action, entry.actor_name, entry.target, entry.reason) == (
        "room.remove_message",
        "mod-tara",
        "mod-ugo",
        "language",
    )


def test_slixmpps_own_moderation_call_works_with_the_messages_own_id(xmpp_server, synced_db):
    """slixmpp's integration test names the message by its id attribute, not its
    stanza-id: accepted when only one recent message of the room has that id."""
    owner = member(xmpp_server, "mod-vic")
    member(xmpp_server, "mod-wes")
    room = room_in_prosody(xmpp_server, owner, "mod-vic", "arcade")

    async def scenario():
        async with (
            logged_in(xmpp_server, "mod-vic@localhost", PASSWORD) as vic,
            logged_in(xmpp_server, "mod-wes@localhost", PASSWORD) as wes,
        ):
            for client in (vic, wes):
                client.register_plugin("xep_0425")
            inbox = Inbox(vic, room)
            assert await join(vic, "arcade") is None
            assert await join(wes, "arcade") is None
            moderated = asyncio.get_running_loop().create_future()
            wes.add_event_handler("moderated_message", moderated.set_result)
            unique = wes.make_message(mto=room, mbody="once", mtype="groupchat")
            unique["id"] = "wes-1"
            unique.send()
            for body in ("twice", "twice again"):  # two messages with one id
                twin = wes.make_message(mto=room, mbody=body, mtype="groupchat")
                twin["id"] = "wes-twin"
                twin.send()
            received = await inbox.first(with_body("once"))
            await inbox.first(with_body("twice again"))
            await vic.plugin["xep_0425"].moderate(JID(room), id="wes-1", reason="bad", timeout=5)
            notice = await asyncio.wait_for(moderated, 5)
            with pytest.raises(IqError) as ambiguous:
                await vic.plugin["xep_0425"].moderate(JID(room), id="wes-twin", timeout=5)
            return stanza_id_of(received), notice, ambiguous.value.iq["error"]["condition"]

    stanza_id, notice, ambiguous = asyncio.run(scenario())
    assert notice["retract"]["id"] == stanza_id
    assert notice["apply_to"]["id"] == stanza_id
    assert ambiguous == "item-not-found"
