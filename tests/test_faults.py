"""Components killed mid-work: nothing the portal asked for is lost, nothing is
applied twice, and Prosody ends up equal to the portal."""

import asyncio
import signal
import time

import pytest

from portal.outbox.models import OutboxEntry
from portal.profiles.models import Profile
from portal.rooms.models import Room
from tests.people import PASSWORD, member, sign_up, unapplied_outbox
from tests.rooms_helpers import MUC, new_room, run_as, try_room_config
from tests.test_rooms import _portal_view, _prosody_view
from tests.xmpp_client import can_log_in, eventually

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def settled() -> bool:
    return not unapplied_outbox().exists()


def vcard_name(server, username) -> str:
    async def action(client):
        vcard = await client.plugin["xep_0054"].get_vcard(f"{username}@localhost", timeout=5)
        return vcard["vcard_temp"]["FN"]

    return run_as(server, username, action)


def kill_bridge(bridge) -> None:
    bridge.process.kill()


def test_prosody_killed_during_a_burst_of_portal_changes_catches_up(xmpp_server, synced_db):
    owner = member(xmpp_server, "kim")
    done_before = OutboxEntry.objects.filter(state="done").count()
    operations = []
    for number in range(10):
        operations.append(lambda n=number: new_room(owner, f"burst{n}", name=f"Burst {n}"))
    for number in range(6):
        operations.append(lambda n=number: sign_up(f"newbie{n}", PASSWORD))
    for number in range(6):
        operations.append(
            lambda n=number: owner.post("/profile/", {"name": f"Kim {n}", "about": "x"})
        )
    for number in range(5):
        operations.append(
            lambda n=number: owner.post(
                f"/rooms/burst{n}/edit/",
                {
                    "name": f"Edited {n}",
                    "description": "after the crash",
                    "visibility": "private" if n % 2 else "public",
                    "persistent": "on",
                    "history": "on",
                    "real_jids_visible_to": "moderators",
                },
            )
        )
    for number in range(5, 8):
        operations.append(
            lambda n=number: owner.post(f"/rooms/burst{n}/delete/", {"confirm": f"burst{n}"})
        )
    assert len(operations) == 30
    try:
        for index, operation in enumerate(operations):
            if index == 10:
                xmpp_server.kill()  # SIGKILL while the bridge is applying the first ones
            response = operation()  # sign_up checks its own response
            assert getattr(response, "status_code", 302) == 302
    finally:
        xmpp_server.start()
    restarted = time.monotonic()
    try:
        eventually(settled, timeout=10)
    except AssertionError:
        waiting = unapplied_outbox().values("topic", "key", "last_error")
        raise AssertionError(f"not applied within 10 s: {list(waiting)}") from None
    # Every row is applied: what Prosody holds now is what it held at this moment.
    caught_up = time.monotonic() - restarted
    for number in (0, 1, 2, 3, 4, 8, 9):
        slug = f"burst{number}"
        assert _prosody_view(xmpp_server, "kim", slug) == _portal_view(slug), slug
    for number in range(5, 8):
        assert try_room_config(xmpp_server, "kim", f"burst{number}") is None
    for number in range(6):
        assert can_log_in(xmpp_server, f"newbie{number}@localhost", PASSWORD)
    assert vcard_name(xmpp_server, "kim") == Profile.objects.get(user__username="kim").name
    assert caught_up < 10
    assert OutboxEntry.objects.filter(state="done").count() > done_before
    assert not OutboxEntry.objects.filter(state="parked").exists()


def test_bridge_killed_mid_batch_resumes_without_losing_or_repeating(xmpp_server, synced_db):
    owner = member(xmpp_server, "lee")
    bridge = synced_db
    # A claim by the killed process blocks its row until the claim runs out.
    previous = bridge.env.get("OUTBOX_CLAIM_SECONDS")
    bridge.env["OUTBOX_CLAIM_SECONDS"] = "1"
    applied_before = bridge.output().count("applied room:")
    try:
        bridge.restart()
        for number in range(20):
            new_room(owner, f"batch{number:02d}", name=f"Batch {number}")
        eventually(lambda: bridge.output().count("applied room:") >= applied_before + 3, 10)
        kill_bridge(bridge)
        stopped_at = bridge.output().count("applied room:") - applied_before
        assert stopped_at < 20, "the bridge finished before it could be killed"
        bridge.start()
        eventually(settled, timeout=15)
    finally:
        if previous is None:
            bridge.env.pop("OUTBOX_CLAIM_SECONDS")
        else:
            bridge.env["OUTBOX_CLAIM_SECONDS"] = previous
    log = xmpp_server.log_text()
    for number in range(20):
        slug = f"batch{number:02d}"
        assert log.count(f"Room {slug}@{MUC} created by the bridge") == 1, slug
        assert try_room_config(xmpp_server, "lee", slug)["muc#roomconfig_roomname"] == (
            f"Batch {number}"
        )
    rows = OutboxEntry.objects.filter(topic="room", key__startswith="batch")
    assert rows.count() == 20 and all(row.state == "done" for row in rows)
    assert Room.objects.filter(slug__startswith="batch").count() == 20


