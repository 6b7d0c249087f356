"""Requests aimed at our Lua modules: from anyone but the bridge they are refused;
malformed ones sent over the bridge's own channel (the only sender they accept)
get an error reply, never a crash, and the module keeps working afterwards."""

import asyncio
import os
import re

import pytest
from slixmpp import ComponentXMPP
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

from stack.prosody import MODULES_DIR
from tests.fixtures import own_prosody
from tests.people import PASSWORD
from tests.rooms_helpers import MUC
from tests.xmpp_client import logged_in

pytestmark = pytest.mark.timeout(60)

ACCOUNTS = "urn:chatboard:accounts:0"
ROOMS = "urn:chatboard:rooms:0"
PROFILES = "urn:chatboard:profiles:0"
HEX = "ab" * 20
GOOD_KEYS = {"salt": "s", "iterations": "4096", "stored-key": HEX, "server-key": HEX}
HUGE = "x" * 30_000


def account(**attrs):
    return ("localhost", "set", ACCOUNTS, "account", attrs, {})


def room(children=None, **attrs):
    return (MUC, "set", ROOMS, "room", attrs, children or {})


# (target, type, namespace, element, attributes, children {name: attributes or text})
MALFORMED = {
    "account without attributes": account(),
    "account with an empty username": account(username="", **GOOD_KEYS),
    "account with a JID for a username": account(username="a@b/c", **GOOD_KEYS),
    "account with a huge username": account(username=HUGE, **GOOD_KEYS),
    "account with text iterations": account(username="eve", **{**GOOD_KEYS, "iterations": "many"}),
    "account with infinite iterations": account(
        username="eve", **{**GOOD_KEYS, "iterations": "1e999"}
    ),
    "account with fractional iterations": account(
        username="eve", **{**GOOD_KEYS, "iterations": "4096.5"}
    ),
    "account with absurd iterations": account(
        username="eve", **{**GOOD_KEYS, "iterations": "99999999999"}
    ),
    "account with negative iterations": account(
        username="eve", **{**GOOD_KEYS, "iterations": "-4096"}
    ),
    "account with a non-hex key": account(username="eve", **{**GOOD_KEYS, "stored-key": "zz" * 20}),
    "account with a short key": account(username="eve", **{**GOOD_KEYS, "server-key": "ab"}),
    "account with a huge salt": account(username="eve", **{**GOOD_KEYS, "salt": HUGE}),
    "delete without a username": ("localhost", "set", ACCOUNTS, "delete", {}, {}),
    "delete of a huge username": ("localhost", "set", ACCOUNTS, "delete", {"username": HUGE}, {}),
    "list as a set": ("localhost", "set", ACCOUNTS, "list", {}, {}),
    "room without a JID": room(),
    "room on the service itself": room(jid=MUC),
    "room with a resource": room(jid=f"r@{MUC}/nick"),
    "room on another host": room(jid="r@elsewhere.example"),
    "room with a huge JID": room(jid=f"{HUGE[:2000]}@{MUC}"),
    "room with an invalid JID": room(jid=f"a b@@{MUC}"),
    "room with an affiliation without JID": room(
        jid=f"r1@{MUC}", children={"affiliation": {"affiliation": "member"}}
    ),
    "room with an unknown affiliation": room(
        jid=f"r2@{MUC}", children={"affiliation": {"jid": "a@localhost", "affiliation": "god"}}
    ),
    "room with a garbage affiliation JID": room(
        jid=f"r3@{MUC}", children={"affiliation": {"jid": "@@@", "affiliation": "member"}}
    ),
    "room with odd flags": room(jid=f"r4@{MUC}", public="maybe", whois="everyone", archiving="2"),
    "room with a huge name": room(jid=f"r5@{MUC}", children={"name": HUGE}),
    "destroy without a JID": (MUC, "set", ROOMS, "destroy", {}, {}),
    "destroy of a missing room": (MUC, "set", ROOMS, "destroy", {"jid": f"nope@{MUC}"}, {}),
    "rooms list as a set": (MUC, "set", ROOMS, "list", {}, {}),
    "profiles namespace request": ("localhost", "set", PROFILES, "profile-changed", {}, {}),
}


# Every request only the bridge may send, as a client would forge it; the same from
# the bridge is valid. A module serving a new request adds a line here.
BRIDGE_ONLY = {
    "account": account(username="mallory", active="true", **GOOD_KEYS),
    "account deletion": ("localhost", "set", ACCOUNTS, "delete", {"username": "mallory"}, {}),
    "account list": ("localhost", "get", ACCOUNTS, "list", {}, {}),
    "room": room(jid=f"planted@{MUC}", public="true", persistent="true"),
    "room destruction": (MUC, "set", ROOMS, "destroy", {"jid": f"planted@{MUC}"}, {}),
    "room list": (MUC, "get", ROOMS, "list", {}, {}),
    "occupant role": (
        MUC,
        "set",
        ROOMS,
        "role",
        {"room": f"planted@{MUC}", "jid": "mallory@localhost", "role": "moderator"},
        {},
    ),
}


