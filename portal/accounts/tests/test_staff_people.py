"""Staff manage people from the portal: find them, see their XMPP sessions and sync
state, deactivate, reactivate, delete with everything they had, reset passwords."""

import asyncio
import time

import pytest
from django.core import mail
from django.test import Client

from portal.accounts.models import RetiredUsername, User
from portal.audit.models import AuditEntry
from portal.outbox import actions as outbox_actions
from portal.outbox.models import OutboxEntry
from tests.people import sign_up, wait_until_provisioned, wait_until_synced
from tests.xmpp_client import can_log_in, connect, eventually

PASSWORD = "correct horse battery"


def staff_client(username="root-staff") -> Client:
    User.objects.create_user(username, f"{username}@example.org", PASSWORD, is_staff=True)
    client = Client()
    client.login(username=username, password=PASSWORD)
    return client


def page_text(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


ACTION_URLS = ("deactivate", "reactivate", "reset-password", "retry-sync", "delete")


@pytest.mark.django_db
def test_people_who_are_not_staff_get_no_page_and_change_nothing():
    target = User.objects.create_user("target", "target@example.org", PASSWORD)
    member = sign_up("plainmember")
    anonymous = Client()
    for url in ("/staff/people/", "/staff/people/target/"):
        assert member.get(url).status_code == 403
        assert anonymous.get(url).url.startswith("/accounts/login/")
    for action in ACTION_URLS:
        url = f"/staff/people/target/{action}/"
        data = {"confirm": "target"}
        assert member.post(url, data).status_code == 403, url
        assert anonymous.post(url, data).status_code == 302, url
    target.refresh_from_db()
    assert target.is_active
    assert not AuditEntry.objects.exists()
    assert not mail.outbox[1:]  # only the member's own signup confirmation


@pytest.mark.django_db
def test_every_staff_action_needs_the_csrf_token():
    staff = User.objects.create_user("csrf-staff", "cs@example.org", PASSWORD, is_staff=True)
    User.objects.create_user("target", "target@example.org", PASSWORD)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    for action in ACTION_URLS:
        response = client.post(f"/staff/people/target/{action}/", {"confirm": "target"})
        assert response.status_code == 403, action
    assert User.objects.get(username="target").is_active
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_staff_find_people_by_username_email_or_name_deactivated_included():
    staff = staff_client()
    User.objects.create_user("zoe", "zoe@mail.example", PASSWORD)
    gone = User.objects.create_user("quiet", "q@example.org", PASSWORD, first_name="")
    gone.is_active = False
    gone.save()
    User.objects.create_user("other", "o@example.org", PASSWORD)
    assert "zoe" in page_text(staff, "/staff/people/?q=mail.example")
    found = page_text(staff, "/staff/people/?q=qui")
    assert "quiet" in found and "deactivated" in found and ">other<" not in found
    assert "No account matches" in page_text(staff, "/staff/people/?q=nobody-at-all")


@pytest.mark.django_db(transaction=True)
def test_staff_deactivate_from_the_page_ends_xmpp_sessions_within_a_second(xmpp_server, synced_db):
    sign_up("victim")
    wait_until_provisioned(xmpp_server, "victim", timeout=5)
    staff = staff_client()

    async def scenario():
        client = await connect(xmpp_server, "victim@localhost", PASSWORD)
        response = await asyncio.to_thread(
            staff.post, "/staff/people/victim/deactivate/", {"reason": "spam"}
        )
        assert response.status_code == 302
        deactivated = time.monotonic()
        await asyncio.wait_for(client.closed.wait(), 2)
        return time.monotonic() - deactivated

    assert asyncio.run(scenario()) < 1.0
    assert not can_log_in(xmpp_server, "victim@localhost", PASSWORD)
    entry = AuditEntry.objects.get(action="user.deactivate")
    assert (entry.actor_name, entry.target, entry.reason) == ("root-staff", "victim", "spam")

    assert staff.post("/staff/people/victim/reactivate/").status_code == 302
    eventually(lambda: can_log_in(xmpp_server, "victim@localhost", PASSWORD), timeout=1.5)
    assert AuditEntry.objects.filter(action="user.reactivate", target="victim").exists()


@pytest.mark.django_db
def test_staff_cannot_deactivate_or_delete_themselves():
    staff = staff_client("self-staff")
    staff.post("/staff/people/self-staff/deactivate/")
    staff.post("/staff/people/self-staff/delete/", {"confirm": "self-staff"})
    assert User.objects.get(username="self-staff").is_active
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_staff_who_are_not_superusers_cannot_remove_a_superuser():
    staff = staff_client("junior-staff")
    User.objects.create_superuser("chief", "chief@example.org", PASSWORD)
    response = staff.post("/staff/people/chief/deactivate/", follow=True)
    assert "Only a superuser" in response.content.decode()
    staff.post("/staff/people/chief/delete/", {"confirm": "chief"})
    assert User.objects.get(username="chief").is_active
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_staff_send_allauths_password_reset_mail():
    staff = staff_client()
    sign_up("forgetful", email="forgetful@example.org")
    mail.outbox.clear()
    response = staff.post("/staff/people/forgetful/reset-password/")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["forgetful@example.org"]
    assert "/accounts/password/reset/key/" in message.body
    assert AuditEntry.objects.filter(action="user.password_reset", target="forgetful").exists()


@pytest.mark.django_db
def test_a_reset_for_an_account_without_email_is_refused_clearly():
    staff = staff_client()
    User.objects.create_user("noemail", "", PASSWORD)
    response = staff.post("/staff/people/noemail/reset-password/", follow=True)
    assert "no e-mail address" in response.content.decode()
    assert not mail.outbox
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_the_person_page_shows_parked_sync_rows_with_their_error(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 1
    staff = staff_client()
    User.objects.create_user("stuck", "stuck@example.org", PASSWORD)
    OutboxEntry.objects.filter(key="root-staff").update(state=OutboxEntry.State.DONE)
    claim = outbox_actions.claim_next("test", {"account"})
    assert claim.key == "stuck"
    outbox_actions.fail(claim, "account: Prosody said no")
    text = page_text(staff, "/staff/people/stuck/")
    assert "parked" in text and "Prosody said no" in text
    assert "1 parked" in page_text(staff, "/staff/people/?q=stuck")
    assert staff.post("/staff/people/stuck/retry-sync/").status_code == 302
    assert OutboxEntry.objects.get(pk=claim.entry_id).state == OutboxEntry.State.PENDING
    assert AuditEntry.objects.filter(action="user.sync_retry", target="stuck").exists()
    outbox_actions.complete(outbox_actions.claim_next("test", {"account"}))
    assert "In sync" in page_text(staff, "/staff/people/stuck/")


def _sessions_shown(staff, username) -> str:
    text = page_text(staff, f"/staff/people/{username}/")
    return text.split('class="sessions">')[1].split("<")[0]


@pytest.mark.django_db(transaction=True)
def test_staff_see_last_xmpp_login_and_live_sessions(xmpp_server, synced_db):
    sign_up("chatty")
    # Not can_log_in: its abrupt disconnect leaves a hibernating session, which counts.
    wait_until_synced(timeout=5, key="chatty")
    staff = staff_client()
    before = time.time()

    def shown(count):
        return asyncio.to_thread(eventually, lambda: _sessions_shown(staff, "chatty") == count, 2)

    async def scenario():
        phone = await connect(xmpp_server, "chatty@localhost", PASSWORD)
        laptop = await connect(xmpp_server, "chatty@localhost", PASSWORD)
        await shown("2")
        await laptop.disconnect(wait=2)  # a clean logout (an abrupt one hibernates)
        await shown("1")
        await phone.disconnect(wait=2)

    asyncio.run(scenario())
    eventually(lambda: _sessions_shown(staff, "chatty") == "0", timeout=2)
    presence = User.objects.get(username="chatty").xmpp_presence
    assert presence.last_login_at.timestamp() >= int(before)
    assert presence.last_login_at.strftime("%Y-%m-%d %H:%M:%S") in page_text(
        staff, "/staff/people/chatty/"
    )


def _user_files(server, username):
    return [p for p in server.data_path.rglob("*") if p.is_file() and username in p.name]


@pytest.mark.django_db(transaction=True)
def test_staff_delete_purges_prosody_data_avatar_and_room_affiliations(xmpp_server, synced_db):
    from portal.profiles import avatars
    from portal.profiles.models import Profile
    from portal.rooms.models import Affiliation
    from tests.people import make_room_member, member
    from tests.rooms_helpers import new_room
    from tests.test_profiles import image_bytes, save_profile, upload
    from tests.test_rooms import affiliations_in_prosody

    owner = member(xmpp_server, "roomowner")
    doomed = member(xmpp_server, "doomed")
    new_room(owner, "purgeroom")
    make_room_member(owner, "purgeroom", "doomed")
    save_profile(doomed, name="Doomed", avatar=upload(image_bytes("green")))
    avatar = Profile.objects.get(user__username="doomed").avatar
    assert avatars.avatar_path(avatar).exists()
    eventually(
        lambda: (
            affiliations_in_prosody(xmpp_server, "roomowner", "purgeroom").get("doomed@localhost")
            == "member"
        ),
        timeout=5,
    )
    eventually(lambda: _user_files(xmpp_server, "doomed"), timeout=5)  # vCard, PEP...
    staff = staff_client()
    assert "only owner" not in page_text(staff, "/staff/people/doomed/")
    assert "only owner of: purgeroom" in page_text(staff, "/staff/people/roomowner/")

    refused = staff.post("/staff/people/doomed/delete/", {"confirm": "wrong"})
    assert refused.status_code == 302 and User.objects.filter(username="doomed").exists()

    response = staff.post("/staff/people/doomed/delete/", {"confirm": "doomed", "reason": "gdpr"})
    assert response.status_code == 302
    assert not User.objects.filter(username="doomed").exists()
    assert RetiredUsername.objects.filter(username="doomed").exists()
    assert not Affiliation.objects.filter(room__slug="purgeroom", user__username="doomed").exists()
    assert not avatars.avatar_path(avatar).exists()
    eventually(lambda: not _user_files(xmpp_server, "doomed"), timeout=3)
    eventually(
        lambda: (
            "doomed@localhost" not in affiliations_in_prosody(xmpp_server, "roomowner", "purgeroom")
        ),
        timeout=3,
    )
    assert not can_log_in(xmpp_server, "doomed@localhost", PASSWORD)
    entry = AuditEntry.objects.get(action="user.delete")
    assert (entry.target, entry.reason, entry.actor_name) == ("doomed", "gdpr", "root-staff")


@pytest.mark.django_db(transaction=True)
def test_session_counts_forged_by_a_client_are_ignored(xmpp_server, synced_db):
    from slixmpp.xmlstream import ET

    from portal.accounts.models import XmppPresence

    sign_up("forger")
    sign_up("framed")
    wait_until_provisioned(xmpp_server, "forger", timeout=5)
    staff = staff_client()

    async def forge():
        client = await connect(xmpp_server, "forger@localhost", PASSWORD)
        message = client.make_message(mto="bridge.localhost")
        ET.SubElement(
            message.xml,
            "{urn:chatboard:accounts:0}sessions",
            {"username": "framed", "count": "7", "login": "1700000000"},
        )
        message.send()
        await asyncio.sleep(0.5)
        await client.disconnect(wait=2)

    asyncio.run(forge())
    assert _sessions_shown(staff, "framed") == "0"
    assert not XmppPresence.objects.filter(user__username="framed").exists()


@pytest.mark.django_db(transaction=True)
def test_the_reconciler_corrects_session_counts_reported_while_the_bridge_was_away(
    xmpp_server, synced_db
):
    sign_up("offline-report")
    wait_until_synced(timeout=5, key="offline-report")
    staff = staff_client()
    synced_db.stop()

    async def scenario():
        client = await connect(xmpp_server, "offline-report@localhost", PASSWORD)
        await asyncio.to_thread(synced_db.start)  # reconciles once connected
        await asyncio.to_thread(
            eventually, lambda: _sessions_shown(staff, "offline-report") == "1", 5
        )
        await client.disconnect(wait=2)

    asyncio.run(scenario())
    eventually(lambda: _sessions_shown(staff, "offline-report") == "0", timeout=2)


@pytest.mark.django_db
def test_deletions_in_the_django_admin_are_audited_and_keep_the_same_rules():
    User.objects.create_superuser("super", "super@example.org", PASSWORD)
    admin = Client()
    admin.login(username="super", password=PASSWORD)
    gone = User.objects.create_user("admin-gone", "g@example.org", PASSWORD)
    response = admin.post(f"/admin/accounts/user/{gone.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(username="admin-gone").exists()
    assert AuditEntry.objects.filter(action="user.delete", target="admin-gone").exists()
    me = User.objects.get(username="super")
    admin.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [me.pk], "post": "yes"},
    )
    assert User.objects.filter(username="super").exists()
