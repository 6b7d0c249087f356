"""The production configuration, every component running, on PostgreSQL, behind
Caddy: what `docker compose up` starts, minus the containers
(tests/production_stack.py)."""

import asyncio
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from stack.certs import ensure_dev_certificate
from tests.production_stack import (
    DOMAIN,
    MUC_DOMAIN,
    WEB_HOST,
    Browser,
    Database,
    ProductionStack,
    postgres_available,
    served_certificate,
)
from tests.xmpp_client import connect, eventually, logged_in

pytestmark = pytest.mark.slow

PASSWORD = "a long production passphrase"
UPLOAD = "urn:xmpp:http:upload:0"


def require(available: bool, message: str) -> None:
    # A skip would hide a missing install step: `make test` provides both.
    if not available:
        pytest.fail(message)


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    require(postgres_available(), "PostgreSQL is not running on 127.0.0.1:5432")
    require(shutil.which("caddy") is not None, "caddy is not installed (make test installs it)")
    database = Database().create()
    stack = ProductionStack(tmp_path_factory.mktemp("production"), database)
    try:
        stack.start()
    except Exception:
        print(stack.logs())
        stack.stop()
        database.drop()
        raise
    yield stack
    stack.stop()
    database.drop()


def run_container_command(stack, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "stack.container", *args],
        env=env or stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_django_deploy_checks(production):
    result = production.manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_portal_refuses_to_start_without_its_secrets(production):
    env = {**production.env, "DJANGO_SECRET_KEY": "", "XMPP_TOKEN_SECRET": ""}
    result = run_container_command(production, "portal", env=env)
    assert result.returncode != 0
    assert (
        "The environment variable DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) must be set."
        in result.stderr
    )


