"""The web chat in a real browser: Debian's Chromium, the portal on a live server,
Prosody and the bridge as their own processes. Screenshots: test-artifacts/."""

import pytest
from playwright.sync_api import expect

from tests.chat_page import (
    back_to_participants,
    chat,
    leave_room,
    log_in,
    message,
    notification,
    occupant,
    open_chat_page,
    room,
    send,
    sign_up,
    wait_until_provisioned,
)

pytestmark = pytest.mark.django_db(transaction=True)


def room_jid(xmpp_server, slug):
    return f"{slug}@conference.{xmpp_server.domain}"


def allowed_hosts(live_server, xmpp_server) -> set[str]:
    portal = live_server.url.split("://", 1)[1]
    return {portal, f"127.0.0.1:{xmpp_server.config.http_port}"}


def test_two_people_talk_in_a_room_in_private_and_one_to_one(
    live_server, xmpp_server, synced_db, open_browser
):
    ann, ben = open_browser("ann"), open_browser("ben")
    sign_up(ann, live_server.url, "ann")
    sign_up(ben, live_server.url, "ben")
    wait_until_provisioned(xmpp_server, "ann")
    wait_until_provisioned(xmpp_server, "ben")
    lobby = room_jid(xmpp_server, "lobby")

    # Each opens the same room from a deep link and sees the other arrive.
    open_chat_page(ann, f"{live_server.url}/chat/?room=lobby")
    expect(occupant(room(ann, lobby), "ann")).to_be_visible()
    open_chat_page(ben, f"{live_server.url}/chat/?room=lobby")
    expect(notification(room(ann, lobby), "ben", "entered")).to_be_visible()
    ann.screenshot("room-ann-sees-ben-join")
    expect(occupant(room(ann, lobby), "ben")).to_be_visible()
    expect(occupant(room(ben, lobby), "ann")).to_be_visible()

    # A message and its reply, each seen by the other.
    send(room(ann, lobby), "Hello Ben, welcome to the lobby")
    expect(message(room(ben, lobby), "Hello Ben, welcome to the lobby")).to_be_visible()
    send(room(ben, lobby), "Thanks Ann, glad to be here")
    expect(message(room(ann, lobby), "Thanks Ann, glad to be here")).to_be_visible()
    ben.screenshot("room-ben-sees-messages")

    # A private message from the occupant list, seen by Ben as private.
    occupant(room(ann, lobby), "ben").click()
    send(room(ann, lobby).locator("converse-muc-sidebar"), "Psst, this is just for you")
    back_to_participants(room(ann, lobby))
    expect(occupant(room(ben, lobby), "ann").locator(".msgs-indicator")).to_have_text("1")
    occupant(room(ben, lobby), "ann").click()
    private = room(ben, lobby).locator("converse-muc-occupant.chatboard-private")
    expect(message(private, "Psst, this is just for you")).to_be_visible()
    label = private.locator(".chat-body").evaluate(
        "body => getComputedStyle(body, '::before').content"
    )
    assert label == '"Private messages"'
    main_stream = room(ben, lobby).locator("converse-muc-chat-content")
    expect(message(main_stream, "Psst, this is just for you")).to_have_count(0)
    ben.screenshot("private-message-ben")
    back_to_participants(room(ben, lobby))

    # One-to-one: Ann opens Ben's chat from a link (as /people/<username>/ gives it).
    ann_jid, ben_jid = f"ann@{xmpp_server.domain}", f"ben@{xmpp_server.domain}"
    open_chat_page(ann, f"{live_server.url}/chat/?with=ben")
    send(chat(ann, ben_jid), "Ben, a word in private?")
    open_chat_page(ben, f"{live_server.url}/chat/?with=ann")
    expect(message(chat(ben, ann_jid), "Ben, a word in private?")).to_be_visible()
    send(chat(ben, ann_jid), "Sure, go ahead")
    expect(message(chat(ann, ben_jid), "Sure, go ahead")).to_be_visible()
    ann.screenshot("one-to-one-ann")

    # After a reload (a fresh page), the room's history is there.
    open_chat_page(ann, f"{live_server.url}/chat/?room=lobby")
    expect(message(room(ann, lobby), "Hello Ben, welcome to the lobby")).to_be_visible()
    expect(message(room(ann, lobby), "Thanks Ann, glad to be here")).to_be_visible()
    ann.screenshot("room-history-after-reload")
    # On another device (no browser storage at all) the history comes from Prosody.
    laptop = open_browser("ann-laptop")
    log_in(laptop, live_server.url, "ann")
    open_chat_page(laptop, f"{live_server.url}/chat/?room=lobby")
    expect(message(room(laptop, lobby), "Hello Ben, welcome to the lobby")).to_be_visible()
    expect(message(room(laptop, lobby), "Thanks Ann, glad to be here")).to_be_visible()

    # Ben comes back to the room and leaves it; Ann sees him go.
    open_chat_page(ben, f"{live_server.url}/chat/?room=lobby")
    expect(occupant(room(ann, lobby), "ben")).to_be_visible()
    leave_room(ben, lobby)
    expect(notification(room(ann, lobby), "ben", "left")).to_be_visible()
    expect(occupant(room(ann, lobby), "ben")).to_have_count(0)
    ann.screenshot("room-ann-sees-ben-leave")

    # The portal navigation stays usable on the chat page (nothing covers it).
    nav = ann.page.locator("nav")
    for name in ("ChatBoard", "Chat", "Password", "Log out"):
        nav.get_by_role("link", name=name, exact=True).click(trial=True)

    # Nothing but the portal and Prosody was contacted.
    for person in (ann, ben, laptop):
        assert person.hosts() <= allowed_hosts(live_server, xmpp_server), person.requests


