"""The rooms pages through real HTTP (Django's test client); Prosody is not needed here:
what must reach it is checked as outbox rows (tests/test_rooms.py covers the rest)."""

import pytest
from django.test import Client

from portal.accounts.models import User
from portal.outbox.models import OutboxEntry
from portal.rooms.models import Affiliation, Room
from tests.people import signed_in

pytestmark = pytest.mark.django_db

ROOM = {
    "name": "Room",
    "description": "",
    "visibility": "public",
    "password": "",
    "persistent": "on",
    "history": "on",
}


def create(client, slug, **fields):
    response = client.post("/rooms/new/", {**ROOM, "slug": slug, **fields})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Room.objects.get(slug=slug)


def add(client, slug, username, affiliation):
    return client.post(
        f"/rooms/{slug}/members/", {"username": username, "affiliation": affiliation}
    )


def test_creator_becomes_owner_and_prosody_is_told_in_the_same_transaction():
    alice = signed_in("alice")
    room = create(alice, "garden", name="Garden")
    assert list(room.affiliations.values_list("user__username", "kind")) == [("alice", "owner")]
    assert OutboxEntry.objects.filter(topic="room", key="garden").count() == 1
    assert room.jid == "garden@conference.localhost"


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("Bad Slug", "Use only lowercase letters, digits and . _ -"),
        ("a@b", "Use only lowercase letters, digits and . _ -"),
        ("a/b", "Use only lowercase letters, digits and . _ -"),
        ("x" * 49, "at most 48 characters (it has 49)"),
        ("x", "at least 2 characters"),
        ("taken", "A room with this address already exists."),
    ],
)
def test_bad_addresses_get_clear_form_errors(slug, message):
    alice = signed_in("alice")
    create(alice, "taken")
    response = alice.post("/rooms/new/", {**ROOM, "slug": slug})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Room.objects.filter(slug=slug).count() == (1 if slug == "taken" else 0)
    assert OutboxEntry.objects.filter(topic="room").count() == 1


def test_script_in_name_and_description_is_shown_escaped():
    alice = signed_in("alice")
    script = "<script>alert(1)</script>"
    create(alice, "xss", name=script, description=script)
    for url in ("/rooms/", "/rooms/xss/", "/rooms/xss/edit/"):
        html = alice.get(url).content.decode()
        assert script not in html, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url


def test_password_is_for_public_rooms_only():
    alice = signed_in("alice")
    response = alice.post(
        "/rooms/new/", {**ROOM, "slug": "closed", "visibility": "private", "password": "pw"}
    )
    assert response.status_code == 200
    assert "a password applies to public rooms only" in response.content.decode()


def test_private_room_is_404_to_non_members_everywhere():
    alice, mallory = signed_in("alice"), signed_in("mallory")
    create(alice, "hideout", name="Hideout", visibility="private")
    for url in ("/rooms/hideout/", "/rooms/hideout/edit/", "/rooms/hideout/delete/"):
        assert mallory.get(url).status_code == 404, url
    assert mallory.get("/rooms/hideout/members/").status_code == 404
    assert mallory.post("/rooms/hideout/leave/").status_code == 404
    assert mallory.post("/rooms/hideout/delete/", {"confirm": "hideout"}).status_code == 404
    assert Client().get("/rooms/hideout/").status_code == 404
    assert "Hideout" not in mallory.get("/rooms/?q=hide").content.decode()
    # A ban is not membership either.
    add(alice, "hideout", "mallory", "outcast")
    assert mallory.get("/rooms/hideout/").status_code == 404
    add(alice, "hideout", "mallory", "member")
    assert mallory.get("/rooms/hideout/").status_code == 200
    assert "Hideout" in mallory.get("/rooms/").content.decode()


