"""MUC rooms, through mod_chatboard_rooms on the MUC component."""

from dataclasses import dataclass

from slixmpp import Iq
from slixmpp.xmlstream import ET

from bridge.component import BridgeComponent
from bridge.prosody.channel import ProsodyError, changed, send_iq

ROOMS_NS = "urn:chatboard:rooms:0"


@dataclass(frozen=True)
class ProsodyRoom:
    """A room as Prosody reports it: its state, or a tombstone left by destruction."""

    slug: str
    state: object | None  # rooms.xmpp_state.RoomState; None for a tombstone
    destroyed_at: float | None = None
    occupants: int = 0
    # Who is in the room now: (nickname, real bare JID, role).
    present: tuple[tuple[str, str, str], ...] = ()


def _flag(element: ET.Element, name: str) -> bool:
    return element.get(name) == "true"


def parse_room(element: ET.Element) -> ProsodyRoom:
    """A <room/> of urn:chatboard:rooms:0 (list answers and events) as a ProsodyRoom."""
    from portal.rooms.xmpp_state import RoomState

    slug = (element.get("jid") or "").partition("@")[0]
    if element.get("destroyed") == "true":
        return ProsodyRoom(slug, None, float(element.get("destroyed-at") or 0))

    def text(name):
        return element.findtext(f"{{{ROOMS_NS}}}{name}") or ""

    affiliations = frozenset(
        (item.get("jid"), item.get("affiliation"))
        for item in element.findall(f"{{{ROOMS_NS}}}affiliation")
    )
    state = RoomState(
        slug=slug,
        name=text("name"),
        description=text("description"),
        public=_flag(element, "public"),
        members_only=_flag(element, "members-only"),
        password=text("password"),
        persistent=_flag(element, "persistent"),
        archiving=_flag(element, "archiving"),
        whois=element.get("whois") or "moderators",
        affiliations=affiliations,
    )
    return ProsodyRoom(
        slug, state, occupants=int(element.get("occupants") or 0), present=parse_occupants(element)
    )


def parse_occupants(element: ET.Element) -> tuple[tuple[str, str, str], ...]:
    """(nickname, real bare JID, role) of everyone in the room."""
    return tuple(
        (item.get("nick") or "", item.get("jid") or "", item.get("role") or "participant")
        for item in element.findall(f"{{{ROOMS_NS}}}occupant")
    )


class ProsodyRooms:
    """MUC rooms, through mod_chatboard_rooms on the MUC component."""

    def __init__(self, component: BridgeComponent):
        self.component = component
        self.host = component.config.muc_domain

    async def _send(self, kind: str, element: ET.Element) -> Iq:
        what = f"room {element.get('jid') or element.tag}"
        return await send_iq(self.component, self.host, kind, element, what)

    async def set_room(self, state) -> bool:
        """Create the room if missing and give it exactly this configuration; True if changed."""
        flags = {
            "public": state.public,
            "members-only": state.members_only,
            "persistent": state.persistent,
            "archiving": state.archiving,
        }
        attrs = {name: "true" if value else "false" for name, value in flags.items()}
        element = ET.Element(
            f"{{{ROOMS_NS}}}room", {"jid": state.jid, "whois": state.whois, **attrs}
        )
        for name in ("name", "description", "password"):
            if getattr(state, name):
                ET.SubElement(element, f"{{{ROOMS_NS}}}{name}").text = getattr(state, name)
        for jid, affiliation in sorted(state.affiliations):
            ET.SubElement(
                element, f"{{{ROOMS_NS}}}affiliation", {"jid": jid, "affiliation": affiliation}
            )
        return changed(await self._send("set", element), ROOMS_NS)

    async def destroy_room(self, jid: str, reason: str) -> bool:
        element = ET.Element(f"{{{ROOMS_NS}}}destroy", {"jid": jid})
        ET.SubElement(element, f"{{{ROOMS_NS}}}reason").text = reason
        return changed(await self._send("set", element), ROOMS_NS)

    async def set_role(self, request) -> bool:
        """Give everyone at the request's JID the role in the room (none: kicked)."""
        element = ET.Element(
            f"{{{ROOMS_NS}}}role",
            {"room": request.room_jid, "jid": request.jid, "role": request.role},
        )
        if request.reason:
            ET.SubElement(element, f"{{{ROOMS_NS}}}reason").text = request.reason
        what = f"role of {request.jid} in {request.room_jid}"
        return changed(await send_iq(self.component, self.host, "set", element, what), ROOMS_NS)

    async def list_rooms(self) -> dict[str, ProsodyRoom]:
        reply = await self._send("get", ET.Element(f"{{{ROOMS_NS}}}list"))
        listing = reply.xml.find(f"{{{ROOMS_NS}}}list")
        if listing is None:
            raise ProsodyError("room list: malformed answer")
        rooms = (parse_room(item) for item in listing.findall(f"{{{ROOMS_NS}}}room"))
        return {room.slug: room for room in rooms}
