"""The one module that talks to Prosody on the bridge's behalf.

Every operation is idempotent (create-if-missing, set-to-value): replaying an
outbox row or reconciling twice does no harm.
"""

from dataclasses import dataclass

from slixmpp import Iq
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

from bridge.component import BridgeComponent

ACCOUNTS_NS = "urn:chatboard:accounts:0"


class ProsodyError(Exception):
    """Prosody refused or did not answer an operation."""


@dataclass(frozen=True)
class AccountRecord:
    username: str
    fingerprint: str


class ProsodyAccounts:
    def __init__(self, component: BridgeComponent):
        self.component = component
        self.host = component.config.domain
        self.timeout = component.config.iq_timeout

    async def _send(self, kind: str, element: ET.Element) -> Iq:
        iq = self.component.make_iq(ito=self.host, ifrom=self.component.boundjid.full, itype=kind)
        iq.append(element)
        try:
            return await iq.send(timeout=self.timeout)
        except IqError as error:
            text = error.iq["error"]["text"] or error.iq["error"]["condition"]
            raise ProsodyError(f"{element.tag}: {text}") from None
        except IqTimeout:
            raise ProsodyError(f"{element.tag}: no answer from Prosody") from None

    async def set_account(self, state) -> bool:
        """Create or update an account to exactly these credentials; True if changed."""
        element = ET.Element(
            f"{{{ACCOUNTS_NS}}}account",
            {
                "username": state.username,
                "salt": state.salt,
                "iterations": str(state.iterations),
                "stored-key": state.stored_key,
                "server-key": state.server_key,
                "active": "true" if state.active else "false",
            },
        )
        reply = await self._send("set", element)
        return _changed(reply)

    async def delete_account(self, username: str) -> bool:
        element = ET.Element(f"{{{ACCOUNTS_NS}}}delete", {"username": username})
        return _changed(await self._send("set", element))

    async def list_accounts(self) -> dict[str, str]:
        reply = await self._send("get", ET.Element(f"{{{ACCOUNTS_NS}}}list"))
        listing = reply.xml.find(f"{{{ACCOUNTS_NS}}}list")
        if listing is None:
            raise ProsodyError("list: malformed answer")
        return {
            item.get("username"): item.get("fingerprint")
            for item in listing.findall(f"{{{ACCOUNTS_NS}}}account")
        }


def _changed(reply: Iq) -> bool:
    done = reply.xml.find(f"{{{ACCOUNTS_NS}}}done")
    return done is not None and done.get("changed") == "true"


ROOMS_NS = "urn:chatboard:rooms:0"


@dataclass(frozen=True)
class ProsodyRoom:
    """A room as Prosody reports it: its state, or a tombstone left by destruction."""

    slug: str
    state: object | None  # rooms.xmpp_state.RoomState; None for a tombstone
    destroyed_at: float | None = None
    occupants: int = 0


def _flag(element: ET.Element, name: str) -> bool:
    return element.get(name) == "true"


def parse_room(element: ET.Element) -> ProsodyRoom:
    """A <room/> of urn:chatboard:rooms:0 (list answers and events) as a ProsodyRoom."""
    from rooms.xmpp_state import RoomState

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
    return ProsodyRoom(slug, state, occupants=int(element.get("occupants") or 0))


class ProsodyRooms:
    """MUC rooms, through mod_chatboard_rooms on the MUC component."""

    def __init__(self, component: BridgeComponent):
        self.component = component
        self.host = component.config.muc_domain
        self.timeout = component.config.iq_timeout

    async def _send(self, kind: str, element: ET.Element) -> Iq:
        iq = self.component.make_iq(ito=self.host, ifrom=self.component.boundjid.full, itype=kind)
        iq.append(element)
        try:
            return await iq.send(timeout=self.timeout)
        except IqError as error:
            text = error.iq["error"]["text"] or error.iq["error"]["condition"]
            raise ProsodyError(f"room {element.get('jid') or element.tag}: {text}") from None
        except IqTimeout:
            raise ProsodyError(f"room {element.tag}: no answer from Prosody") from None

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
        return _rooms_changed(await self._send("set", element))

    async def destroy_room(self, jid: str, reason: str) -> bool:
        element = ET.Element(f"{{{ROOMS_NS}}}destroy", {"jid": jid})
        ET.SubElement(element, f"{{{ROOMS_NS}}}reason").text = reason
        return _rooms_changed(await self._send("set", element))

    async def list_rooms(self) -> dict[str, ProsodyRoom]:
        reply = await self._send("get", ET.Element(f"{{{ROOMS_NS}}}list"))
        listing = reply.xml.find(f"{{{ROOMS_NS}}}list")
        if listing is None:
            raise ProsodyError("room list: malformed answer")
        rooms = (parse_room(item) for item in listing.findall(f"{{{ROOMS_NS}}}room"))
        return {room.slug: room for room in rooms}


def _rooms_changed(reply: Iq) -> bool:
    done = reply.xml.find(f"{{{ROOMS_NS}}}done")
    return done is not None and done.get("changed") == "true"
