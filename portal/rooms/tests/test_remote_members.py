"""People of other servers (federation) as room members, through the members page:
what Prosody must hold is checked as the desired state the bridge reads
(tests/test_federation.py joins for real)."""

import pytest
from django.test import Client

from portal.outbox.models import OutboxEntry
from portal.outbox.payloads import RoomState
from portal.rooms.models import Affiliation, RemoteAffiliation
from portal.rooms.tests.test_views import add, create
from portal.rooms.xmpp_state import desired_room
from tests.people import signed_in

pytestmark = pytest.mark.django_db


def test_owner_adds_someone_of_another_server_by_address():
    alice = signed_in("alice")
    create(alice, "hideout", visibility="private")
    response = add(alice, "hideout", " Zoe@Other.Example ", "member")
    assert response.status_code == 302
    assert list(RemoteAffiliation.objects.values_list("jid", "kind")) == [
        ("zoe@other.example", "member")
    ]
    assert OutboxEntry.objects.filter(topic="room", key="hideout").count() == 2
    assert ("zoe@other.example", "member") in desired_room("hideout").affiliations


def test_room_pages_show_remote_members_by_address_without_a_profile_link():
    alice = signed_in("alice")
    create(alice, "garden")
    add(alice, "garden", "zoe@other.example", "member")
    html = Client().get("/rooms/garden/").content.decode()
    assert "zoe@other.example" in html and "other server" in html
    assert 'href="/people/alice/"' in html
    assert "/people/zoe" not in html
    assert "zoe@other.example" in alice.get("/rooms/garden/members/").content.decode()


def test_removed_remote_member_is_cleared_in_prosody_and_gone_from_the_pages():
    alice = signed_in("alice")
    create(alice, "hideout", visibility="private")
    add(alice, "hideout", "zoe@other.example", "member")
    assert add(alice, "hideout", "zoe@other.example", "none").status_code == 302
    assert ("zoe@other.example", "none") in desired_room("hideout").affiliations
    alice.get("/")  # shows (and so clears) the "affiliation updated" notice
    assert "zoe@other.example" not in alice.get("/rooms/hideout/").content.decode()
    assert "zoe@other.example" not in alice.get("/rooms/hideout/members/").content.decode()


def test_address_on_our_own_domain_is_the_local_user():
    alice, _bob = signed_in("alice"), signed_in("bob")
    create(alice, "club")
    assert add(alice, "club", "bob@localhost", "member").status_code == 302
    assert Affiliation.objects.filter(user__username="bob", kind="member").exists()
    assert not RemoteAffiliation.objects.exists()


@pytest.mark.parametrize("address", ["zoe@", "zoe@other", "zoe@other.example/phone", "a b@x.org"])
def test_malformed_address_is_a_form_error(address):
    alice = signed_in("alice")
    create(alice, "club")
    response = add(alice, "club", address, "member")
    assert response.status_code == 400
    assert "is not an address like name@server" in response.content.decode()
    assert not RemoteAffiliation.objects.exists()


def test_admins_cannot_make_a_remote_person_owner():
    alice, bob = signed_in("alice"), signed_in("bob")
    create(alice, "club")
    add(alice, "club", "bob", "admin")
    response = add(bob, "club", "zoe@other.example", "owner")
    assert response.status_code == 400
    assert not RemoteAffiliation.objects.exists()


def test_prosody_room_holds_the_named_remote_jids_and_may_have_others(settings):
    addresses = settings.XMPP_ADDRESSES
    desired = RoomState("club", "Club", affiliations=frozenset(
        {("alice@localhost", "owner"), ("zoe@b.example", "member"), ("max@b.example", "none")}
    ))  # fmt: skip
    actual = RoomState("club", "Club", affiliations=frozenset(
        {("alice@localhost", "owner"), ("zoe@b.example", "member"), ("guest@c.example", "member")}
    ))  # fmt: skip
    assert actual.holds(desired, addresses)
    without_zoe = RoomState("club", "Club", affiliations=frozenset({("alice@localhost", "owner")}))
    assert not without_zoe.holds(desired, addresses)
    still_max = RoomState(
        "club", "Club", affiliations=actual.affiliations | {("max@b.example", "member")}
    )
    assert not still_max.holds(desired, addresses)
    renamed = RoomState("club", "Other name", affiliations=actual.affiliations)
    assert not renamed.holds(desired, addresses)
