"""Every page carries a Content-Security-Policy that admits the web chat (scripts,
styles, images, sounds and its XMPP websocket) and nothing from elsewhere."""

import pytest


def policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split("; ")}


@pytest.mark.django_db
def test_pages_admit_only_this_origin_and_the_chat_websocket(client, settings):
    csp = policy(client.get("/accounts/login/"))

    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"] == ["'self'", *settings.CHAT_WEBSOCKET_SOURCES]


@pytest.mark.django_db
def test_in_development_the_chat_may_reach_prosody_on_whatever_port_it_has(client, settings):
    # make run / make test: no XMPP_WEBSOCKET_URL, Prosody on this machine.
    if settings.XMPP_WEBSOCKET_URL:
        pytest.skip("XMPP_WEBSOCKET_URL is set in this environment")
    assert [f"ws://{settings.PROSODY_HOST}:*"] == settings.CHAT_WEBSOCKET_SOURCES
