"""Deep links into the chat: ``/chat/?room=<slug>`` and ``/chat/?with=<username>``.

Only a syntactically valid room slug or username becomes a JID; anything else
is refused before it reaches the page's JavaScript.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from portal.accounts.usernames import normalize_username, validate_username_format
from portal.rooms.models import validate_slug_format

ROOM, PERSON = "room", "person"


class InvalidTarget(ValueError):
    """A deep link naming something that cannot be a room or a person."""


@dataclass(frozen=True)
class ChatTarget:
    kind: str  # ROOM or PERSON
    jid: str


def room_jid(slug: str) -> str:
    return settings.XMPP_ADDRESSES.room(slug)


def person_jid(username: str) -> str:
    return settings.XMPP_ADDRESSES.person(username)


def target_from_query(query) -> ChatTarget | None:
    """The chat a deep link asks to open, or None; InvalidTarget for a bad one."""
    if slug := query.get("room", "").strip().lower():
        try:
            validate_slug_format(slug)  # the rooms' own rule: a-z 0-9 . _ -
        except ValidationError:
            raise InvalidTarget(slug) from None
        return ChatTarget(ROOM, room_jid(slug))
    if username := normalize_username(query.get("with", "")):
        try:
            validate_username_format(username)
        except ValidationError:
            raise InvalidTarget(username) from None
        return ChatTarget(PERSON, person_jid(username))
    return None