def test_room_list_shows_public_rooms_and_searches():
    alice = signed_in("alice")
    create(alice, "cats", name="Cat pictures", description="meow")
    create(alice, "dogs", name="Dog pictures")
    html = Client().get("/rooms/").content.decode()
    assert "Cat pictures" in html and "Dog pictures" in html
    html = Client().get("/rooms/?q=meow").content.decode()
    assert "Cat pictures" in html and "Dog pictures" not in html


def test_only_owners_delete_and_only_owners_and_admins_edit():
    alice, bob, carol = signed_in("alice"), signed_in("bob"), signed_in("carol")
    create(alice, "club")
    add(alice, "club", "bob", "admin")
    add(alice, "club", "carol", "member")
    assert carol.get("/rooms/club/edit/").status_code == 403
    assert carol.post("/rooms/club/edit/", {**ROOM, "name": "Mine"}).status_code == 403
    assert carol.get("/rooms/club/delete/").status_code == 403
    assert bob.get("/rooms/club/delete/").status_code == 403
    assert bob.post("/rooms/club/delete/", {"confirm": "club"}).status_code == 403
    response = bob.post(
        "/rooms/club/edit/", {**ROOM, "name": "Renamed", "real_jids_visible_to": "moderators"}
    )
    assert response.status_code == 302
    assert Room.objects.get(slug="club").name == "Renamed"
    assert signed_in("dave").get("/rooms/club/edit/").status_code == 403


def test_delete_needs_the_typed_confirmation():
    alice = signed_in("alice")
    create(alice, "precious")
    assert alice.get("/rooms/precious/delete/").status_code == 200
    assert alice.post("/rooms/precious/delete/", {"confirm": "nope"}).status_code == 200
    assert Room.objects.filter(slug="precious").exists()
    assert alice.post("/rooms/precious/delete/", {"confirm": "precious"}).status_code == 302
    assert not Room.objects.filter(slug="precious").exists()
    assert OutboxEntry.objects.filter(topic="room", key="precious").count() == 2


def test_admins_manage_members_but_not_owners_or_admins():
    alice, bob = signed_in("alice"), signed_in("bob")
    signed_in("carol")
    signed_in("dave")
    create(alice, "club")
    add(alice, "club", "bob", "admin")
    assert add(bob, "club", "carol", "member").status_code == 302
    assert add(bob, "club", "dave", "outcast").status_code == 302
    assert add(bob, "club", "dave", "none").status_code == 302
    response = add(bob, "club", "carol", "admin")
    assert response.status_code == 400
    assert "Only owners can grant owner or admin." in response.content.decode()
    response = add(bob, "club", "alice", "outcast")
    assert "Only owners can change owners and admins." in response.content.decode()
    assert add(signed_in("erin"), "club", "carol", "none").status_code == 403
    kinds = dict(Affiliation.objects.values_list("user__username", "kind"))
    assert kinds == {"alice": "owner", "bob": "admin", "carol": "member"}


def test_owners_promote_and_the_last_owner_stays():
    alice = signed_in("alice")
    signed_in("bob")
    create(alice, "club")
    response = add(alice, "club", "alice", "member")
    assert "A room needs at least one owner." in response.content.decode()
    assert alice.post("/rooms/club/leave/").status_code == 302
    assert Affiliation.objects.get(user__username="alice").kind == "owner"
    assert add(alice, "club", "bob", "owner").status_code == 302
    assert alice.post("/rooms/club/leave/").status_code == 302
    assert dict(Affiliation.objects.values_list("user__username", "kind")) == {"bob": "owner"}


def test_unknown_username_is_a_form_error():
    alice = signed_in("alice")
    create(alice, "club")
    response = add(alice, "club", "nobody", "member")
    assert response.status_code == 400
    assert "There is no user called nobody." in response.content.decode()


