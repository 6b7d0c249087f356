"""Who is offered which affiliation change on a room's members page, for every pair
of the viewer's and the row's affiliation, and that a change not offered is refused
(through real HTTP; test_views.py checks the refusal messages)."""

import re

import pytest

from portal.accounts.models import User
from portal.rooms import actions
from portal.rooms.models import Affiliation, RemoteAffiliation, Room
from portal.rooms.tests.test_views import add, create
from tests.people import signed_in

pytestmark = pytest.mark.django_db

REMOVE, UNBAN = ("none", "Remove"), ("none", "Unban")
MAKE = {
    "owner": ("owner", "Make owner"),
    "admin": ("admin", "Make admin"),
    "member": ("member", "Make member"),
    "outcast": ("outcast", "Ban"),
}
# The row's affiliation -> the buttons offered (value, label), in their order.
OFFERED_TO_OWNERS = {
    "owner": [MAKE["admin"], MAKE["member"], MAKE["outcast"], REMOVE],
    "admin": [MAKE["owner"], MAKE["member"], MAKE["outcast"], REMOVE],
    "member": [MAKE["owner"], MAKE["admin"], MAKE["outcast"], REMOVE],
    "outcast": [MAKE["owner"], MAKE["admin"], MAKE["member"], UNBAN],
}
OFFERED_TO_ADMINS = {
    "owner": [],
    "admin": [],
    "member": [MAKE["outcast"], REMOVE],
    "outcast": [MAKE["member"], UNBAN],
}
# People of other servers are made owner or admin by address, never from their row.
OFFERED_TO_OWNERS_FOR_REMOTE = {
    "owner": [MAKE["member"], MAKE["outcast"], REMOVE],
    "admin": [MAKE["member"], MAKE["outcast"], REMOVE],
    "member": [MAKE["outcast"], REMOVE],
    "outcast": [MAKE["member"], UNBAN],
}
OFFERED_TO_ADMINS_FOR_REMOTE = OFFERED_TO_ADMINS
LOCAL = {"olga": "owner", "adam": "admin", "mia": "member", "otto": "outcast"}
REMOTE = {
    "ron@other.example": "owner",
    "ray@other.example": "admin",
    "zoe@other.example": "member",
    "rex@other.example": "outcast",
}
CHANGES = ["owner", "admin", "member", "outcast", "none"]


@pytest.fixture
def club():
    """A room with someone of each affiliation, here and on another server."""
    viewers = {"alice": signed_in("alice")}
    create(viewers["alice"], "club")
    for username, kind in LOCAL.items():
        viewers[username] = signed_in(username)
        add(viewers["alice"], "club", username, kind)
    for jid, kind in REMOTE.items():
        add(viewers["alice"], "club", jid, kind)
    return viewers


def offered(html: str) -> dict[str, list[tuple[str, str]]]:
    """Each row's person (username or address) -> its buttons (value, label)."""
    rows = re.findall(r"<tr(?: class=\"remote\")?>(.*?)</tr>", html, re.S)
    found = {}
    for row in rows:
        person = re.search(r'name="username" value="([^"]+)"', row)
        if person:
            buttons = re.findall(r'<button name="affiliation" value="(\w+)">([^<]+)</button>', row)
            found[person.group(1)] = buttons
    return found


def kinds() -> dict[str, str]:
    local = dict(Affiliation.objects.values_list("user__username", "kind"))
    return {**local, **dict(RemoteAffiliation.objects.values_list("jid", "kind"))}


@pytest.mark.parametrize(
    ("viewer", "expected", "expected_remote"),
    [
        ("alice", OFFERED_TO_OWNERS, OFFERED_TO_OWNERS_FOR_REMOTE),
        ("olga", OFFERED_TO_OWNERS, OFFERED_TO_OWNERS_FOR_REMOTE),
        ("adam", OFFERED_TO_ADMINS, OFFERED_TO_ADMINS_FOR_REMOTE),
    ],
)
def test_each_row_offers_exactly_the_changes_the_viewer_may_make(
    club, viewer, expected, expected_remote
):
    response = club[viewer].get("/rooms/club/members/")
    assert response.status_code == 200
    rows = offered(response.content.decode())
    everyone = {"alice": "owner", **LOCAL}
    assert set(rows) == set(everyone) | set(REMOTE)
    for username, kind in everyone.items():
        assert rows[username] == expected[kind], (viewer, username)
    for jid, kind in REMOTE.items():
        assert rows[jid] == expected_remote[kind], (viewer, jid)


def restore(person: str, kind: str) -> None:
    """Put <person> back as <kind>, as staff do (no XEP-0045 restriction)."""
    room = Room.objects.get(slug="club")
    if "@" in person:
        actions.set_remote_affiliation(room, None, person, kind)
    else:
        actions.set_affiliation(room, None, User.objects.get(username=person), kind)


@pytest.mark.parametrize("viewer", ["alice", "adam"])
def test_every_change_offered_on_a_row_is_made(club, viewer):
    before = kinds()
    rows = offered(club[viewer].get("/rooms/club/members/").content.decode())
    for person, buttons in rows.items():
        for value, _label in buttons:
            response = add(club[viewer], "club", person, value)
            assert response.status_code == 302, (viewer, person, value)
            assert kinds().get(person, "none") == value, (viewer, person, value)
            restore(person, before[person])


@pytest.mark.parametrize("viewer", ["alice", "adam"])
def test_a_change_not_offered_on_a_row_is_refused(club, viewer):
    """Except for remote rows of an owner, where promotion is made by address."""
    before = kinds()
    rows = offered(club[viewer].get("/rooms/club/members/").content.decode())
    remote_rows = OFFERED_TO_OWNERS_FOR_REMOTE if viewer == "alice" else {}
    for person, buttons in rows.items():
        if person in REMOTE and remote_rows:
            continue
        current = before[person]
        for change in CHANGES:
            if change in {value for value, _label in buttons} or change == current:
                continue
            response = add(club[viewer], "club", person, change)
            assert response.status_code == 400, (viewer, person, change)
            assert kinds() == before, (viewer, person, change)


def test_members_are_not_offered_the_page_and_their_changes_are_refused(club):
    before = kinds()
    assert club["mia"].get("/rooms/club/members/").status_code == 403
    for person in ("otto", "zoe@other.example"):
        for change in CHANGES:
            assert add(club["mia"], "club", person, change).status_code == 403
    assert kinds() == before


def test_the_last_owner_is_offered_stepping_down_and_told_why_it_is_refused():
    alice = signed_in("alice")
    create(alice, "solo")
    rows = offered(alice.get("/rooms/solo/members/").content.decode())
    assert rows["alice"] == OFFERED_TO_OWNERS["owner"]
    response = add(alice, "solo", "alice", "member")
    assert response.status_code == 400
    assert "A room needs at least one owner." in response.content.decode()
