"""Federation seen in the web chat: a person on b.test watches, in the browser,
a visitor from a.test join the room and write (stacks from tests/stacks.py)."""

import asyncio

from playwright.sync_api import expect

from tests.browser import off_browser_thread
from tests.chat_page import PASSWORD, log_in, message, occupant, open_chat_page, room, send
from tests.xmpp_client import logged_in


def test_room_member_sees_a_visitor_from_another_server_in_the_web_chat(a, b, open_browser):
    visitor = off_browser_thread(a.person, "vera", PASSWORD)
    off_browser_thread(b.person, "walt", PASSWORD)
    walt = open_browser("walt")
    log_in(walt, b.url, "walt")
    open_chat_page(walt, f"{b.url}/chat/?room=commons")
    commons = room(walt, "commons@conference.b.test")
    expect(occupant(commons, "walt")).to_be_visible()
    send(commons, "Anyone from elsewhere?")
    expect(message(commons, "Anyone from elsewhere?")).to_be_visible()

    async def visit():
        async with logged_in(a, visitor, PASSWORD) as client:
            _own, _subject, _occupants, history = await client.plugin["xep_0045"].join_muc_wait(
                "commons@conference.b.test", "Vera", maxstanzas=5, timeout=10
            )
            client.send_message(
                mto="commons@conference.b.test", mbody="Hello from a.test", mtype="groupchat"
            )
            await asyncio.sleep(0.5)  # leave after the message is on its way
            return [m["body"] for m in history]

    assert off_browser_thread(asyncio.run, visit()) == ["Anyone from elsewhere?"]
    expect(message(commons, "Hello from a.test")).to_be_visible()
    walt.screenshot("federation-visitor-message-in-web-chat")
