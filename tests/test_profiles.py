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

from tests.portal_client import sign_up
from tests.xmpp_client import can_log_in, eventually, logged_in

PASSWORD = "correct horse battery"
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
    from profiles.models import Profile

    return Profile.objects.filter(user__username=username).first()


def member(xmpp_server, username):
    client = sign_up(username, PASSWORD)
    eventually(lambda: can_log_in(xmpp_server, f"{username}@localhost", PASSWORD))
    return client


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
    alice = member(xmpp_server, "alice")
    member(xmpp_server, "bob")
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
    assert latency < 3, f"published after {latency:.2f} s"


def _stored_avatar(file_name) -> bytes:
    from profiles import avatars

    return avatars.read(file_name)
