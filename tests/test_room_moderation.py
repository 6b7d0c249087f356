"""Kicks, bans, voice and moderators from the portal's room page, through the outbox
and the bridge to a real Prosody, seen by real slixmpp clients; and bans made from
a client, seen in the portal."""

import asyncio
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from portal.audit.models import AuditEntry
from portal.outbox.actions import enqueue
from portal.rooms.models import Affiliation, RoleChange, Room
from tests.people import PASSWORD, make_room_member, member, wait_until_synced
from tests.rooms_helpers import MUC, join, new_room, room_in_prosody
from tests.xmpp_client import eventually, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

MUC_USER = "http://jabber.org/protocol/muc#user"


def page(client, slug) -> str:
    return client.get(f"/rooms/{slug}/").content.decode()


def shown_in_room(client, slug, text):
    return text in page(client, slug)


def self_presence_codes(presence) -> set[str]:
    x = presence.xml.find(f"{{{MUC_USER}}}x")
    return {status.get("code") for status in x.findall(f"{{{MUC_USER}}}status")} if x else set()


class Removal:
    """Resolves when this session is told it was removed from the room."""

    def __init__(self, client, room):
        self.told = asyncio.get_running_loop().create_future()
        self.reason = None

        def on_presence(presence):
            codes = self_presence_codes(presence)
            mine = presence["type"] == "unavailable" and "110" in codes
            if presence["from"].bare == room and mine and not self.told.done():
                item = presence.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item")
                self.reason = item.findtext(f"{{{MUC_USER}}}reason") if item else None
                self.told.set_result((time.monotonic(), codes))

        client.add_event_handler("presence", on_presence)


def occupant_action(client, slug, jid, action, reason=""):
    return client.post(
        f"/rooms/{slug}/occupants/", {"jid": jid, "action": action, "reason": reason}
    )


def test_kick_from_the_portal_removes_every_session_within_a_second(xmpp_server, synced_db):
    owner = member(xmpp_server, "kick-olga")
    member(xmpp_server, "kick-kim")
    room = room_in_prosody(xmpp_server, owner, "kick-olga", "dojo")

    async def scenario():
        async with (
            logged_in(xmpp_server, "kick-kim@localhost", PASSWORD) as laptop,
            logged_in(xmpp_server, "kick-kim@localhost", PASSWORD) as phone,
        ):
            removals = [Removal(laptop, room), Removal(phone, room)]
            assert await join(laptop, "dojo", nick="Kim") is None
            assert await join(phone, "dojo", nick="Kim on the phone") is None
            await asyncio.to_thread(
                eventually, lambda: shown_in_room(owner, "dojo", "Kim on the phone"), 5
            )
            started = time.monotonic()
            response = await asyncio.to_thread(
                occupant_action, owner, "dojo", "kick-kim@localhost", "kick", "flooding"
            )
            assert response.status_code == 302
            told = await asyncio.wait_for(asyncio.gather(*(r.told for r in removals)), 5)
            return [(at - started, codes) for at, codes in told], [r.reason for r in removals]

    told, reasons = asyncio.run(scenario())
    for delay, codes in told:
        assert "307" in codes  # kicked
        assert delay < 1.0, f"removed after {delay:.2f} s"
    assert reasons == ["flooding", "flooding"]
    entry = AuditEntry.objects.get(action="room.kick")
    assert (entry.actor_name, entry.target, entry.room_slug, entry.reason) == (
        "kick-olga",
        "kick-kim@localhost",
        "dojo",
        "flooding",
    )
    # Occupants hear of the kick before Prosody's answer reaches the bridge.
    eventually(lambda: RoleChange.objects.get().state == RoleChange.State.APPLIED, timeout=5)
    eventually(lambda: not shown_in_room(owner, "dojo", "Kim on the phone"), timeout=5)


