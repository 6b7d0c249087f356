"""Invites: links with an expiry and a number of uses that let people sign up
(also when sign-up is by invitation only) and put them in rooms."""

import re
import threading
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditEntry
from portal.invites.models import Invite
from portal.rooms.models import Affiliation, Room
from tests.people import post_signup, signed_in, wait_until_provisioned

PASSWORD = "correct horse battery"


def create_invite(client, **fields) -> Invite:
    data = {"note": "", "days": 7, "max_uses": 1} | fields
    response = client.post("/invites/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return Invite.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[1]))


def signup_with(invite_path, username, client=None):
    client = client or Client()
    landing = client.get(invite_path)
    return landing, post_signup(username, PASSWORD, client=client)


@pytest.mark.django_db
def test_staff_create_an_invite_shown_as_a_link_and_an_inline_qr_code():
    staff = signed_in("boss", is_staff=True)
    invite = create_invite(staff, note="for Ann", days=3, max_uses=5)
    assert (invite.max_uses, invite.uses, invite.note) == (5, 0, "for Ann")
    assert timedelta(days=3) - (invite.expires_at - timezone.now()) < timedelta(minutes=1)
    page = staff.get(f"/invites/{invite.pk}/").content.decode()
    assert f"http://testserver/invite/{invite.token}/" in page
    svg = re.search(r"<figure class=\"qr\"[^>]*>(<svg.*?</svg>)", page, re.S).group(1)
    assert "<path" in svg and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    entry = AuditEntry.objects.get(action="invite.create")
    assert (entry.actor_name, entry.target, entry.reason) == (
        "boss",
        f"invite {invite.pk}",
        "for Ann",
    )


@pytest.mark.django_db
def test_bad_invite_settings_are_refused_with_a_clear_error():
    staff = signed_in("boss", is_staff=True)
    response = staff.post("/invites/", {"days": 0, "max_uses": 100000})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"days", "max_uses"}
    assert not Invite.objects.exists()


@pytest.mark.django_db
def test_members_create_invites_only_when_allowed_and_only_to_rooms_they_run(settings):
    member = signed_in("plain")
    assert member.get("/invites/").status_code == 403
    assert member.post("/invites/", {"days": 1, "max_uses": 1}).status_code == 403
    assert "/invites/" not in member.get("/").content.decode()

    settings.INVITES_BY_MEMBERS = True
    mine = Room.objects.create(slug="mine", name="Mine")
    Affiliation.objects.create(room=mine, user=User.objects.get(username="plain"), kind="owner")
    other = Room.objects.create(slug="other", name="Other")
    assert "/invites/" in member.get("/").content.decode()
    refused = member.post("/invites/", {"days": 1, "max_uses": 1, "rooms": [other.pk]})
    assert refused.status_code == 400 and "rooms" in refused.context["form"].errors
    invite = create_invite(member, rooms=[mine.pk])
    assert list(invite.rooms.all()) == [mine]


@pytest.mark.django_db
def test_people_see_only_their_own_invites_and_cannot_revoke_others():
    staff = signed_in("boss", is_staff=True)
    invite = create_invite(staff)
    stranger = signed_in("stranger")
    assert stranger.get(f"/invites/{invite.pk}/").status_code == 404
    assert stranger.post(f"/invites/{invite.pk}/revoke/").status_code == 404
    assert Client().post(f"/invites/{invite.pk}/revoke/").status_code == 302  # to login
    csrf_checked = Client(enforce_csrf_checks=True)
    csrf_checked.force_login(User.objects.get(username="boss"))
    assert csrf_checked.post(f"/invites/{invite.pk}/revoke/").status_code == 403
    assert csrf_checked.post("/invites/", {"days": 1, "max_uses": 1}).status_code == 403
    invite.refresh_from_db()
    assert invite.revoked_at is None and Invite.objects.count() == 1


@pytest.mark.django_db
def test_signup_by_invitation_only_needs_a_usable_invite(settings):
    settings.SIGNUP_MODE = "invite"
    assert "/accounts/signup/" not in Client().get("/").content.decode()
    closed = post_signup("walkin")
    assert closed.status_code == 200 and "closed" in closed.content.decode().lower()
    assert not User.objects.filter(username="walkin").exists()

    invite = create_invite(signed_in("boss", is_staff=True), max_uses=2)
    landing, response = signup_with(invite.path, "invited")
    assert landing.status_code == 200 and "Create your account" in landing.content.decode()
    assert response.status_code == 302
    assert User.objects.filter(username="invited").exists()
    invite.refresh_from_db()
    assert invite.uses == 1
    entry = AuditEntry.objects.get(action="invite.use")
    assert (entry.actor_name, entry.target) == ("invited", f"invite {invite.pk}")


