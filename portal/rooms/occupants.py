"""Who is in a room now, as a viewer of the room's page may see it.

Real addresses follow the room's own rule (XEP-0045 semi-anonymous rooms show
them to moderators only), so the portal never reveals more than a client in the
room would see.
"""

from dataclasses import dataclass

from django.conf import settings

from rooms.models import Room


@dataclass(frozen=True)
class Occupant:
    nick: str
    jid: str | None  # None when the viewer may not see real addresses
    username: str | None  # set for people of this server: their profile page


def visible_occupants(room: Room, viewer_kind: str | None) -> list[Occupant]:
    shows_jids = room.real_jids_visible_to == Room.RealJids.ANYONE or viewer_kind in (
        "owner",
        "admin",
    )
    local_suffix = f"@{settings.XMPP_DOMAIN}"
    occupants = []
    for nick, jid in room.occupants:
        if not shows_jids:
            occupants.append(Occupant(nick, None, None))
            continue
        username = jid[: -len(local_suffix)] if jid.endswith(local_suffix) else None
        occupants.append(Occupant(nick, jid, username))
    return occupants