def test_voice_and_the_moderator_role_from_the_portal(xmpp_server, synced_db):
    owner = member(xmpp_server, "voice-vera")
    guest = member(xmpp_server, "voice-walt")
    member(xmpp_server, "voice-xia")
    room = room_in_prosody(xmpp_server, owner, "voice-vera", "stage")

    roles = {}  # (watcher, nick) -> role, from the presences each client receives

    def watch(client, name):
        def on_presence(presence):
            item = presence.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item")
            if presence["from"].bare == room and item is not None:
                roles[name, presence["from"].resource] = item.get("role")

        client.add_event_handler("presence", on_presence)

    async def own_role(watcher, nick, wanted):
        deadline = time.monotonic() + 5
        while roles.get((watcher, nick)) != wanted:
            assert time.monotonic() < deadline, f"{nick} is {roles.get((watcher, nick))}"
            await asyncio.sleep(0.02)

    async def scenario():
        async with (
            logged_in(xmpp_server, "voice-walt@localhost", PASSWORD) as walt,
            logged_in(xmpp_server, "voice-xia@localhost", PASSWORD) as xia,
        ):
            watch(walt, "walt")
            watch(xia, "xia")
            assert await join(walt, "stage", nick="Walt") is None
            assert await join(xia, "stage", nick="Xia") is None
            await asyncio.to_thread(eventually, lambda: shown_in_room(owner, "stage", "Xia"), 5)
            walt_jid, xia_jid = "voice-walt@localhost", "voice-xia@localhost"

            await asyncio.to_thread(occupant_action, owner, "stage", walt_jid, "mute", "shouting")
            await own_role("xia", "Walt", "visitor")
            await asyncio.to_thread(occupant_action, owner, "stage", walt_jid, "voice")
            await own_role("xia", "Walt", "participant")

            # Walt, made moderator, can act from the portal while he holds the role.
            refused = await asyncio.to_thread(occupant_action, guest, "stage", xia_jid, "kick")
            assert refused.status_code == 403
            await asyncio.to_thread(occupant_action, owner, "stage", walt_jid, "op")
            await own_role("xia", "Walt", "moderator")
            await asyncio.to_thread(
                eventually,
                lambda: occupant_action(guest, "stage", xia_jid, "mute").status_code == 302,
                5,
            )
            await own_role("walt", "Xia", "visitor")
            # ...but only owners and admins appoint moderators or ban.
            refused = await asyncio.to_thread(occupant_action, guest, "stage", xia_jid, "op")
            assert refused.status_code == 302
            await asyncio.to_thread(occupant_action, owner, "stage", walt_jid, "deop")
            await own_role("xia", "Walt", "participant")
            return roles["walt", "Xia"]

    assert asyncio.run(scenario()) == "visitor"
    logged = list(AuditEntry.objects.order_by("id").values_list("actor_name", "action", "target"))
    assert logged == [
        ("voice-vera", "room.revoke_voice", "voice-walt@localhost"),
        ("voice-vera", "room.grant_voice", "voice-walt@localhost"),
        ("voice-vera", "room.grant_moderator", "voice-walt@localhost"),
        ("voice-walt", "room.revoke_voice", "voice-xia@localhost"),
        ("voice-vera", "room.revoke_moderator", "voice-walt@localhost"),
    ]


def test_ban_from_the_room_page_removes_and_lists_the_person(xmpp_server, synced_db):
    owner = member(xmpp_server, "ban-bea")
    member(xmpp_server, "ban-troll")
    room = room_in_prosody(xmpp_server, owner, "ban-bea", "garden")

    async def scenario():
        async with logged_in(xmpp_server, "ban-troll@localhost", PASSWORD) as troll:
            removal = Removal(troll, room)
            assert await join(troll, "garden", nick="Troll") is None
            await asyncio.to_thread(eventually, lambda: shown_in_room(owner, "garden", "Troll"), 5)
            started = time.monotonic()
            await asyncio.to_thread(
                occupant_action, owner, "garden", "ban-troll@localhost", "ban", "abuse"
            )
            at, codes = await asyncio.wait_for(removal.told, 5)
            return at - started, codes, await join(troll, "garden", nick="Troll again")

    delay, codes, rejoin = asyncio.run(scenario())
    assert "301" in codes and delay < 1.0
    assert rejoin == "forbidden"
    assert Affiliation.objects.get(user__username="ban-troll").kind == Affiliation.Kind.OUTCAST
    members_page = owner.get("/rooms/garden/members/").content.decode()
    assert "ban-troll" in members_page and "banned" in members_page
    entry = AuditEntry.objects.get(action="room.ban")
    assert (entry.actor_name, entry.target, entry.reason) == ("ban-bea", "ban-troll", "abuse")


