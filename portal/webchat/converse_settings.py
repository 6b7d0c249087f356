"""The settings Converse.js starts with on a person's chat page.

Converse logs in with a short-lived token from /chat/credentials; the page's
own script fetches it once per login attempt (see static/webchat/chat.js), so
Converse never polls that URL by itself.
"""

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from portal.webchat import converse_dist
from portal.webchat.targets import ChatTarget


def nickname(user) -> str:
    """What a person is called in rooms: the profile's display name, else the username."""
    profile = getattr(user, "profile", None)  # the profiles app, once it exists
    name = (getattr(profile, "name", "") or "").strip()
    return name or user.username


def websocket_url(request) -> str:
    configured = settings.XMPP_WEBSOCKET_URL
    if configured.startswith("/"):
        scheme = "wss" if request.is_secure() else "ws"
        return f"{scheme}://{request.get_host()}{configured}"
    if configured:
        return configured
    return f"ws://{settings.PROSODY_HOST}:{settings.PROSODY_HTTP_PORT}/xmpp-websocket"


def converse_language(request) -> str:
    """Converse's locale for the portal's current language (both use 'ru', 'en')."""
    return getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE).split("-")[0]


def converse_settings(request) -> dict:
    return {
        "assets_path": static(f"{converse_dist.static_dir()}/"),
        "authentication": "login",
        "jid": request.user.jid,  # the token for it comes from /chat/credentials
        "auto_login": True,
        "auto_reconnect": True,
        "websocket_url": websocket_url(request),
        "discover_connection_methods": False,
        "view_mode": "fullscreen",
        "i18n": converse_language(request),
        "muc_domain": settings.XMPP_MUC_DOMAIN,
        "locked_muc_domain": False,
        "nickname": nickname(request.user),
        "muc_nickname_from_jid": False,
        "auto_register_muc_nickname": False,
        "allow_non_roster_messaging": True,
        "allow_logout": False,  # the portal's "Log out" ends the chat too
        "reuse_scram_keys": False,  # tokens expire; never keep login material around
        "persistent_store": "IndexedDB",
        "clear_cache_on_logout": True,
        "muc_show_logs_before_join": True,
        "play_sounds": True,
        "show_client_info": False,
        "show_connection_url_input": False,
        "loglevel": "error",
        # OMEMO would load a wasm crypto library; registration is the portal's job.
        "blacklisted_plugins": ["converse-omemo", "converse-register"],
    }


def page_settings(request, target: ChatTarget | None) -> dict:
    """What the page's own script needs besides Converse's settings."""
    return {
        "credentials_url": reverse("chat-credentials"),
        "logout_url": reverse("account_logout"),
        "username": request.user.username,
        "target": {"kind": target.kind, "jid": target.jid} if target else None,
    }
