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
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["connect-src"][:2] == ["'self'", settings.XMPP_WEBSOCKET_URL]
    # Development: the chat connects to Prosody's own port on this machine.
    if settings.XMPP_WEBSOCKET_URL.startswith("ws://"):
        assert "ws://localhost:*" in csp["connect-src"]