def test_a_ban_made_from_a_client_shows_in_the_portal(xmpp_server, synced_db):
    owner = member(xmpp_server, "cban-cleo")
    member(xmpp_server, "cban-dan")
    room_in_prosody(xmpp_server, owner, "cban-cleo", "porch")

    async def ban():
        async with logged_in(xmpp_server, "cban-cleo@localhost", PASSWORD) as cleo:
            await cleo.plugin["xep_0045"].set_affiliation(
                f"porch@{MUC}", "outcast", jid="cban-dan@localhost", reason="spam", timeout=5
            )

    asyncio.run(ban())

    def banned_in_portal():
        kinds = dict(
            Affiliation.objects.filter(room__slug="porch").values_list("user__username", "kind")
        )
        return kinds.get("cban-dan") == Affiliation.Kind.OUTCAST

    eventually(banned_in_portal, timeout=5)
    assert "cban-dan" in owner.get("/rooms/porch/members/").content.decode()
    entry = AuditEntry.objects.get(action="room.ban")
    assert (entry.actor_name, entry.target, entry.room_slug, entry.reason) == (
        "cban-cleo",
        "cban-dan",
        "porch",
        "spam",
    )


def test_a_kick_that_waited_too_long_is_dropped_not_applied(xmpp_server, synced_db):
    owner = member(xmpp_server, "late-lena")
    member(xmpp_server, "late-max")
    room_in_prosody(xmpp_server, owner, "late-lena", "attic")
    room = Room.objects.get(slug="attic")

    def queue_stale_kick():
        with transaction.atomic():  # as if the bridge had been away for an hour
            change = RoleChange.objects.create(room=room, jid="late-max@localhost", role="none")
            RoleChange.objects.filter(pk=change.pk).update(
                created_at=change.created_at - timedelta(hours=1)
            )
            enqueue("occupant", str(change.pk))
        return change.pk

    async def scenario():
        async with logged_in(xmpp_server, "late-max@localhost", PASSWORD) as max_:
            removal = Removal(max_, room.jid)
            assert await join(max_, "attic", nick="Max") is None
            change_id = await asyncio.to_thread(queue_stale_kick)
            await asyncio.to_thread(wait_until_synced, 5, topic="occupant")
            await asyncio.sleep(0.3)
            return removal.told.done(), change_id

    kicked, change_id = asyncio.run(scenario())
    assert not kicked
    expired = RoleChange.State.EXPIRED
    eventually(lambda: RoleChange.objects.get(pk=change_id).state == expired, timeout=5)


def test_a_replayed_kick_does_not_kick_again(xmpp_server, synced_db):
    owner = member(xmpp_server, "replay-rita")
    member(xmpp_server, "replay-sam")
    room = room_in_prosody(xmpp_server, owner, "replay-rita", "cellar")

    def replay(change_id):
        with transaction.atomic():
            enqueue("occupant", str(change_id))

    async def scenario():
        async with logged_in(xmpp_server, "replay-sam@localhost", PASSWORD) as sam:
            first = Removal(sam, room)
            assert await join(sam, "cellar", nick="Sam") is None
            await asyncio.to_thread(eventually, lambda: shown_in_room(owner, "cellar", "Sam"), 5)
            await asyncio.to_thread(
                occupant_action, owner, "cellar", "replay-sam@localhost", "kick"
            )
            await asyncio.wait_for(first.told, 5)
            again = Removal(sam, room)
            assert await join(sam, "cellar", nick="Sam") is None
            change_id = await asyncio.to_thread(lambda: RoleChange.objects.get().pk)
            await asyncio.to_thread(replay, change_id)
            await asyncio.to_thread(wait_until_synced, 5, topic="occupant")
            await asyncio.sleep(0.3)
            return again.told.done()

    assert asyncio.run(scenario()) is False


