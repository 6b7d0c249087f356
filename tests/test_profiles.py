"""Profiles end to end: the portal, the real bridge, a real Prosody and real
slixmpp clients. What people set in the portal is what everyone's client shows,
and what they set from a client shows in the portal."""

import asyncio
import base64
import hashlib
import io
import time

import pytest
from PIL import Image

from tests.people import PASSWORD, member, outbox_settled, wait_until_synced
from tests.xmpp_client import eventually, logged_in

METADATA_NODE = "urn:xmpp:avatar:metadata"


def image_bytes(color="red", size=(300, 200), fmt="PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def upload(data: bytes, name="avatar.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def save_profile(client, **fields):
    data = {"name": "", "about": ""} | fields
    response = client.post("/profile/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


def portal_profile(username):
    from portal.profiles.models import Profile

    return Profile.objects.filter(user__username=username).first()


async def wait_async(predicate, timeout=5.0, interval=0.05):
    """Await `predicate()` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def read_vcard(client, jid) -> dict:
    iq = await client.plugin["xep_0054"].get_vcard(jid, cached=False, timeout=5)
    vcard = iq.xml.find("{vcard-temp}vCard")
    photo = vcard.find("{vcard-temp}PHOTO")
    return {
        "FN": vcard.findtext("{vcard-temp}FN"),
        "NICKNAME": vcard.findtext("{vcard-temp}NICKNAME"),
        "NOTE": vcard.findtext("{vcard-temp}NOTE"),
        "PHOTO": None
        if photo is None
        else (
            photo.findtext("{vcard-temp}TYPE"),
            base64.b64decode(photo.findtext("{vcard-temp}BINVAL") or ""),
        ),
    }


async def read_avatar_ids(client, jid) -> list[str]:
    """The XEP-0084 metadata as another person's client reads it."""
    try:
        iq = await client.plugin["xep_0060"].get_items(jid, METADATA_NODE, max_items=1, timeout=5)
    except Exception as error:  # item-not-found: no avatar was ever published
        if "item-not-found" in str(getattr(error, "condition", error)):
            return []
        raise
    infos = iq.xml.iter("{urn:xmpp:avatar:metadata}info")
    return [info.get("id") for info in infos]


async def read_nick(client, jid) -> str | None:
    try:
        iq = await client.plugin["xep_0060"].get_items(
            jid, "http://jabber.org/protocol/nick", max_items=1, timeout=5
        )
    except Exception:
        return None
    return iq.xml.findtext(".//{http://jabber.org/protocol/nick}nick")


@pytest.mark.django_db(transaction=True)
def test_portal_profile_is_what_other_people_clients_read(xmpp_server, synced_db):
    alice = member(xmpp_server, "alice", through_signup=True)
    member(xmpp_server, "bob", through_signup=True)
    assert "profile of alice changed" not in synced_db.output()
    started = time.monotonic()
    save_profile(
        alice,
        name="Alice Liddell",
        about="Down the rabbit hole.\nBack soon.",
        avatar=upload(image_bytes("red")),
    )
    profile = portal_profile("alice")
    stored = _stored_avatar(profile.avatar)
    assert hashlib.sha1(stored).hexdigest() == profile.avatar_sha1

    async def bob_reads():
        async with logged_in(xmpp_server, "bob@localhost", PASSWORD) as bob:

            async def published():
                vcard = await read_vcard(bob, "alice@localhost")
                return vcard if vcard["PHOTO"] else None

            vcard = await wait_async(published)
            latency = time.monotonic() - started
            ids = await read_avatar_ids(bob, "alice@localhost")
            nick = await read_nick(bob, "alice@localhost")
            return vcard, ids, nick, latency

    vcard, ids, nick, latency = asyncio.run(bob_reads())
    assert vcard["FN"] == "Alice Liddell"
    assert vcard["NICKNAME"] == "Alice Liddell"
    assert vcard["NOTE"] == "Down the rabbit hole.\nBack soon."
    assert vcard["PHOTO"] == ("image/jpeg", stored)
    assert ids == [profile.avatar_sha1]
    assert nick == "Alice Liddell"
    assert latency < 1.5, f"published after {latency:.2f} s"
    echoes = [line for line in synced_db.output().splitlines() if "of alice changed from" in line]
    assert not echoes, "the bridge's own write came back"


def _stored_avatar(file_name) -> bytes:
    from portal.profiles import avatars

    return avatars.read(file_name)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Every test signs people up from one address; allauth would rate-limit them."""
    from django.core.cache import cache

    cache.clear()


@pytest.mark.django_db(transaction=True)
def test_removing_the_avatar_removes_it_in_the_portal_and_in_clients(xmpp_server, synced_db):
    from portal.profiles import avatars

    alice = member(xmpp_server, "rita", through_signup=True)
    member(xmpp_server, "bob", through_signup=True)
    save_profile(alice, name="Alice", avatar=upload(image_bytes("red")))
    file_name, old_url = portal_profile("rita").avatar, portal_profile("rita").avatar_url

    async def bob_sees_photo(expected: bool):
        async with logged_in(xmpp_server, "bob@localhost", PASSWORD) as bob:

            async def matches():
                vcard = await read_vcard(bob, "rita@localhost")
                return (vcard["PHOTO"] is not None) == expected and vcard

            vcard = await wait_async(matches)
            return vcard, await read_avatar_ids(bob, "rita@localhost")

    vcard, ids = asyncio.run(bob_sees_photo(True))
    assert ids == [portal_profile("rita").avatar_sha1]

    save_profile(alice, name="Alice", remove_avatar="on")
    profile = portal_profile("rita")
    assert (profile.avatar, profile.avatar_sha1) == ("", "")
    assert not avatars.avatar_dir().joinpath(file_name).exists()
    page = alice.get("/people/rita/").content.decode()
    assert old_url not in page and "avatar-none" in page
    vcard, ids = asyncio.run(bob_sees_photo(False))
    assert vcard["FN"] == "Alice"
    assert ids == []


@pytest.mark.django_db(transaction=True)
def test_avatar_set_from_an_xmpp_client_shows_in_the_portal(xmpp_server, synced_db):
    alice = member(xmpp_server, "carl", through_signup=True)
    member(xmpp_server, "bob", through_signup=True)
    save_profile(alice, name="Alice", about="Portal about")
    wait_until_synced(timeout=5)
    blue = image_bytes("blue", size=(96, 96))
    blue_id = hashlib.sha1(blue).hexdigest()

    async def publish_from_client():
        async with logged_in(xmpp_server, "carl@localhost", PASSWORD) as client:
            avatar = client.plugin["xep_0084"]
            await avatar.publish_avatar(blue, timeout=5)
            info = {"id": blue_id, "type": "image/png", "bytes": len(blue)}
            await avatar.publish_avatar_metadata([info], timeout=5)

    asyncio.run(publish_from_client())
    profile = eventually(lambda: (p := portal_profile("carl")) and p.avatar and p, timeout=5)
    stored = Image.open(io.BytesIO(_stored_avatar(profile.avatar)))
    red, green, blue_channel = stored.getpixel((128, 128))
    assert (stored.size, stored.format) == ((256, 256), "JPEG")
    assert blue_channel > 200 and red < 60 and green < 60
    assert profile.about == "Portal about", "only the avatar changed"
    page = alice.get("/profile/").content.decode()
    assert profile.avatar_url in page

    async def bob_reads_ids():
        async with logged_in(xmpp_server, "bob@localhost", PASSWORD) as bob:

            async def normalised():
                ids = await read_avatar_ids(bob, "carl@localhost")
                return ids if ids == [profile.avatar_sha1] else None

            return await wait_async(normalised)

    # Prosody then holds the portal's re-encoded avatar, not the client's file.
    assert asyncio.run(bob_reads_ids()) == [profile.avatar_sha1]
    assert outbox_settled(), "a change from a client writes no outbox row"


@pytest.mark.django_db(transaction=True)
def test_avatar_the_pipeline_refuses_from_a_client_is_replaced_by_the_portal_one(
    xmpp_server, synced_db
):
    alice = member(xmpp_server, "fred", through_signup=True)
    member(xmpp_server, "bob", through_signup=True)
    save_profile(alice, name="Alice", avatar=upload(image_bytes("red")))
    wait_until_synced(timeout=5)
    before = portal_profile("fred")
    fake = b"<html><script>alert(1)</script></html>"

    async def publish_fake_png():
        async with logged_in(xmpp_server, "fred@localhost", PASSWORD) as client:
            avatar = client.plugin["xep_0084"]
            fake_id = hashlib.sha1(fake).hexdigest()
            await avatar.publish_avatar(fake, timeout=5)
            info = {"id": fake_id, "type": "image/png", "bytes": len(fake)}
            await avatar.publish_avatar_metadata([info], timeout=5)

    async def bob_reads_ids():
        async with logged_in(xmpp_server, "bob@localhost", PASSWORD) as bob:

            async def restored():
                ids = await read_avatar_ids(bob, "fred@localhost")
                return ids == [before.avatar_sha1] and ids

            return await wait_async(restored)

    asyncio.run(publish_fake_png())
    eventually(lambda: "avatar of fred from an XMPP client refused" in synced_db.output())
    assert asyncio.run(bob_reads_ids()) == [before.avatar_sha1]
    after = portal_profile("fred")
    assert (after.avatar, after.avatar_sha1) == (before.avatar, before.avatar_sha1)


@pytest.mark.django_db(transaction=True)
def test_nickname_and_vcard_set_from_an_xmpp_client_show_in_the_portal(xmpp_server, synced_db):
    from portal.outbox.models import OutboxEntry

    member(xmpp_server, "nina", through_signup=True)

    async def publish_nick():
        async with logged_in(xmpp_server, "nina@localhost", PASSWORD) as client:
            client.register_plugin("xep_0172")
            await client.plugin["xep_0172"].publish_nick("Ally", timeout=5)

    async def publish_vcard():
        async with logged_in(xmpp_server, "nina@localhost", PASSWORD) as client:
            vcard = client.plugin["xep_0054"].make_vcard()
            vcard["FN"] = "Alice from Gajim"
            vcard["DESC"] = "Set in a client"
            await client.plugin["xep_0054"].publish_vcard(vcard, timeout=5)

    asyncio.run(publish_nick())
    eventually(lambda: (p := portal_profile("nina")) and p.name == "Ally")
    asyncio.run(publish_vcard())
    profile = eventually(lambda: (p := portal_profile("nina")) and p.name != "Ally" and p)
    assert (profile.name, profile.about) == ("Alice from Gajim", "Set in a client")
    assert not OutboxEntry.objects.filter(topic="profile").exists()


@pytest.mark.django_db(transaction=True)
def test_reconciler_restores_the_portal_profile_in_prosody(xmpp_server, synced_db):
    alice = member(xmpp_server, "remy", through_signup=True)
    member(xmpp_server, "bob", through_signup=True)
    save_profile(alice, name="Alice", about="Portal about", avatar=upload(image_bytes("red")))
    wait_until_synced(timeout=5)
    expected_id = portal_profile("remy").avatar_sha1

    # Drift: the bridge is not told (as if it had been down while the client wrote).
    synced_db.stop()
    try:

        async def overwrite_from_client():
            async with logged_in(xmpp_server, "remy@localhost", PASSWORD) as client:
                vcard = client.plugin["xep_0054"].make_vcard()
                vcard["FN"] = "Someone else"
                await client.plugin["xep_0054"].publish_vcard(vcard, timeout=5)

        asyncio.run(overwrite_from_client())
    finally:
        synced_db.start()  # reconciles at start

    async def bob_reads():
        async with logged_in(xmpp_server, "bob@localhost", PASSWORD) as bob:

            async def restored():
                vcard = await read_vcard(bob, "remy@localhost")
                return vcard["FN"] == "Alice" and vcard["PHOTO"] and vcard

            vcard = await wait_async(restored, timeout=10)
            return vcard, await read_avatar_ids(bob, "remy@localhost")

    vcard, ids = asyncio.run(bob_reads())
    assert vcard["NOTE"] == "Portal about"
    assert ids == [expected_id]
    assert portal_profile("remy").name == "Alice", "the portal is the source of truth"


@pytest.mark.django_db(transaction=True)
def test_portal_edits_reach_a_connected_client_within_a_second(xmpp_server, synced_db):
    editor = member(xmpp_server, "quick", through_signup=True)
    member(xmpp_server, "bob", through_signup=True)
    save_profile(editor, name="Quick 0")
    wait_until_synced(timeout=5)

    async def measure():
        async with logged_in(xmpp_server, "bob@localhost", PASSWORD) as bob:
            latencies = []
            for round_ in range(1, 6):
                started = time.monotonic()
                await asyncio.to_thread(save_profile, editor, name=f"Quick {round_}")

                async def seen(expected=f"Quick {round_}"):
                    return (await read_vcard(bob, "quick@localhost"))["FN"] == expected

                await wait_async(seen, timeout=5, interval=0.01)
                latencies.append(time.monotonic() - started)
            return latencies

    latencies = asyncio.run(measure())
    assert max(latencies) < 1.0, [f"{t:.3f}" for t in latencies]