@pytest.mark.django_db
def test_closed_signup_refuses_everyone_invites_included(settings):
    settings.SIGNUP_MODE = "closed"
    invite = create_invite(signed_in("boss", is_staff=True))
    landing, response = signup_with(invite.path, "latecomer")
    assert landing.status_code == 410 and "Sign-up is closed" in landing.content.decode()
    assert "closed" in response.content.decode().lower()
    assert not User.objects.filter(username="latecomer").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "state, message",
    [
        ("expired", "This invite has expired."),
        ("used_up", "used as many times as it allows"),
        ("revoked", "This invite was withdrawn."),
        ("unknown", "This invite link is not valid"),
    ],
)
def test_unusable_invites_give_a_clear_error_and_no_account(settings, state, message):
    settings.SIGNUP_MODE = "invite"
    staff = signed_in("boss", is_staff=True)
    invite = create_invite(staff)
    path = invite.path
    if state == "expired":
        Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(1))
    elif state == "used_up":
        signup_with(invite.path, "first")
    elif state == "revoked":
        assert staff.post(f"/invites/{invite.pk}/revoke/").status_code == 302
        assert AuditEntry.objects.filter(action="invite.revoke").count() == 1
    else:
        path = "/invite/not-a-token/"
    landing, response = signup_with(path, "second")
    assert landing.status_code == 410
    assert message in landing.content.decode()
    assert not User.objects.filter(username="second").exists()


@pytest.mark.django_db
def test_an_invite_that_expires_while_the_form_is_filled_in_stops_the_signup(settings):
    settings.SIGNUP_MODE = "open"
    invite = create_invite(signed_in("boss", is_staff=True))
    client = Client()
    client.get(invite.path)
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(1))
    _, response = signup_with("/", "slowpoke", client=client)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert not User.objects.filter(username="slowpoke").exists()
    _, response = signup_with("/", "slowpoke", client=client)  # open: on without the invite
    assert response.status_code == 302


@pytest.mark.django_db(transaction=True)
def test_two_people_using_the_last_use_at_once_get_one_account(settings):
    settings.SIGNUP_MODE = "invite"
    invite = create_invite(signed_in("boss", is_staff=True), max_uses=1)
    clients = {name: Client() for name in ("racer-a", "racer-b")}
    for client in clients.values():
        assert client.get(invite.path).status_code == 200
    start = threading.Barrier(2)
    statuses = {}

    def race(name):
        start.wait()
        _, response = signup_with("/", name, client=clients[name])
        statuses[name] = response.status_code

    threads = [threading.Thread(target=race, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.values()) == [302, 410], statuses
    assert User.objects.filter(username__startswith="racer-").count() == 1
    invite.refresh_from_db()
    assert invite.uses == 1
    assert AuditEntry.objects.filter(action="invite.use").count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_invite_makes_the_new_person_a_member_of_its_rooms_in_prosody_too(
    xmpp_server, synced_db
):
    from tests.people import member
    from tests.rooms_helpers import join, new_room, run_as
    from tests.test_rooms import affiliations_in_prosody
    from tests.xmpp_client import eventually

    owner = member(xmpp_server, "hostess")
    new_room(owner, "backroom", visibility="private", password=None)
    User.objects.filter(username="hostess").update(is_staff=True)
    backroom = Room.objects.get(slug="backroom")
    invite = create_invite(owner, rooms=[backroom.pk])

    _, response = signup_with(invite.path, "newcomer")
    assert response.status_code == 302
    assert Affiliation.objects.get(room=backroom, user__username="newcomer").kind == "member"
    wait_until_provisioned(xmpp_server, "newcomer", timeout=5)
    eventually(
        lambda: (
            affiliations_in_prosody(xmpp_server, "hostess", "backroom").get("newcomer@localhost")
            == "member"
        ),
        timeout=3,
    )
    assert run_as(xmpp_server, "newcomer", lambda client: join(client, "backroom")) is None
