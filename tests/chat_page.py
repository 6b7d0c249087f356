"""What a person does on the portal's pages and in the web chat, as browser steps.

Selectors are Converse.js 14's own markup (see notes/converse-14.md).
"""

import re

from tests import people
from tests.browser import Person, off_browser_thread
from tests.people import PASSWORD, signup_form


def sign_up(person: Person, base_url: str, username: str, password: str = PASSWORD) -> None:
    page = person.page
    page.goto(f"{base_url}/accounts/signup/")
    for name, value in signup_form(username, password).items():
        page.fill(f"input[name={name}]", value)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def log_in(person: Person, base_url: str, username: str, password: str = PASSWORD) -> None:
    page = person.page
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def wait_until_provisioned(xmpp_server, username: str, password: str = PASSWORD) -> None:
    """The bridge has created the XMPP account the chat will log in to."""
    off_browser_thread(people.wait_until_provisioned, xmpp_server, username, password, 15)


def room(person: Person, jid: str):
    return person.page.locator(f'converse-muc[jid="{jid}"]')


def chat(person: Person, jid: str):
    return person.page.locator(f'converse-chat[jid="{jid}"]')


def open_chat_page(person: Person, url: str) -> None:
    person.page.goto(url)
    person.page.locator("converse-user-profile .username").wait_for()


def send(box, text: str) -> None:
    """Type a message into a chat's (or a sidebar's) textarea and press Enter."""
    textarea = box.locator("textarea.chat-textarea").first
    textarea.fill(text)
    textarea.press("Enter")


def message(box, text: str):
    return box.locator(".chat-msg__text", has_text=text)


def occupant(box, nick: str):
    return box.locator("converse-muc-sidebar .occupant-list li.occupant", has_text=nick)


def back_to_participants(box) -> None:
    """From a private conversation in the room's sidebar back to the occupant list."""
    box.locator("converse-muc-sidebar .back-button").click()


def notification(box, nick: str, event: str):
    """A join/leave notice, e.g. ("ben", "entered"): "ann and ben have entered the groupchat"."""
    pattern = re.compile(rf"\b{re.escape(nick)}\b.* {event} the groupchat")
    return box.locator(".chat-content__notifications", has_text=pattern)


def leave_room(person: Person, jid: str) -> None:
    box = room(person, jid)
    box.locator("converse-muc-heading .dropdown-toggle").first.click()
    box.locator("a.close-chatbox-button").click()
    person.page.locator(".modal-dialog button.btn-primary").click()