def test_logged_out_visitor_to_chat_gets_the_login_page(live_server, open_browser):
    visitor = open_browser("visitor")
    visitor.page.goto(f"{live_server.url}/chat/?room=lobby")
    expect(visitor.page).to_have_url(
        f"{live_server.url}/accounts/login/?next=/chat/%3Froom%3Dlobby"
    )
    expect(visitor.page.locator("input[name=login]")).to_be_visible()
    expect(visitor.page.locator("converse-root")).to_have_count(0)
    visitor.screenshot("chat-anonymous-login-page")
    assert visitor.hosts() == {live_server.url.split("://", 1)[1]}


def test_portal_and_chat_speak_russian(live_server, xmpp_server, synced_db, open_browser):
    ivan = open_browser("ivan", locale="ru-RU")
    sign_up(ivan, live_server.url, "ivan")
    wait_until_provisioned(xmpp_server, "ivan")
    open_chat_page(ivan, f"{live_server.url}/chat/?room=chai")
    nav = ivan.page.locator("nav")
    expect(nav.get_by_role("link", name="Чат", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Выйти", exact=True)).to_be_visible()
    box = room(ivan, room_jid(xmpp_server, "chai"))
    expect(box.locator("textarea.chat-textarea")).to_have_attribute("placeholder", "Сообщение")
    expect(ivan.page.locator("converse-root")).to_have_attribute("lang", "ru")
    expect(ivan.page.locator("converse-rooms-list")).to_contain_text("Групповые чаты")
    ivan.screenshot("chat-in-russian")
    assert ivan.hosts() <= allowed_hosts(live_server, xmpp_server), ivan.requests


def credentials_requests(person) -> list[str]:
    return [url for url in person.requests if url.endswith("/chat/credentials")]


def test_failing_credentials_are_shown_once_with_a_retry(
    live_server, xmpp_server, synced_db, open_browser, settings
):
    cleo = open_browser("cleo")
    sign_up(cleo, live_server.url, "cleo")
    wait_until_provisioned(xmpp_server, "cleo")
    secret = settings.XMPP_TOKEN_SECRET
    settings.XMPP_TOKEN_SECRET = None  # the portal cannot mint tokens: a 500
    cleo.page.goto(f"{live_server.url}/chat/")
    status = cleo.page.locator("#chat-status")
    expect(status).to_contain_text("could not sign you in to the chat (error 500)")
    expect(cleo.page.locator("converse-root")).to_be_hidden()
    cleo.page.wait_for_timeout(5000)  # Converse alone would have retried twice by now
    assert len(credentials_requests(cleo)) == 1
    cleo.screenshot("chat-credentials-failed")
    # Converse's hidden login form fetched nothing from outside either.
    assert cleo.hosts() <= allowed_hosts(live_server, xmpp_server), cleo.requests

    settings.XMPP_TOKEN_SECRET = secret
    status.get_by_role("button", name="Try again").click()
    cleo.page.locator("converse-user-profile .username").wait_for()
    expect(status).to_be_hidden()
    assert len(credentials_requests(cleo)) == 2


def test_refused_login_is_shown_once_with_a_retry(
    live_server, xmpp_server, synced_db, open_browser, settings
):
    dora = open_browser("dora")
    sign_up(dora, live_server.url, "dora")
    wait_until_provisioned(xmpp_server, "dora")
    secret = settings.XMPP_TOKEN_SECRET
    settings.XMPP_TOKEN_SECRET = "a-secret-prosody-does-not-share-" * 2  # tokens it refuses
    dora.page.goto(f"{live_server.url}/chat/")
    status = dora.page.locator("#chat-status")
    expect(status).to_contain_text("The chat server refused the sign-in.")
    dora.page.wait_for_timeout(5000)
    assert len(credentials_requests(dora)) == 1
    assert len([url for url in dora.requests if url.endswith("/xmpp-websocket")]) == 1
    dora.screenshot("chat-login-refused")

    settings.XMPP_TOKEN_SECRET = secret
    status.get_by_role("button", name="Try again").click()
    dora.page.locator("converse-user-profile .username").wait_for()
    expect(status).to_be_hidden()


def test_portal_logout_ends_the_chat_session_and_clears_its_storage(
    live_server, xmpp_server, synced_db, open_browser
):
    eve, finn = open_browser("eve"), open_browser("finn")
    sign_up(eve, live_server.url, "eve")
    sign_up(finn, live_server.url, "finn")
    wait_until_provisioned(xmpp_server, "eve")
    wait_until_provisioned(xmpp_server, "finn")
    garden = room_jid(xmpp_server, "garden")
    open_chat_page(eve, f"{live_server.url}/chat/?room=garden")
    open_chat_page(finn, f"{live_server.url}/chat/?room=garden")
    expect(occupant(room(finn, garden), "eve")).to_be_visible()
    stored = eve.page.evaluate("async () => (await indexedDB.databases()).map(db => db.name)")
    assert stored, "Converse keeps the chat in IndexedDB while logged in"

    eve.page.locator("nav").get_by_role("link", name="Log out").click()
    # Eve's XMPP session ends at once, not after Prosody's hibernation timeout.
    expect(notification(room(finn, garden), "eve", "left")).to_be_visible(timeout=5000)
    # The chat page leaves for the logout page once the XMPP session is closed.
    eve.page.wait_for_url(f"{live_server.url}/accounts/logout/")
    eve.page.locator("main form button[type=submit]").click()
    eve.page.wait_for_url(f"{live_server.url}/")
    assert eve.page.evaluate("async () => (await indexedDB.databases()).length") == 0
    assert eve.page.evaluate("() => localStorage.length + sessionStorage.length") == 0

    eve.page.goto(f"{live_server.url}/chat/")
    expect(eve.page).to_have_url(f"{live_server.url}/accounts/login/?next=/chat/")
    eve.screenshot("chat-after-logout")


def test_logout_in_another_tab_closes_the_chat(live_server, xmpp_server, synced_db, open_browser):
    gus = open_browser("gus")
    sign_up(gus, live_server.url, "gus")
    wait_until_provisioned(xmpp_server, "gus")
    open_chat_page(gus, f"{live_server.url}/chat/")
    other_tab = gus.context.new_page()
    other_tab.goto(f"{live_server.url}/accounts/logout/")
    other_tab.locator("main form button[type=submit]").click()
    other_tab.wait_for_url(f"{live_server.url}/")
    status = gus.page.locator("#chat-status")
    expect(status).to_contain_text("You have logged out of the portal")
    expect(status.get_by_role("link", name="Log in")).to_be_visible()
    expect(gus.page.locator("converse-root")).to_be_hidden()


def test_lost_connection_is_retried_a_few_times_then_shown(
    live_server, xmpp_server, synced_db, open_browser
):
    hana = open_browser("hana")
    sign_up(hana, live_server.url, "hana")
    wait_until_provisioned(xmpp_server, "hana")
    open_chat_page(hana, f"{live_server.url}/chat/")

    def websockets():
        return len([url for url in hana.requests if url.endswith("/xmpp-websocket")])

    xmpp_server.stop()
    try:
        status = hana.page.locator("#chat-status")
        lost = "The connection to the chat server was lost."
        expect(status).to_contain_text(lost, timeout=20_000)
        attempts = websockets()
        hana.page.wait_for_timeout(5000)
        assert websockets() == attempts, "no more attempts once the failure is shown"
        assert attempts <= 1 + 3  # the session, then at most three reconnects
        hana.screenshot("chat-connection-lost")
    finally:
        xmpp_server.start()
    status.get_by_role("button", name="Try again").click()
    hana.page.locator("converse-user-profile .username").wait_for()
    expect(status).to_be_hidden()
