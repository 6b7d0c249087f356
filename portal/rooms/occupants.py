"""Who is in a room now, as a viewer of the room's page may see it.

Real addresses follow the room's own rule (XEP-0045 semi-anonymous rooms show
them to moderators only), so the portal never reveals more than a client in the
room would see. Each entry of Room.occupants is [nickname, real bare JID, role]
(older rows have no role).
"""

from dataclasses import dataclass

from django.conf import settings

from portal.rooms.models import Room


@dataclass(frozen=True)
class Occupant:
    nick: str
    jid: str | None  # None when the viewer may not see real addresses
    username: str | None  # set for people of this server: their profile page
    role: str = "participant"


def visible_occupants(room: Room, viewer_is_moderator: bool) -> list[Occupant]:
    shows_jids = room.real_jids_visible_to == Room.RealJids.ANYONE or viewer_is_moderator
    occupants = []
    for nick, jid, *rest in room.occupants:
        role = rest[0] if rest else "participant"
        if not shows_jids:
            occupants.append(Occupant(nick, None, None, role))
            continue
        username = settings.XMPP_ADDRESSES.local_username(jid)
        occupants.append(Occupant(nick, jid, username, role))
    return occupants