def test_portal_is_served_over_https_only_with_strict_headers(production):
    direct = Browser(port=production.portal_port)
    plain = direct.request("GET", "/accounts/login/")
    assert plain.status == 301
    assert plain.getheader("Location") == f"https://{WEB_HOST}/accounts/login/"
    assert (
        Browser(port=production.portal_port, host="evil.example").request("GET", "/").status == 400
    )

    page = Browser(production).request("GET", "/accounts/signup/")
    assert page.status == 200
    assert page.getheader("Strict-Transport-Security").startswith("max-age=31536000")
    csp = {
        directive.split()[0]: directive.split()[1:]
        for directive in page.getheader("Content-Security-Policy").split("; ")
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'", f"wss://{WEB_HOST}/xmpp-websocket"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in csp["script-src"]
    cookies = page.headers.get_all("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)


def test_proxy_serves_collected_static_files_itself(production):
    response = Browser(production).request(
        "GET", "/static/admin/css/base.css", headers={"Accept-Encoding": "gzip"}
    )
    assert response.status == 200
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Cache-Control") == "public, max-age=3600"  # Caddy's, not Django's


def test_web_chat_websocket_on_the_portal_origin_reaches_prosody(production):
    browser = Browser(production)
    connection = browser.connection()
    connection.connect()
    sock = connection.sock
    sock.sendall(
        (
            "GET /xmpp-websocket HTTP/1.1\r\n"
            f"Host: {WEB_HOST}:{production.https_port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: xmpp\r\nOrigin: {browser.origin}\r\n\r\n"
        ).encode()
    )
    handshake = sock.recv(4096).decode()
    assert handshake.startswith("HTTP/1.1 101"), handshake
    assert "sec-websocket-protocol: xmpp" in handshake.lower()
    payload = (
        f"<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='{DOMAIN}' version='1.0'/>"
    ).encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    received = b""
    while b"features" not in received:
        received += sock.recv(4096)
    assert f"from='{DOMAIN}'".encode() in received
    connection.close()

    meta = Browser(production, host=DOMAIN).request("GET", "/.well-known/host-meta")
    assert f'href="wss://{WEB_HOST}/xmpp-websocket"' in meta.text


def test_health_checks_report_every_service_healthy(production):
    for service in ("portal", "prosody", "bridge"):
        result = run_container_command(production, "health", service)
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


def _can_log_in(stack, jid) -> bool:
    async def attempt():
        try:
            client = await connect(stack, jid, PASSWORD)
        except Exception:
            return False
        client.disconnect(wait=0)
        return True

    return asyncio.run(attempt())


def test_sign_up_then_chat_in_a_new_room_archived_in_postgresql(production):
    response = Browser(production).sign_up("launcher", PASSWORD)
    assert response.status == 302, response.text[:2000]

    jid, room = f"launcher@{DOMAIN}", f"launch@{MUC_DOMAIN}"
    # The bridge provisions the account in Prosody from the outbox; the client
    # verifies Prosody's certificate against the CA that issued Caddy's.
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
    assert (MUC_DOMAIN, "config") in stores
    archived = production.database.query(
        'SELECT "value" FROM "prosodyarchive" WHERE "host" = %s AND "user" = %s',
        MUC_DOMAIN,
        "launch",
    )
    assert any("We are live." in value for (value,) in archived)


def test_everything_recovers_from_a_database_restart_without_a_restart(production):
    # The portal, the bridge and Prosody's SQL storage all lose their sessions.
    Browser(production).sign_up("before-cut", PASSWORD)
    eventually(lambda: _can_log_in(production, f"before-cut@{DOMAIN}"), timeout=20)
    assert production.database.cut_connections() >= 2
    response = Browser(production).sign_up("after-cut", PASSWORD)
    assert response.status == 302, response.text[:2000]
    # The bridge applies the new row and Prosody stores the account again.
    eventually(lambda: _can_log_in(production, f"after-cut@{DOMAIN}"), timeout=20)
    assert _can_log_in(production, f"before-cut@{DOMAIN}")


def test_renewed_certificate_is_served_without_restarting_prosody(production, tmp_path):
    prosody = next(p for p in production.processes if p.name == "prosody")
    issued = production.caddy_data / "caddy" / "certificates" / "local" / DOMAIN
    originals = {path: path.read_bytes() for path in issued.glob(f"{DOMAIN}.*")}
    assert served_certificate(production.c2s_port, production.ca_file)
    # A renewal: a new certificate and key land in Caddy's storage.
    ensure_dev_certificate(tmp_path, DOMAIN)
    renewed = tmp_path / f"{DOMAIN}.crt"
    try:
        for suffix in (".key", ".crt"):
            (issued / f"{DOMAIN}{suffix}").write_bytes(
                (tmp_path / f"{DOMAIN}{suffix}").read_bytes()
            )
        assert eventually(lambda: served_certificate(production.c2s_port, renewed), timeout=10)
        assert "certificates renewed" in prosody.output()
        assert prosody.popen.poll() is None
    finally:
        for path, content in originals.items():
            path.write_bytes(content)
        eventually(lambda: served_certificate(production.c2s_port, production.ca_file), timeout=10)


def test_bridge_health_check_fails_while_an_outbox_row_waits_too_long(production):
    # A row no handler takes stays pending: what a stuck or disconnected bridge leaves.
    production.database.query(
        "INSERT INTO outbox_outboxentry (topic, key, state, created_at, attempts,"
        " next_attempt_at, claimed_by, last_error)"
        " VALUES ('nobody-handles', 'x', 'pending', now() - interval '10 minutes', 0,"
        " now() - interval '10 minutes', '', '') RETURNING id"
    )
    try:
        assert run_container_command(production, "health", "bridge").returncode == 1
    finally:
        production.database.query(
            "DELETE FROM outbox_outboxentry WHERE topic = 'nobody-handles' RETURNING id"
        )
    assert run_container_command(production, "health", "bridge").returncode == 0


async def _upload_slot(stack, jid, size):
    """XEP-0363: ask the upload component for a slot (PUT and GET URLs)."""
    client = await connect(stack, jid, PASSWORD)
    try:
        iq = client.make_iq_get(ito=f"upload.{DOMAIN}")
        iq.append(
            ET.fromstring(
                f"<request xmlns='{UPLOAD}' filename='hello.txt' size='{size}'"
                " content-type='text/plain'/>"
            )
        )
        slot = (await iq.send(timeout=10)).xml.find(f"{{{UPLOAD}}}slot")
        put = slot.find(f"{{{UPLOAD}}}put")
        headers = {h.get("name"): h.text for h in put.findall(f"{{{UPLOAD}}}header")}
        return put.get("url"), headers, slot.find(f"{{{UPLOAD}}}get").get("url")
    finally:
        client.disconnect(wait=0)


def test_files_shared_in_chats_travel_through_the_portal_origin(production):
    assert Browser(production).sign_up("sharer", PASSWORD).status == 302
    jid = f"sharer@{DOMAIN}"
    eventually(lambda: _can_log_in(production, jid), timeout=20)
    content = b"hello from a chat"
    put_url, put_headers, get_url = asyncio.run(_upload_slot(production, jid, len(content)))
    assert put_url.startswith(f"https://{WEB_HOST}/file_share/")
    path = put_url.removeprefix(f"https://{WEB_HOST}")

    browser = Browser(production)
    put = browser.request("PUT", path, content, {"Content-Type": "text/plain", **put_headers})
    assert put.status == 201, put.text
    fetched = browser.request("GET", get_url.removeprefix(f"https://{WEB_HOST}"))
    assert fetched.status == 200 and fetched.body == content
    assert "sandbox" in fetched.getheader("Content-Security-Policy")


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]):
    boundary = secrets.token_hex(16)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (file_name, content_type, data) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}";'
            f' filename="{file_name}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_avatars_uploaded_in_the_portal_are_served_by_the_proxy(production):
    browser = Browser(production)
    assert browser.sign_up("pictured", PASSWORD).status == 302
    page = browser.request("GET", "/profile/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    body, content_type = _multipart(
        {"csrfmiddlewaretoken": token, "name": "Pictured", "about": ""},
        {"avatar": ("me.png", "image/png", _png())},
    )
    saved = browser.request(
        "POST",
        "/profile/",
        body,
        {"Content-Type": content_type, "Origin": browser.origin, "Referer": browser.origin + "/"},
    )
    assert saved.status == 302, saved.text[:2000]

    url = re.search(r"/media/avatars/[0-9a-f]+\.jpg", browser.request("GET", "/profile/").text)
    avatar = browser.request("GET", url.group(0))
    assert avatar.status == 200
    assert avatar.body.startswith(b"\xff\xd8")  # the JPEG the portal encoded
    assert avatar.getheader("ETag")  # Caddy's file server, not the portal's view
    assert avatar.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert avatar.getheader("Content-Security-Policy") == "default-src 'none'; sandbox"


def test_web_chat_page_connects_securely_on_its_own_origin(production):
    browser = Browser(production)
    assert browser.sign_up("chatter", PASSWORD).status == 302
    page = browser.request("GET", "/chat/")
    assert page.status == 200

    found = re.search(
        r'<script id="converse-settings" type="application/json">(.*?)</script>', page.text
    )
    converse = json.loads(found.group(1))
    origin = f"{WEB_HOST}:{production.https_port}"
    assert converse["websocket_url"] == f"wss://{origin}/xmpp-websocket"
    # Converse's bundle: collected under a versioned path, served by Caddy compressed
    # and cached for a year.
    bundle = re.search(r'<script type="module" src="(/static/converse/[^"]+\.js)"', page.text)
    asset = browser.request("GET", bundle.group(1), headers={"Accept-Encoding": "gzip"})
    assert asset.status == 200
    assert asset.getheader("Content-Encoding") == "gzip"
    assert asset.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    # The page's own script: a hashed name, so also cached for a year.
    script = re.search(
        r'<script type="module" src="(/static/webchat/chat\.[0-9a-f]{12}\.js)"', page.text
    )
    assert browser.request("GET", script.group(1)).getheader("Cache-Control") == (
        "public, max-age=31536000, immutable"
    )
