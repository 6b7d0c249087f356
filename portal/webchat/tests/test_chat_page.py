"""The chat page as the portal serves it: who may open it, what Converse is told,
deep links, languages and logout. The browser side is in tests/test_webchat.py."""

import html
import json
import re
from types import SimpleNamespace

import pytest
from django.test import Client

from portal.webchat.converse_settings import nickname
from tests.people import sign_up

pytestmark = pytest.mark.django_db


def json_script(response, element_id: str) -> dict:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, f"no #{element_id} on the page"
    return json.loads(html.unescape(match.group(1)))


def test_anonymous_visitor_is_sent_to_the_login_page():
    response = Client().get("/chat/?room=lobby")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/chat/%3Froom%3Dlobby"


def test_chat_logs_in_as_the_person_with_a_token_from_the_portal(settings):
    settings.PROSODY_HTTP_PORT = 15280
    client = sign_up("nadia")
    response = client.get("/chat/")
    assert response.status_code == 200
    converse = json_script(response, "converse-settings")
    page = json_script(response, "chat-page-settings")
    assert converse["jid"] == "nadia@localhost"
    assert converse["authentication"] == "login"
    assert "credentials_url" not in converse  # the page fetches tokens itself, once per try
    assert page["credentials_url"] == "/chat/credentials"
    assert converse["websocket_url"] == "ws://127.0.0.1:15280/xmpp-websocket"
    assert converse["discover_connection_methods"] is False
    assert converse["view_mode"] == "fullscreen"
    assert converse["allow_non_roster_messaging"] is True
    assert converse["clear_cache_on_logout"] is True
    assert converse["nickname"] == "nadia"
    assert converse["muc_domain"] == "conference.localhost"
    assert page["target"] is None


def test_websocket_behind_the_portal_uses_the_pages_own_origin(settings):
    settings.XMPP_WEBSOCKET_URL = "/xmpp-websocket"
    client = sign_up("olga")
    converse = json_script(client.get("/chat/", secure=True), "converse-settings")
    assert converse["websocket_url"] == "wss://testserver/xmpp-websocket"


def test_room_nickname_is_the_display_name_else_the_username():
    assert nickname(SimpleNamespace(username="petr")) == "petr"
    with_name = SimpleNamespace(username="petr", profile=SimpleNamespace(name=" Pyotr I. "))
    assert nickname(with_name) == "Pyotr I."
    blank = SimpleNamespace(username="petr", profile=SimpleNamespace(name=""))
    assert nickname(blank) == "petr"


def test_room_link_opens_that_room():
    page = json_script(sign_up("rita").get("/chat/?room=Tea-Room"), "chat-page-settings")
    assert page["target"] == {"kind": "room", "jid": "tea-room@conference.localhost"}


def test_person_link_opens_a_one_to_one_chat():
    page = json_script(sign_up("sasha").get("/chat/?with=Rita"), "chat-page-settings")
    assert page["target"] == {"kind": "person", "jid": "rita@localhost"}


@pytest.mark.parametrize(
    "query", ["room=<script>alert(1)</script>", "room=a@b", "with=x", "with=bad%20name"]
)
def test_malformed_link_is_refused_and_said_so(query):
    response = sign_up("tanya").get(f"/chat/?{query}")
    assert response.status_code == 200
    assert json_script(response, "chat-page-settings")["target"] is None
    assert "That chat link is not valid." in response.content.decode()
    assert "<script>alert" not in response.content.decode()


def test_navigation_links_to_the_chat_for_people_logged_in():
    assert b'<a href="/chat/">Chat</a>' in sign_up("uma").get("/").content
    assert b'href="/chat/"' not in Client().get("/").content


def test_russian_browser_gets_the_portal_and_the_chat_in_russian():
    client = sign_up("vera")
    response = client.get("/chat/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")
    content = response.content.decode()
    assert '<html lang="ru">' in content
    assert '<a href="/chat/">Чат</a>' in content
    assert "Выйти" in content
    assert json_script(response, "converse-settings")["i18n"] == "ru"
    assert json_script(response, "chat-texts")["login_refused"] == "Сервер чата отклонил вход."


def test_language_switcher_overrides_the_browser():
    client = sign_up("zoya")
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/chat/"})
    assert response.status_code == 302
    response = client.get("/chat/", HTTP_ACCEPT_LANGUAGE="en")
    assert json_script(response, "converse-settings")["i18n"] == "ru"
    assert "Выйти" in response.content.decode()


def test_logout_tells_the_browser_to_drop_the_chats_stored_data():
    client = sign_up("yana")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"storage"'
    assert client.get("/chat/").status_code == 302
