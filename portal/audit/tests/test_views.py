"""The audit log pages: staff read everything, with filters; room owners read their
room's entries; nobody else reads any. Entries are made by the real actions."""

import pytest
from django.db import transaction
from django.test import Client

from portal.accounts.models import User
from portal.audit.actions import record
from portal.audit.models import AuditEntry
from portal.rooms import actions
from portal.rooms.models import Affiliation, Room
from tests.people import account, browser_of, signed_in

pytestmark = pytest.mark.django_db


def rows(response) -> str:
    return response.content.decode().split("<tbody>")[1].split("</tbody>")[0]


@pytest.fixture
def moderated_rooms():
    """Two rooms, each with its owner, a ban with a reason, and a member."""
    owners = {}
    for slug, owner_name, banned, member_name in (
        ("cafe", "olive", "troll", "milo"),
        ("pub", "pavel", "spammer", "nina"),
    ):
        owner = account(owner_name)
        room = actions.create_room(owner, Room(slug=slug, name=slug.title()))
        for name, kind in ((banned, Affiliation.Kind.OUTCAST), (member_name, "member")):
            user = User.objects.filter(username=name).first() or account(name)
            actions.set_affiliation(room, owner, user, kind, reason=f"{name} in {slug}")
        owners[slug] = owner
    return owners


def test_staff_read_every_entry_and_filter_them(moderated_rooms):
    staff = signed_in("stella", is_staff=True)
    everything = staff.get("/audit/")
    assert everything.status_code == 200
    assert 'href="/audit/"' in staff.get("/rooms/").content.decode()  # in the staff's menu
    assert rows(everything).count("<tr>") == 4
    assert "banned from the room" in rows(everything)
    russian = staff.get("/audit/", HTTP_ACCEPT_LANGUAGE="ru")
    assert "заблокировал в комнате" in rows(russian)
    bans = staff.get("/audit/", {"action": "room.ban"})
    assert rows(bans).count("<tr>") == 2 and "troll" in rows(bans) and "milo" not in rows(bans)
    by_owner = staff.get("/audit/", {"actor": "PAVEL", "room": "pub"})
    assert rows(by_owner).count("<tr>") == 2 and "cafe" not in rows(by_owner)
    target = staff.get("/audit/", {"target": "spammer"})
    assert "spammer in pub" in rows(target) and rows(target).count("<tr>") == 1
    today = AuditEntry.objects.first().created_at.date().isoformat()
    assert rows(staff.get("/audit/", {"since": today, "until": today})).count("<tr>") == 4
    assert "No entries." in rows(staff.get("/audit/", {"until": "2000-01-01"}))
    # A reversed date range is an error on the form, not an empty page.
    reversed_range = staff.get("/audit/", {"since": today, "until": "2000-01-01"})
    assert "The start date is after the end date." in reversed_range.content.decode()


def test_the_log_is_paginated_keeping_its_filters():
    staff = signed_in("sam", is_staff=True)
    with transaction.atomic():
        for number in range(120):
            record(None, "room.kick", f"guest{number}", room_slug="hall")
    first = staff.get("/audit/", {"room": "hall"})
    assert rows(first).count("<tr>") == 50
    assert "?room=hall&amp;page=2" in first.content.decode()
    last = staff.get("/audit/", {"room": "hall", "page": 3})
    assert rows(last).count("<tr>") == 20 and "guest0<" in rows(last)


def test_room_owners_read_only_their_rooms_entries(moderated_rooms):
    owner = Client()
    owner.force_login(moderated_rooms["cafe"])
    response = owner.get("/rooms/cafe/audit/")
    assert response.status_code == 200
    assert "troll in cafe" in rows(response) and "pub" not in rows(response)
    # The room filter cannot reach another room from here.
    assert "spammer" not in rows(owner.get("/rooms/cafe/audit/", {"room": "pub"}))
    assert owner.get("/rooms/pub/audit/").status_code == 403
    assert owner.get("/audit/").status_code == 403


def test_members_strangers_and_visitors_read_no_entries(moderated_rooms):
    milo = Client()
    milo.force_login(User.objects.get(username="milo"))  # a member of cafe
    stranger = signed_in("sid")
    assert milo.get("/rooms/cafe/audit/").status_code == 403
    assert milo.get("/audit/").status_code == 403
    assert 'href="/audit/"' not in milo.get("/rooms/").content.decode()
    assert stranger.get("/rooms/cafe/audit/").status_code == 403
    assert stranger.get("/audit/").status_code == 403
    Room.objects.filter(slug="pub").update(visibility=Room.Visibility.PRIVATE)
    assert stranger.get("/rooms/pub/audit/").status_code == 404
    anonymous = Client()
    assert anonymous.get("/audit/").status_code == 302  # to the login page
    assert anonymous.get("/rooms/cafe/audit/").status_code == 302


def test_a_new_room_with_an_old_address_does_not_inherit_its_log(moderated_rooms):
    actions.delete_room(Room.objects.get(slug="cafe"))
    newcomer = account("nora")
    client = browser_of(newcomer)
    actions.create_room(newcomer, Room(slug="cafe", name="New cafe"))
    assert "No entries." in rows(client.get("/rooms/cafe/audit/"))
