"""A deployment whose rooms are not on conference.<domain>: CHATBOARD_MUC_DOMAIN, set
once as an operator would in `.env`, reaches the portal, the bridge and Prosody's
config alike (a whole stack from tests/stacks.py, the web chat in Chromium)."""

import asyncio

import pytest
from playwright.sync_api import expect
from slixmpp.exceptions import IqError

from tests.browser import off_browser_thread
from tests.chat_page import log_in, message, occupant, open_chat_page, room, send
from tests.rooms_helpers import join_room
from tests.stacks import Federation
from tests.xmpp_client import eventually, logged_in

PASSWORD = "correct horse battery"
NEW_ROOM = {
    "description": "",
    "visibility": "public",
    "password": "",
    "persistent": "on",
    "history": "on",
}
DOMAIN = "d.test"
MUC_DOMAIN = "groups.d.test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    federation = Federation(tmp_path_factory.mktemp("muc-domain"), [DOMAIN])
    try:
        yield federation.chatboard(DOMAIN, settings={"CHATBOARD_MUC_DOMAIN": MUC_DOMAIN})
    finally:
        federation.stop_all()


def as_person(stack, jid, action):
    async def go():
        async with logged_in(stack, jid, PASSWORD) as client:
            return await action(client)

    return off_browser_thread(asyncio.run, go())


async def room_name(client, address) -> str | None:
    """The room's name as disco#info shows it; None where there is no such room."""
    try:
        info = await client.plugin["xep_0030"].get_info(jid=address, timeout=5)
    except IqError:
        return None
    identities = info["disco_info"]["identities"]
    return next(
        (name for category, _type, _lang, name in identities if category == "conference"), None
    )


def in_portal(stack, slug) -> bool:
    code = (
        f"from portal.rooms.models import Room; print(Room.objects.filter(slug={slug!r}).exists())"
    )
    return stack.shell(code).strip() == "True"


def test_room_made_in_the_portal_lives_on_the_configured_room_service(stack):
    owner_jid = stack.person("olga", PASSWORD)
    owner = stack.sign_in("olga", PASSWORD)
    owner.post_form("/rooms/new/", {**NEW_ROOM, "name": "Lounge", "slug": "lounge"})
    assert owner.last_url.endswith("/rooms/lounge/")

    def named_on(address):
        return as_person(stack, owner_jid, lambda client: room_name(client, address))

    assert eventually(lambda: named_on(f"lounge@{MUC_DOMAIN}") == "Lounge", timeout=10)
    # Nothing answers for rooms at the default address: there is no such service.
    assert named_on(f"lounge@conference.{DOMAIN}") is None
    assert f"lounge@{MUC_DOMAIN}" in owner.get("/rooms/lounge/")


def test_room_made_from_a_client_on_the_configured_service_appears_in_the_portal(stack):
    jid = stack.person("pavel", PASSWORD)

    async def create(client):
        return await join_room(client, f"fromclient@{MUC_DOMAIN}", "pavel", timeout=10)

    assert as_person(stack, jid, create) is None
    assert eventually(lambda: in_portal(stack, "fromclient"), timeout=10)


def test_web_chat_joins_the_room_on_the_configured_service(stack, open_browser):
    off_browser_thread(stack.person, "vera", PASSWORD)
    vera_session = off_browser_thread(stack.sign_in, "vera", PASSWORD)
    new_room = {**NEW_ROOM, "name": "Garden", "slug": "garden"}
    off_browser_thread(vera_session.post_form, "/rooms/new/", new_room)
    vera = open_browser("vera")
    log_in(vera, stack.url, "vera")
    open_chat_page(vera, f"{stack.url}/chat/?room=garden")
    garden = room(vera, f"garden@{MUC_DOMAIN}")
    expect(occupant(garden, "vera")).to_be_visible()
    send(garden, "Planted the tomatoes")
    expect(message(garden, "Planted the tomatoes")).to_be_visible()

    async def history(client):
        client.register_plugin("xep_0313")
        result = await client.plugin["xep_0313"].retrieve(jid=f"garden@{MUC_DOMAIN}", timeout=10)
        return [m["mam_result"]["forwarded"]["stanza"]["body"] for m in result["mam"]["results"]]

    reader = off_browser_thread(stack.person, "rita", PASSWORD)
    assert "Planted the tomatoes" in as_person(stack, reader, history)
    vera.screenshot("web-chat-on-a-custom-room-service")
