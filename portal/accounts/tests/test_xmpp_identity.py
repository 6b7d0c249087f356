"""The portal is the identity provider for XMPP: real Prosody, real bridge, real clients."""

import asyncio
import time

import pytest
from django.core import mail
from django.test import Client

from portal.accounts import actions
from portal.accounts.models import User
from portal.outbox.models import OutboxEntry
from tests.people import sign_up
from tests.xmpp_client import LoginRefused, can_log_in, connect, eventually, logged_in

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"
NEW_PASSWORD = "staple gun orchestra"


def jid(username):
    return f"{username}@localhost"


def login_works(server, username, password, mech=None):
    return can_log_in(server, jid(username), password, mech)


def wait_until_provisioned(server, username, password=PASSWORD, timeout=5):
    return eventually(lambda: login_works(server, username, password), timeout=timeout)


def test_signup_works_over_xmpp_within_a_second_with_scram_and_plain(xmpp_server, synced_db):
    started = time.monotonic()
    sign_up("grace")
    wait_until_provisioned(xmpp_server, "grace")
    assert time.monotonic() - started < 1.5
    assert login_works(xmpp_server, "grace", PASSWORD, mech="SCRAM-SHA-1")
    assert login_works(xmpp_server, "grace", PASSWORD, mech="PLAIN")
    assert not login_works(xmpp_server, "grace", "wrong password", mech="PLAIN")
    assert not login_works(xmpp_server, "grace", "wrong password", mech="SCRAM-SHA-1")


def _change_password(client, old, new):
    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": old, "password1": new, "password2": new},
    )
    assert response.status_code == 302, response.content.decode()[:1000]


def test_password_change_ends_old_sessions_and_swaps_passwords(xmpp_server, synced_db):
    portal = sign_up("heidi")
    wait_until_provisioned(xmpp_server, "heidi")

    async def scenario():
        client = await connect(xmpp_server, jid("heidi"), PASSWORD)
        await asyncio.to_thread(_change_password, portal, PASSWORD, NEW_PASSWORD)
        changed = time.monotonic()
        await asyncio.wait_for(client.closed.wait(), 2)
        return time.monotonic() - changed

    assert asyncio.run(scenario()) < 1.0, "the session with the old password ends within 1 s"
    assert not login_works(xmpp_server, "heidi", PASSWORD)
    assert login_works(xmpp_server, "heidi", NEW_PASSWORD)


def test_password_reset_by_email_takes_effect_over_xmpp(xmpp_server, synced_db):
    sign_up("ivan", email="ivan@example.org")
    wait_until_provisioned(xmpp_server, "ivan")
    client = Client()
    mail.outbox.clear()  # the signup's address confirmation
    client.post("/accounts/password/reset/", {"email": "ivan@example.org"})
    assert len(mail.outbox) == 1
    link = next(w for w in mail.outbox[0].body.split() if "/accounts/password/reset/key/" in w)
    form_url = client.get(link).url
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    eventually(lambda: login_works(xmpp_server, "ivan", NEW_PASSWORD), timeout=1.5)
    assert not login_works(xmpp_server, "ivan", PASSWORD)


def test_staff_set_password_in_admin_takes_effect_over_xmpp(xmpp_server, synced_db):
    sign_up("judy")
    wait_until_provisioned(xmpp_server, "judy")
    User.objects.create_superuser("staff", "staff@example.org", PASSWORD)
    admin = Client()
    admin.login(username="staff", password=PASSWORD)
    user = User.objects.get(username="judy")
    response = admin.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    eventually(lambda: login_works(xmpp_server, "judy", NEW_PASSWORD), timeout=1.5)
    assert not login_works(xmpp_server, "judy", PASSWORD)


def test_deactivation_ends_sessions_and_refuses_login_until_reactivated(xmpp_server, synced_db):
    sign_up("mallory")
    wait_until_provisioned(xmpp_server, "mallory")
    User.objects.create_superuser("staff2", "staff2@example.org", PASSWORD)
    admin = Client()
    admin.login(username="staff2", password=PASSWORD)
    user = User.objects.get(username="mallory")

    async def scenario():
        client = await connect(xmpp_server, jid("mallory"), PASSWORD)
        await asyncio.to_thread(
            admin.post,
            "/admin/accounts/user/",
            {"action": "deactivate_users", "_selected_action": [user.pk]},
        )
        deactivated = time.monotonic()
        await asyncio.wait_for(client.closed.wait(), 2)
        return time.monotonic() - deactivated

    assert asyncio.run(scenario()) < 1.0
    assert not User.objects.get(pk=user.pk).is_active
    assert not login_works(xmpp_server, "mallory", PASSWORD)
    actions.reactivate(User.objects.get(pk=user.pk))
    eventually(lambda: login_works(xmpp_server, "mallory", PASSWORD), timeout=1.5)