def test_portal_down_leaves_xmpp_chat_and_logins_working(xmpp_server, synced_db):
    """Prosody never calls the portal: with the bridge stopped too and the
    portal's database unreachable, people log in and chat."""
    member(xmpp_server, "max")
    member(xmpp_server, "ned")
    synced_db.stop()
    try:

        async def chat():
            from tests.xmpp_client import connect

            max_ = await connect(xmpp_server, "max@localhost", PASSWORD)
            ned = await connect(xmpp_server, "ned@localhost", PASSWORD)
            got = asyncio.get_running_loop().create_future()
            ned.add_event_handler("message", lambda m: got.done() or got.set_result(m["body"]))
            max_.send_message(mto="ned@localhost", mbody="still here", mtype="chat")
            body = await asyncio.wait_for(got, 5)
            max_.abort()
            ned.abort()
            return body

        assert asyncio.run(chat()) == "still here"
    finally:
        synced_db.start()
    new_room(member(xmpp_server, "ola"), "afterwards")
    eventually(lambda: try_room_config(xmpp_server, "ola", "afterwards"), timeout=10)


def test_prosody_restart_loses_no_acknowledged_message_and_clients_come_back(tmp_path):
    """Stream management: what the server acknowledged is delivered or archived."""
    from tests.fixtures import own_prosody
    from tests.xmpp_client import connect
    from tests.xmpp_client import wait_for as wait_async

    with own_prosody(tmp_path, ("amy", "ben")) as server:

        async def scenario():
            amy = await connect(server, "amy@localhost", PASSWORD)
            ben = await connect(server, "ben@localhost", PASSWORD)
            acked, received, sessions = set(), set(), {"amy": 0, "ben": 0}
            amy.add_event_handler(
                "stanza_acked", lambda s: s.name == "message" and acked.add(s["body"])
            )
            ben.add_event_handler("message", lambda m: received.add(m["body"]))
            for name, client in (("amy", amy), ("ben", ben)):
                client.add_event_handler(
                    "session_start", lambda _, n=name: sessions.__setitem__(n, sessions[n] + 1)
                )

            def come_back(client):
                # A client whose connection dropped reconnects (a resumption
                # attempt first, then a new session: the restart lost the old one).
                if client.closed.is_set():
                    client.closed.clear()
                    client.connect("127.0.0.1", server.c2s_port)

            restart = None
            for number in range(40):
                if number == 15:
                    restart = asyncio.create_task(asyncio.to_thread(server.restart))
                if number == 20:
                    # The rest go to the restarted server, however long the
                    # restart takes on a busy machine.
                    await restart
                    come_back(amy)
                    await wait_async(lambda: sessions["amy"] >= 1, 10)
                elif restart is not None and restart.done():
                    come_back(amy)
                amy.send_message(mto="ben@localhost", mbody=f"m{number:02d}", mtype="chat")
                await asyncio.sleep(0.05)
            come_back(amy)
            come_back(ben)
            await wait_async(lambda: sessions["ben"] >= 1 and sessions["amy"] >= 1, 10)
            amy.plugin["xep_0198"].request_ack()
            await asyncio.sleep(1)
            archived = await archive_of(ben)
            amy.abort()
            ben.abort()
            return acked, received, archived

        acked, received, archived = asyncio.run(scenario())
    assert len(acked) >= 20, sorted(acked)  # before and after the restart
    assert {"m00", "m39"} <= acked
    assert acked <= received | archived, sorted(acked - received - archived)


async def archive_of(client) -> set[str]:
    from slixmpp.xmlstream import ET
    from slixmpp.xmlstream.handler import Callback
    from slixmpp.xmlstream.matcher import MatchXPath

    bodies = set()

    def on_result(message):
        body = message.xml.find(".//{jabber:client}body")
        if body is not None:
            bodies.add(body.text)

    client.register_handler(
        Callback("mam", MatchXPath("{jabber:client}message/{urn:xmpp:mam:2}result"), on_result)
    )
    iq = client.make_iq_set()
    query = ET.SubElement(iq.xml, "{urn:xmpp:mam:2}query")
    rsm = ET.SubElement(query, "{http://jabber.org/protocol/rsm}set")
    ET.SubElement(rsm, "{http://jabber.org/protocol/rsm}max").text = "100"
    await iq.send(timeout=5)
    return bodies


def test_bridge_stopped_while_prosody_is_stalled_gives_its_claim_back(xmpp_server, synced_db):
    owner = member(xmpp_server, "mae")
    bridge = synced_db
    prosody = xmpp_server.process
    prosody.send_signal(signal.SIGSTOP)  # the bridge's requests go unanswered
    try:
        new_room(owner, "stalled", name="Stalled")
        row = OutboxEntry.objects.filter(topic="room", key="stalled")
        eventually(lambda: row.filter(claimed_until__isnull=False).exists(), timeout=5)
        stopping = time.monotonic()
        bridge.process.send_signal(signal.SIGTERM)
        bridge.process.wait(15)
        # Within the grace period, and the row is as if nobody had tried it:
        # no attempt counted, no error, and no claim left to run out.
        assert time.monotonic() - stopping < 10
        assert "gave back room:stalled" in bridge.output()
        assert row.get().claimed_until is None
        assert (row.get().state, row.get().attempts, row.get().last_error) == ("pending", 0, "")
    finally:
        prosody.send_signal(signal.SIGCONT)
    started = time.monotonic()
    bridge.start()
    eventually(settled, timeout=10)
    # Taken at once: well before the 30 s claim would have run out.
    assert time.monotonic() - started < 10
    assert try_room_config(xmpp_server, "mae", "stalled")["muc#roomconfig_roomname"] == "Stalled"
