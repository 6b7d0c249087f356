"""Short-lived web-chat tokens that Prosody accepts as a user's password.

Format: ``cbt1.<expiry unix seconds>.<hex HMAC-SHA256(secret, "<jid>.<expiry>")>``.
mod_auth_chatboard (xmpp/modules) verifies the same construction with the same
shared secret; the username is bound through the JID inside the MAC.
"""

import hashlib
import hmac
import time

from django.conf import settings

PREFIX = "cbt1"


def mint_token(jid: str, now: float | None = None) -> str:
    expiry = int(now if now is not None else time.time()) + settings.XMPP_TOKEN_LIFETIME
    mac = hmac.new(
        settings.XMPP_TOKEN_SECRET.encode(), f"{jid}.{expiry}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{PREFIX}.{expiry}.{mac}"