def _user_files(server, username):
    return [p for p in server.data_path.rglob("*") if p.is_file() and username in p.name]


def test_deleting_an_account_removes_it_and_its_data_from_prosody(xmpp_server, synced_db):
    sign_up("niaj")
    sign_up("olivia")
    wait_until_provisioned(xmpp_server, "niaj")
    wait_until_provisioned(xmpp_server, "olivia")

    async def leave_traces():
        async with logged_in(xmpp_server, jid("niaj"), PASSWORD) as client:
            vcard = client.plugin["xep_0054"].make_vcard()
            vcard["FN"] = "Niaj"
            await client.plugin["xep_0054"].publish_vcard(vcard, timeout=5)
            await client.plugin["xep_0084"].publish_avatar(b"\x89PNG fake", timeout=5)
            client.update_roster(jid("olivia"), name="Olivia")
            client.send_message(mto=jid("olivia"), mbody="archived message")
            await asyncio.sleep(0.3)

    asyncio.run(leave_traces())
    assert _user_files(xmpp_server, "niaj"), "the account has data in Prosody"
    User.objects.get(username="niaj").delete()
    eventually(lambda: not _user_files(xmpp_server, "niaj"), timeout=2)
    assert not login_works(xmpp_server, "niaj", PASSWORD)
    assert login_works(xmpp_server, "olivia", PASSWORD)


def test_in_band_registration_is_refused(xmpp_server, synced_db):
    sign_up("peggy")
    wait_until_provisioned(xmpp_server, "peggy")

    async def try_register():
        async with logged_in(xmpp_server, jid("peggy"), PASSWORD) as client:
            iq = client.make_iq_get(queryxmlns="jabber:iq:register", ito="localhost")
            try:
                await iq.send(timeout=5)
            except Exception as error:  # IqError: the server refuses
                return type(error).__name__, error.iq["error"]["condition"]
            return "accepted", None

    outcome, condition = asyncio.run(try_register())
    assert outcome == "IqError"
    assert condition in {"service-unavailable", "feature-not-implemented", "not-allowed"}


def test_nothing_but_hashes_of_the_password_is_stored_queued_or_logged(
    xmpp_server, synced_db, capfd
):
    secret = "unique-plaintext-Zq7v!x"
    sign_up("quentin", password=secret)
    wait_until_provisioned(xmpp_server, "quentin", password=secret)
    from django.db import connection

    needle = secret.encode()
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                assert needle not in repr(row).encode(), f"plaintext in table {table}"
    assert not OutboxEntry.objects.filter(key__contains=secret).exists()
    for path in xmpp_server.config.runtime_dir.rglob("*"):
        if path.is_file():
            assert needle not in path.read_bytes(), f"plaintext in {path}"
    assert secret not in synced_db.output()
    captured = capfd.readouterr()
    assert secret not in captured.out + captured.err


def test_prosody_state_catches_up_after_an_outage_with_each_change_applied_once(
    xmpp_server, synced_db
):
    xmpp_server.stop()
    try:
        portals = {name: sign_up(name) for name in ("rupert", "sybil", "trent")}
        _change_password(portals["trent"], PASSWORD, NEW_PASSWORD)
    finally:
        xmpp_server.start()
    restarted = time.monotonic()
    for name, password in (("rupert", PASSWORD), ("sybil", PASSWORD), ("trent", NEW_PASSWORD)):
        eventually(lambda n=name, p=password: login_works(xmpp_server, n, p), timeout=10)
    assert time.monotonic() - restarted < 10
    assert not login_works(xmpp_server, "trent", PASSWORD)
    rows = OutboxEntry.objects.filter(key__in=["rupert", "sybil", "trent"])
    assert rows.count() >= 4 and all(r.state == "done" for r in rows)
    log = xmpp_server.log_text()
    for name in ("rupert", "sybil", "trent"):
        assert log.count(f"Account {name}@localhost created") == 1, name
    assert "Account trent@localhost updated" not in log, "trent's two changes coalesced"


def test_logins_work_with_portal_and_bridge_down(xmpp_server, synced_db):
    """Prosody authenticates on its own: no portal web server runs in this test
    (the test client is in-process), and the bridge is stopped too."""
    from portal.accounts.tokens import mint_token

    sign_up("ursula")
    wait_until_provisioned(xmpp_server, "ursula")
    token = mint_token(jid("ursula"))
    synced_db.stop()
    try:
        assert login_works(xmpp_server, "ursula", PASSWORD, mech="SCRAM-SHA-1")
        assert login_works(xmpp_server, "ursula", PASSWORD, mech="PLAIN")
        assert login_works(xmpp_server, "ursula", token, mech="PLAIN")
    finally:
        synced_db.start()


def test_login_refused_for_unknown_account(xmpp_server, synced_db):
    with pytest.raises(LoginRefused):
        asyncio.run(connect(xmpp_server, jid("nobody-here"), PASSWORD))