def test_anonymous_visitors_must_log_in_to_create():
    response = Client().get("/rooms/new/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_staff_see_every_room_in_admin_and_destroy_through_the_outbox():
    alice = signed_in("alice")
    create(alice, "hideout", name="Hideout", visibility="private")
    staff = signed_in("root", is_staff=True, is_superuser=True)
    html = staff.get("/admin/rooms/room/?q=hide").content.decode()
    assert "hideout" in html and "pending" in html
    assert staff.get(f"/admin/rooms/room/{Room.objects.get().pk}/change/").status_code == 200
    response = staff.post(
        "/admin/rooms/room/",
        {"action": "destroy_rooms", "_selected_action": [Room.objects.get().pk]},
    )
    assert response.status_code == 302
    assert not Room.objects.exists()
    assert OutboxEntry.objects.filter(topic="room", key="hideout").count() == 2


def test_nav_links_to_rooms():
    assert 'href="/rooms/"' in Client().get("/").content.decode()


def test_room_page_links_to_the_chat_and_lists_members():
    alice = signed_in("alice")
    signed_in("bob")
    create(alice, "garden", name="Garden")
    add(alice, "garden", "bob", "member")
    html = Client().get("/rooms/garden/").content.decode()
    assert 'href="/chat/?room=garden"' in html
    assert "alice" in html and "bob" in html


def test_staff_change_owners_and_ban_in_admin():
    alice = signed_in("alice")
    bob = User.objects.create_user("bob", "bob@example.org", "pw-long-enough")
    room = create(alice, "club", name="Club")
    owner = room.affiliations.get()
    staff = signed_in("root", is_staff=True, is_superuser=True)
    response = staff.post(
        f"/admin/rooms/room/{room.pk}/change/",
        {
            "name": "Club",
            "description": "",
            "visibility": "public",
            "password": "",
            "persistent": "on",
            "history": "on",
            "real_jids_visible_to": "moderators",
            "affiliations-TOTAL_FORMS": "2",
            "affiliations-INITIAL_FORMS": "1",
            "affiliations-MIN_NUM_FORMS": "0",
            "affiliations-MAX_NUM_FORMS": "1000",
            "affiliations-0-id": owner.pk,
            "affiliations-0-room": room.pk,
            "affiliations-0-user": owner.user_id,
            "affiliations-0-kind": "outcast",
            "affiliations-1-room": room.pk,
            "affiliations-1-user": bob.pk,
            "affiliations-1-kind": "owner",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    kinds = dict(room.affiliations.values_list("user__username", "kind"))
    assert kinds == {"alice": "outcast", "bob": "owner"}
    assert OutboxEntry.objects.filter(topic="room", key="club").count() >= 2


def test_open_chat_link_of_a_dotted_address_lands_in_that_room():
    import html
    import json
    import re

    alice = signed_in("alice")
    create(alice, "team.chat", name="Team")
    link = re.search(
        r'href="(/chat/\?room=[^"]+)"', alice.get("/rooms/team.chat/").content.decode()
    )
    page = alice.get(html.unescape(link.group(1))).content.decode()
    settings = re.search(
        r'<script id="chat-page-settings" type="application/json">(.*?)</script>', page, re.S
    )
    target = json.loads(html.unescape(settings.group(1)))["target"]
    assert target == {"kind": "room", "jid": "team.chat@conference.localhost"}


def test_room_list_is_paginated_and_lists_private_rooms_once_for_their_members():
    Room.objects.bulk_create(Room(slug=f"room-{n:03d}", name=f"Room {n:03d}") for n in range(60))
    carol = signed_in("carol")
    secret = create(carol, "secret", visibility="private", name="Secret room")
    Affiliation.objects.create(room=secret, user=User.objects.create_user("dave"), kind="member")
    first = carol.get("/rooms/")
    assert len(first.context["page"].object_list) == 50
    assert 'rel="next"' in first.content.decode()
    second = carol.get("/rooms/?page=2").content.decode()
    assert "Room 059" in second and "Secret room" in second
    assert second.count("Secret room") == 1
    assert "Secret room" not in Client().get("/rooms/?page=2").content.decode()
