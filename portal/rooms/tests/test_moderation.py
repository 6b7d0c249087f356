"""Moderation from the room page through real HTTP: who is offered what, and what
one POST writes together (Prosody is not needed; tests/test_room_moderation.py
follows the rows through the bridge)."""

import re

import pytest

from portal.audit.models import AuditEntry
from portal.outbox.models import OutboxEntry
from portal.rooms.models import RoleChange, Room
from portal.rooms.tests.test_views import add, create
from tests.people import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def lounge():
    owner = signed_in("olga")
    plain = signed_in("pete")
    signed_in("troll")
    room = create(owner, "lounge")
    add(owner, "lounge", "pete", "member")
    Room.objects.filter(pk=room.pk).update(
        occupants=[
            ["Olga", "olga@localhost", "moderator"],
            ["Pete", "pete@localhost", "participant"],
            ["Troll", "troll@localhost", "participant"],
        ]
    )
    return owner, plain


def test_only_moderators_are_offered_the_controls(lounge):
    owner, plain = lounge
    assert 'action="/rooms/lounge/occupants/"' in owner.get("/rooms/lounge/").content.decode()
    assert "occupants/" not in plain.get("/rooms/lounge/").content.decode()


def offered_actions(html: str) -> dict[str, list[str]]:
    """Each occupant's address -> the actions its form offers."""
    forms = re.findall(r'action="/rooms/lounge/occupants/".*?</form>', html, re.S)
    found = {}
    for form in forms:
        jid = re.search(r'name="jid" value="([^"]+)"', form).group(1)
        found[jid] = re.findall(r'<option value="(\w+)">', form)
    return found


def test_owners_are_offered_every_action_and_role_moderators_kick_and_voice(lounge):
    owner, plain = lounge
    Room.objects.filter(slug="lounge").update(
        occupants=[
            ["Olga", "olga@localhost", "moderator"],
            ["Pete", "pete@localhost", "moderator"],
            ["Troll", "troll@localhost", "participant"],
            ["Quiet", "quiet@other.example", "visitor"],
        ]
    )
    assert offered_actions(owner.get("/rooms/lounge/").content.decode()) == {
        "pete@localhost": ["kick", "ban", "deop"],
        "troll@localhost": ["kick", "mute", "ban", "op"],
        "quiet@other.example": ["kick", "voice", "ban", "op"],
    }
    # Pete holds the moderator role now, without an affiliation that lets him ban.
    assert offered_actions(plain.get("/rooms/lounge/").content.decode()) == {
        "olga@localhost": ["kick"],
        "troll@localhost": ["kick", "mute"],
        "quiet@other.example": ["kick", "voice"],
    }


def test_a_kick_writes_the_event_its_outbox_row_and_its_audit_entry_together(lounge):
    owner, _plain = lounge
    response = owner.post(
        "/rooms/lounge/occupants/",
        {"jid": "troll@localhost", "action": "kick", "reason": "flood\u202e"},
    )
    assert response.status_code == 302
    change = RoleChange.objects.get()
    assert (change.jid, change.role, change.state) == ("troll@localhost", "none", "pending")
    assert OutboxEntry.objects.filter(topic="occupant", key=str(change.pk)).count() == 1
    entry = AuditEntry.objects.get(action="room.kick")
    assert (entry.actor_name, entry.target, entry.reason) == ("olga", "troll@localhost", "flood")


def test_a_ban_from_the_room_page_is_room_state(lounge):
    owner, _plain = lounge
    rows = OutboxEntry.objects.filter(topic="room", key="lounge").count()
    owner.post("/rooms/lounge/occupants/", {"jid": "troll@localhost", "action": "ban"})
    assert (
        Room.objects.get(slug="lounge").affiliations.get(user__username="troll").kind == "outcast"
    )
    assert OutboxEntry.objects.filter(topic="room", key="lounge").count() == rows + 1
    assert not RoleChange.objects.exists()


def test_bad_input_is_refused_and_changes_nothing(lounge):
    owner, _plain = lounge
    for data in (
        {"jid": "troll@localhost", "action": "explode"},
        {"jid": "", "action": "kick"},
        {"jid": "troll@localhost", "action": "kick", "reason": "x" * 501},
    ):
        response = owner.post("/rooms/lounge/occupants/", data, follow=True)
        assert "Choose what to do and to whom." in response.content.decode()
    response = owner.post(
        "/rooms/lounge/occupants/", {"jid": "olga@localhost", "action": "kick"}, follow=True
    )
    assert "You cannot do this to yourself." in response.content.decode()
    assert not RoleChange.objects.exists()
    assert not AuditEntry.objects.exclude(action="room.make_member").exists()
    assert owner.get("/rooms/lounge/occupants/").status_code == 405
