"""Message moderation in the web chat: Converse's own UI against the real Prosody."""

import pytest
from playwright.sync_api import expect

from tests.chat_page import (
    message,
    occupant,
    open_chat_page,
    room,
    send,
    sign_up,
    wait_until_provisioned,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_moderator_removes_a_message_and_others_see_it_removed(
    live_server, xmpp_server, synced_db, open_browser
):
    mona, nils = open_browser("mona"), open_browser("nils")
    for person, name in ((mona, "mona"), (nils, "nils")):
        sign_up(person, live_server.url, name)
        wait_until_provisioned(xmpp_server, name)
    townhall = f"townhall@conference.{xmpp_server.domain}"

    # Mona opens the room first: she made it, so she owns and moderates it.
    open_chat_page(mona, f"{live_server.url}/chat/?room=townhall")
    expect(occupant(room(mona, townhall), "mona")).to_be_visible()
    open_chat_page(nils, f"{live_server.url}/chat/?room=townhall")
    expect(occupant(room(mona, townhall), "nils")).to_be_visible()
    send(room(nils, townhall), "Cheap watches at example.com")
    send(room(nils, townhall), "Sorry, wrong room")
    spam = message(room(mona, townhall), "Cheap watches at example.com")
    expect(spam).to_be_visible()

    # Nils, a participant, is not offered moderation of Mona's messages.
    send(room(mona, townhall), "Welcome, everyone")
    welcome = room(nils, townhall).locator("converse-chat-message", has_text="Welcome, everyone")
    welcome.locator(".chat-msg__actions .dropdown-toggle").click()
    expect(welcome.locator(".chat-msg__action-copy")).to_be_visible()
    expect(welcome.locator(".chat-msg__action-retract")).to_have_count(0)
    nils.page.keyboard.press("Escape")

    entry = room(mona, townhall).locator("converse-chat-message", has_text="Cheap watches")
    entry.locator(".chat-msg__actions .dropdown-toggle").click()
    entry.locator(".chat-msg__action-retract").click()
    dialog = mona.page.locator(".modal-dialog form.confirm")
    dialog.locator("input[type=text]").fill("advertising")
    dialog.locator("button[type=submit]").click()

    # Nils sees the message replaced by the notice, with the reason.
    box = room(nils, townhall)
    expect(message(box, "Cheap watches at example.com")).to_have_count(0)
    removed = box.locator(".retraction", has_text="removed a message")
    expect(removed).to_be_visible()
    expect(removed.locator(".chat-msg--retracted__reason")).to_have_text("advertising")
    expect(message(box, "Sorry, wrong room")).to_be_visible()
    nils.screenshot("moderated-message-nils")

    # A fresh device gets the history from Prosody's archive: the text is gone there too.
    laptop = open_browser("nils-laptop")
    laptop.page.context.add_cookies(nils.page.context.cookies())
    open_chat_page(laptop, f"{live_server.url}/chat/?room=townhall")
    expect(message(room(laptop, townhall), "Sorry, wrong room")).to_be_visible()
    expect(message(room(laptop, townhall), "Cheap watches at example.com")).to_have_count(0)
