"""The walking skeleton: a real Prosody, the portal and the bridge working together."""

import asyncio
import json

import pytest

from tests.people import sign_up, wait_until_provisioned
from tests.xmpp_client import can_log_in, eventually, logged_in

# What XEP-0479 (Compliance Suites 2023) asks of a server, by feature namespace:
# advertised by the server itself...
SERVER_FEATURES = {
    "http://jabber.org/protocol/disco#info": "Core: service discovery (XEP-0030)",
    "urn:xmpp:carbons:2": "IM: message carbons (XEP-0280)",
    "urn:xmpp:blocking": "IM: blocking (XEP-0191)",
    "vcard-temp": "IM: vCard (XEP-0054)",
    "urn:xmpp:ping": "Core: ping (XEP-0199)",
    "jabber:iq:version": "software version (XEP-0092)",
    "urn:xmpp:time": "entity time (XEP-0202)",
    "http://jabber.org/protocol/commands": "ad-hoc commands (XEP-0050)",
}
# ...and on each account's bare JID.
ACCOUNT_FEATURES = {
    "urn:xmpp:mam:2": "IM: message archive (XEP-0313)",
    "urn:xmpp:bookmarks:1#compat": "IM: bookmarks 2 via PEP (XEP-0402/0048)",
    "urn:xmpp:push:0": "Mobile: push (XEP-0357)",
    "http://jabber.org/protocol/pubsub#publish": "IM: PEP (XEP-0163)",
    "urn:xmpp:pep-vcard-conversion:0": "IM: vCard and PEP avatars kept in step (XEP-0398)",
}


async def _disco(server, jid, password, target):
    async with logged_in(server, jid, password) as client:
        info = await client.plugin["xep_0030"].get_info(jid=target, timeout=5)
        items = await client.plugin["xep_0030"].get_items(jid=server.domain, timeout=5)
        stream_features = set(client.features)
        if client.plugin["xep_0352"].enabled:
            stream_features.add("csi")
        return (
            set(info["disco_info"]["features"]),
            {item[0] for item in items["disco_items"]["items"]},
            stream_features,
        )


@pytest.mark.django_db(transaction=True)
def test_client_logs_in_over_starttls_with_verified_certificate(xmpp_server, synced_db):
    sign_up("starttls")
    assert eventually(
        lambda: can_log_in(xmpp_server, "starttls@localhost", "correct horse battery")
    )


@pytest.mark.django_db(transaction=True)
def test_server_advertises_compliance_suite_features(xmpp_server, synced_db):
    sign_up("discoverer")
    jid = wait_until_provisioned(xmpp_server, "discoverer", timeout=5)
    server_features, components, stream = asyncio.run(
        _disco(xmpp_server, jid, "correct horse battery", xmpp_server.domain)
    )
    missing = {ns: why for ns, why in SERVER_FEATURES.items() if ns not in server_features}
    assert not missing, f"server lacks: {missing}"
    account_features, _, _ = asyncio.run(_disco(xmpp_server, jid, "correct horse battery", jid))
    missing = {ns: why for ns, why in ACCOUNT_FEATURES.items() if ns not in account_features}
    assert not missing, f"accounts lack: {missing}"
    assert {"conference.localhost", "upload.localhost"} <= components
    # Stream management (XEP-0198), CSI (XEP-0352) and server caps (XEP-0115).
    assert {"stream_management", "csi", "caps"} <= stream, f"stream features: {stream}"


def test_healthz_reports_database_and_prosody(client, xmpp_server, db, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "status": "ok",
        "checks": {"database": True, "prosody": True},
    }


def test_healthz_is_503_when_prosody_is_unreachable(client, db, settings):
    from stack.ports import free_port

    settings.PROSODY_C2S_PORT = free_port()  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["checks"] == {"database": True, "prosody": False}


def test_home_page_is_served(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert b"ChatBoard" in response.content


@pytest.mark.django_db(transaction=True)
def test_bridge_reconnects_after_prosody_restart(xmpp_server, synced_db):
    xmpp_server.restart()
    # Within 10 s of the restart the bridge is back and provisions a new signup.
    sign_up("afterrestart")
    assert eventually(
        lambda: can_log_in(xmpp_server, "afterrestart@localhost", "correct horse battery"),
        timeout=10,
    )
    assert synced_db.output().count("connected to Prosody") >= 2