def test_only_moderators_act_on_people_and_only_with_a_csrf_token(xmpp_server, synced_db):
    owner = member(xmpp_server, "perm-pia")
    admin = member(xmpp_server, "perm-abe")
    plain = member(xmpp_server, "perm-joe")
    new_room(owner, "office")
    new_room(owner, "backroom", visibility="private")
    make_room_member(owner, "office", "perm-abe", "admin")
    make_room_member(owner, "office", "perm-joe")
    Room.objects.filter(slug="office").update(
        occupants=[
            ["Pia", "perm-pia@localhost", "moderator"],
            ["Joe", "perm-joe@localhost", "participant"],
        ]
    )

    # A member who is no moderator, and a stranger to a private room.
    assert occupant_action(plain, "office", "perm-pia@localhost", "kick").status_code == 403
    assert occupant_action(plain, "backroom", "perm-pia@localhost", "kick").status_code == 404
    # An admin may not act on an owner.
    response = admin.post(
        "/rooms/office/occupants/", {"jid": "perm-pia@localhost", "action": "kick"}, follow=True
    )
    assert "higher affiliation" in response.content.decode()
    # Nobody can be kicked who is not in the room.
    response = admin.post(
        "/rooms/office/occupants/", {"jid": "perm-nobody@localhost", "action": "kick"}, follow=True
    )
    assert "is not in the room" in response.content.decode()
    assert (
        not RoleChange.objects.exists()
        and not AuditEntry.objects.filter(action="room.kick").exists()
    )

    forged = Client(enforce_csrf_checks=True)
    forged.force_login(_user("perm-abe"))
    response = forged.post(
        "/rooms/office/occupants/", {"jid": "perm-joe@localhost", "action": "kick"}
    )
    assert response.status_code == 403
    assert not RoleChange.objects.exists()


def _user(username):
    from portal.accounts.models import User

    return User.objects.get(username=username)


def test_clients_cannot_send_the_bridges_role_requests_or_fake_its_reports(xmpp_server, synced_db):
    owner = member(xmpp_server, "fake-fay")
    member(xmpp_server, "fake-gus")
    room = room_in_prosody(xmpp_server, owner, "fake-fay", "yard")
    ns = "urn:chatboard:rooms:0"

    async def attack():
        async with (
            logged_in(xmpp_server, "fake-fay@localhost", PASSWORD) as fay,
            logged_in(xmpp_server, "fake-gus@localhost", PASSWORD) as gus,
        ):
            removal = Removal(gus, room)
            assert await join(gus, "yard", nick="Gus") is None
            report = fay.make_message(mto="bridge.localhost", mtype="normal")
            ET.SubElement(
                report.xml, f"{{{ns}}}message-moderated", {"room": room, "by": "x@localhost"}
            )
            report.send()
            iq = fay.make_iq_set(ito=MUC)  # even the room's owner
            ET.SubElement(
                iq.xml, f"{{{ns}}}role", {"room": room, "jid": "fake-gus@localhost", "role": "none"}
            )
            try:
                await iq.send(timeout=5)
                outcome = "accepted"
            except IqError as error:
                outcome = error.iq["error"]["condition"]
            await asyncio.sleep(0.5)
            return outcome, removal.told.done()

    assert asyncio.run(attack()) == ("forbidden", False)
    assert not AuditEntry.objects.filter(action="room.remove_message").exists()