def build(sender, request, ifrom=None):
    target, kind, ns, name, attrs, children = request
    iq = sender.make_iq(ito=target, itype=kind, ifrom=ifrom)
    element = ET.SubElement(iq.xml, f"{{{ns}}}{name}", attrs)
    for child, value in children.items():
        if isinstance(value, dict):
            ET.SubElement(element, f"{{{ns}}}{child}", value)
        else:
            ET.SubElement(element, f"{{{ns}}}{child}").text = value
    return iq


async def as_bridge(server, requests):
    component = ComponentXMPP(
        "bridge.localhost",
        os.environ["BRIDGE_COMPONENT_SECRET"],
        "127.0.0.1",
        server.config.component_port,
    )
    started = asyncio.get_running_loop().create_future()
    component.add_event_handler("session_start", lambda _: started.set_result(True))
    component.connect()
    await asyncio.wait_for(started, 5)
    answers = {}
    try:
        for label, request in requests.items():
            try:
                reply = await build(component, request, ifrom="bridge.localhost").send(timeout=5)
                answers[label] = ("result", reply)
            except IqError as error:
                answers[label] = ("error", error.iq["error"]["condition"])
            except IqTimeout:
                answers[label] = ("timeout", None)
    finally:
        component.disconnect()
    return answers


async def refusals_to_client(server, jid, requests):
    """Each request sent by a logged-in client: the error's type, condition and text."""
    answers = {}
    async with logged_in(server, jid, PASSWORD) as client:
        for label, request in requests.items():
            try:
                await build(client, request).send(timeout=5)
                answers[label] = "accepted"
            except IqError as error:
                answers[label] = tuple(
                    error.iq["error"][key] for key in ("type", "condition", "text")
                )
    return answers


def test_malformed_requests_get_errors_and_the_modules_keep_working(tmp_path):
    with own_prosody(tmp_path, ()) as server:
        answers = asyncio.run(as_bridge(server, MALFORMED))
        after = asyncio.run(
            as_bridge(
                server,
                {
                    "valid account": account(username="eve", active="true", **GOOD_KEYS),
                    "valid room": room(jid=f"fine@{MUC}", public="true", persistent="true"),
                    "accounts list": ("localhost", "get", ACCOUNTS, "list", {}, {}),
                },
            )
        )
        assert server.process.poll() is None, "Prosody died"
        log = server.log_text()
    refused = {label for label, (kind, _) in answers.items() if kind == "error"}
    timed_out = {label for label, (kind, _) in answers.items() if kind == "timeout"}
    assert not timed_out, f"no answer (crashed handler?) to: {sorted(timed_out)}"
    # Idempotent no-ops, and values the portal validates that Prosody may store.
    harmless = {"destroy without a JID", "destroy of a missing room", "room with odd flags"}
    harmless.add("room with a huge name")
    assert refused == set(MALFORMED) - harmless, sorted(refused ^ (set(MALFORMED) - harmless))
    assert all(kind == "result" for kind, _ in after.values()), after
    assert 'username="eve"' in str(after["accounts list"][1])
    assert "\terror\t" not in log, log[-4000:]
    assert "traceback" not in log.lower(), log[-4000:]


def test_only_the_bridge_may_send_its_requests(tmp_path):
    with own_prosody(tmp_path, ("mallory",)) as server:
        from_client = asyncio.run(refusals_to_client(server, "mallory@localhost", BRIDGE_ONLY))
        from_bridge = asyncio.run(as_bridge(server, BRIDGE_ONLY))
    assert from_client == {label: ("auth", "forbidden", "") for label in BRIDGE_ONLY}
    # The same requests are valid from the bridge: the refusals above are the guard's.
    assert all(kind == "result" for kind, _ in from_bridge.values()), from_bridge


def test_every_request_our_modules_serve_is_in_the_bridge_only_list():
    """A module that hooks a request through chatboard_bridge's guard gets its line
    in BRIDGE_ONLY, so the test above covers it."""
    served = set()
    for path in MODULES_DIR.rglob("*.lua"):
        text = path.read_text()
        namespace = re.search(r'^local xmlns = "([^"]+)";', text, re.M)
        for kind, name in re.findall(
            r'^bridge\.hook_request\("(\w+)", xmlns, "([\w-]+)"', text, re.M
        ):
            served.add((kind, namespace.group(1), name))
    listed = {(kind, ns, name) for _, kind, ns, name, _, _ in BRIDGE_ONLY.values()}
    assert served, "no request found: has chatboard_bridge.hook_request been renamed?"
    assert served == listed, served ^ listed
