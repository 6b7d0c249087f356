"""Only the bridge may provision accounts: the channel's trust boundary."""

import asyncio
import socket
import subprocess

import pytest
from slixmpp import ComponentXMPP
from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ET

from tests.fixtures import own_prosody
from tests.people import sign_up, wait_until_provisioned
from tests.xmpp_client import can_log_in, logged_in

ACCOUNTS_NS = "urn:chatboard:accounts:0"
PASSWORD = "correct horse battery"
# Keys for the password "hijacked", as an attacker would compute them.
FORGED = {
    "username": "victim",
    "salt": "attacker-salt",
    "iterations": "4096",
    "stored-key": "a" * 40,
    "server-key": "b" * 40,
    "active": "true",
}


@pytest.mark.django_db(transaction=True)
def test_a_client_cannot_use_the_provisioning_commands(xmpp_server, synced_db):
    sign_up("victim")
    sign_up("intruder")
    wait_until_provisioned(xmpp_server, "intruder", timeout=5)

    async def attempt(kind, tag, attrs):
        async with logged_in(xmpp_server, "intruder@localhost", PASSWORD) as client:
            iq = client.make_iq(ito="localhost", itype=kind)
            iq.append(ET.Element(f"{{{ACCOUNTS_NS}}}{tag}", attrs))
            try:
                await iq.send(timeout=5)
            except IqError as error:
                return error.iq["error"]["condition"]
            return "accepted"

    assert asyncio.run(attempt("set", "account", FORGED)) == "forbidden"
    assert asyncio.run(attempt("set", "delete", {"username": "victim"})) == "forbidden"
    assert asyncio.run(attempt("get", "list", {})) == "forbidden"
    assert can_log_in(xmpp_server, "victim@localhost", PASSWORD)


def test_a_component_with_the_wrong_secret_is_refused(xmpp_server):
    async def attempt():
        component = ComponentXMPP(
            "bridge.localhost", "not-the-secret", "127.0.0.1", xmpp_server.config.component_port
        )
        started = asyncio.get_running_loop().create_future()
        component.add_event_handler("session_start", lambda _: started.set_result(True))
        component.add_event_handler(
            "disconnected", lambda *_: started.done() or started.set_result(False)
        )
        component.connect()
        try:
            return await asyncio.wait_for(started, 5)
        finally:
            component.abort()

    assert asyncio.run(attempt()) is False


def test_the_component_port_stays_on_loopback_when_clients_listen_everywhere(tmp_path):
    addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    external = [a for a in addresses if ":" not in a and not a.startswith("127.")]
    if not external:
        pytest.skip("this machine has no non-loopback IPv4 address")
    with own_prosody(tmp_path, interfaces=["0.0.0.0"]) as server:
        config = server.config
        with socket.create_connection((external[0], config.c2s_port), timeout=2):
            pass  # clients are served on every interface...
        with socket.socket() as sock:
            sock.settimeout(2)
            # ...but the bridge's port is not reachable from outside.
            assert sock.connect_ex((external[0], config.component_port)) != 0
        with socket.create_connection(("127.0.0.1", config.component_port), timeout=2):
            pass


@pytest.mark.django_db(transaction=True)
def test_clients_can_neither_drive_rooms_nor_fake_prosodys_events(xmpp_server, synced_db):
    from portal.rooms.models import Room

    sign_up("trudy")
    wait_until_provisioned(xmpp_server, "trudy", timeout=5)
    rooms_ns, profiles_ns = "urn:chatboard:rooms:0", "urn:chatboard:profiles:0"
    muc = "conference.localhost"

    async def attack():
        async with logged_in(xmpp_server, "trudy@localhost", PASSWORD) as client:
            # Events as Prosody's modules send them to the bridge, from a client.
            for payload in (
                ET.Element(f"{{{rooms_ns}}}room", {"jid": f"planted@{muc}", "event": "changed"}),
                ET.Element(f"{{{profiles_ns}}}profile-changed", {"username": "trudy"}),
            ):
                message = client.make_message(mto="bridge.localhost", mtype="normal")
                message.append(payload)
                message.send()
            answers = []
            for kind, tag, attrs in (
                ("set", "room", {"jid": f"planted@{muc}", "public": "true"}),
                ("get", "list", {}),
            ):
                iq = client.make_iq(ito=muc, itype=kind)
                iq.append(ET.Element(f"{{{rooms_ns}}}{tag}", attrs))
                try:
                    await iq.send(timeout=5)
                    answers.append("accepted")
                except IqError as error:
                    answers.append(error.iq["error"]["condition"])
            await asyncio.sleep(0.5)
            return answers

    assert asyncio.run(attack()) == ["forbidden", "forbidden"]
    assert not Room.objects.filter(slug="planted").exists()
    assert "profile of trudy changed" not in synced_db.output()
