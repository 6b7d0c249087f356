"""The production configuration, every component running, on PostgreSQL: what
`docker compose up` starts, minus the containers (tests/production_stack.py)."""

import asyncio
import os
import socket
import ssl

import pytest

from stack.certs import ensure_dev_certificate
from tests.production_stack import (
    DOMAIN,
    WEB_HOST,
    Browser,
    Database,
    ProductionStack,
    postgres_available,
)
from tests.xmpp_client import connect, eventually, logged_in

pytestmark = pytest.mark.slow

PASSWORD = "a long production passphrase"


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    if not postgres_available():
        message = "PostgreSQL is not running on 127.0.0.1:5432"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    database = Database().create()
    stack = ProductionStack(tmp_path_factory.mktemp("production"), database)
    try:
        stack.start()
        yield stack
    except Exception:
        print(stack.logs())
        raise
    finally:
        stack.stop()
        database.drop()


def test_production_settings_pass_django_deploy_checks(production):
    result = production.manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_portal_refuses_to_start_without_its_secrets(production):
    env = {**production.env, "DJANGO_SECRET_KEY": "", "XMPP_TOKEN_SECRET": ""}
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "stack.container", "portal"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "The environment variable DJANGO_SECRET_KEY must be set." in result.stderr


def test_portal_serves_only_https_with_strict_headers(production):
    browser = Browser(production.portal_port)
    plain = browser.request("GET", "/accounts/login/", https=False)
    assert plain.status == 301
    assert plain.getheader("Location") == f"https://{WEB_HOST}/accounts/login/"

    page = browser.request("GET", "/accounts/signup/")
    assert page.status == 200
    assert page.getheader("Strict-Transport-Security").startswith("max-age=31536000")
    csp = dict(
        (directive.split()[0], directive.split()[1:])
        for directive in page.getheader("Content-Security-Policy").split("; ")
    )
    assert csp["default-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", f"wss://{WEB_HOST}/xmpp-websocket"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    cookies = page.headers.get_all("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)

    assert Browser(production.portal_port, host="evil.example").request("GET", "/").status == 400


def test_health_checks_report_every_service_healthy(production):
    import subprocess
    import sys

    for service in ("portal", "prosody", "bridge"):
        result = subprocess.run(
            [sys.executable, "-m", "stack.container", "health", service],
            env=production.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, f"{service}: {result.stdout}{result.stderr}"


async def _create_room_and_post(stack, jid, room, text):
    async with logged_in(stack, jid, PASSWORD) as client:
        muc = client.plugin["xep_0045"]
        await muc.join_muc_wait(room, "founder", maxstanzas=0, timeout=10)
        form = await muc.get_room_config(room, timeout=10)
        fields = form.get_fields()
        fields["muc#roomconfig_roomname"]["value"] = "Production launch"
        fields["muc#roomconfig_persistentroom"]["value"] = True
        await muc.set_room_config(room, form, timeout=10)
        reflected = asyncio.get_running_loop().create_future()
        client.add_event_handler(
            "groupchat_message",
            lambda msg: msg["body"] == text and not reflected.done() and reflected.set_result(msg),
        )
        client.send_message(mto=room, mbody=text, mtype="groupchat")
        await asyncio.wait_for(reflected, 10)


async def _room_archive(stack, jid, room):
    client = await connect(stack, jid, PASSWORD)
    try:
        client.register_plugin("xep_0313")
        result = await client.plugin["xep_0313"].retrieve(jid=room, timeout=10)
        return [
            message["mam_result"]["forwarded"]["stanza"]["body"]
            for message in result["mam"]["results"]
        ]
    finally:
        client.disconnect(wait=0)


def test_sign_up_then_chat_in_a_new_room_archived_in_postgresql(production):
    response = Browser(production.portal_port).sign_up("launcher", PASSWORD)
    assert response.status == 302, response.text[:2000]

    jid, room = f"launcher@{DOMAIN}", f"launch@conference.{DOMAIN}"
    # The bridge provisions the account in Prosody from the outbox.
    eventually(lambda: _can_log_in(production, jid), timeout=20)
    asyncio.run(_create_room_and_post(production, jid, room, "We are live."))

    assert asyncio.run(_room_archive(production, jid, room)) == ["We are live."]
    # Prosody kept the room, its archive and the account in PostgreSQL.
    stores = production.database.query(
        'SELECT DISTINCT "host", "store" FROM "prosody" WHERE "user" IN (%s, %s)',
        "launcher",
        "launch",
    )
    assert (DOMAIN, "accounts") in stores
    assert (f"conference.{DOMAIN}", "config") in stores
    archived = production.database.query(
        'SELECT "value" FROM "prosodyarchive" WHERE "host" = %s AND "user" = %s',
        f"conference.{DOMAIN}",
        "launch",
    )
    assert any("We are live." in value for (value,) in archived)


def _can_log_in(stack, jid) -> bool:
    async def attempt():
        try:
            client = await connect(stack, jid, PASSWORD)
        except Exception:
            return False
        client.disconnect(wait=0)
        return True

    return asyncio.run(attempt())


def _served_certificate(port: int, ca_file) -> dict:
    """STARTTLS on the c2s port, verifying the server against `ca_file`."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            f"<?xml version='1.0'?><stream:stream to='{DOMAIN}' version='1.0' "
            "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>".encode()
        )
        received = b""
        while b"</stream:features>" not in received:
            received += sock.recv(4096)
        sock.sendall(b"<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        assert b"proceed" in sock.recv(4096)
        context = ssl.create_default_context(cafile=str(ca_file))
        with context.wrap_socket(sock, server_hostname=DOMAIN) as tls:
            return tls.getpeercert()


def test_renewed_certificate_is_served_without_restarting_prosody(production, tmp_path):
    prosody = next(p for p in production.processes if p.name == "prosody")
    before = _served_certificate(production.c2s_port, production.ca_file)
    # The proxy renews: a new certificate and key land in its store.
    ensure_dev_certificate(tmp_path, DOMAIN)
    for suffix in (".key", ".crt"):
        target = production.ca_file.with_suffix(suffix)
        target.write_bytes((tmp_path / f"{DOMAIN}{suffix}").read_bytes())

    eventually(lambda: "certificates renewed" in prosody.output(), timeout=10)
    after = eventually(
        lambda: _try_served_certificate(production.c2s_port, production.ca_file), timeout=10
    )
    assert after["serialNumber"] != before["serialNumber"]
    assert prosody.popen.poll() is None


def _try_served_certificate(port, ca_file):
    try:
        return _served_certificate(port, ca_file)
    except ssl.SSLError:
        return None
