"""Profiles: vCards, avatars and nicknames, on the user's behalf (XEP-0356)."""

import asyncio
import base64
import binascii
import uuid
from dataclasses import dataclass

from slixmpp.xmlstream import ET

from bridge.component import BridgeComponent
from bridge.prosody.channel import ProsodyError, send_iq

PRIVILEGE_NS = "urn:xmpp:privilege:2"
FORWARD_NS = "urn:xmpp:forward:0"
CLIENT_NS = "jabber:client"
PUBSUB_NS = "http://jabber.org/protocol/pubsub"
PUBSUB_OWNER_NS = "http://jabber.org/protocol/pubsub#owner"
DATAFORM_NS = "jabber:x:data"
VCARD_TEMP_NS = "vcard-temp"
VCARD4_NS = "urn:ietf:params:xml:ns:vcard-4.0"
VCARD4_NODE = "urn:xmpp:vcard4"
AVATAR_DATA_NODE = "urn:xmpp:avatar:data"
AVATAR_METADATA_NODE = "urn:xmpp:avatar:metadata"
NICK_NODE = "http://jabber.org/protocol/nick"
# vcard-temp fields the portal owns; any other field a client set is kept.
OWNED_VCARD_FIELDS = ("FN", "NICKNAME", "DESC", "NOTE", "PHOTO")


class InnerIqError(ProsodyError):
    """The IQ sent on a user's behalf was refused; `condition` says why."""

    def __init__(self, message: str, condition: str):
        super().__init__(message)
        self.condition = condition


@dataclass(frozen=True)
class ProfileRecord:
    """A profile as Prosody holds it: what other people's clients see."""

    name: str = ""  # vCard FN
    nickname: str = ""  # vCard NICKNAME
    about: str = ""  # vCard NOTE (DESC in vcard-temp)
    nick: str = ""  # XEP-0172 nickname
    avatar_id: str = ""  # XEP-0084: SHA-1 of the image
    avatar_type: str = ""


@dataclass(frozen=True)
class AvatarRecord:
    data: bytes
    content_type: str


class ProsodyProfiles:
    """Reads and writes people's profiles as they would themselves, through
    mod_privilege (XEP-0356): the component wraps an IQ from the user's bare
    JID, which is also how mod_chatboard_profiles tells our writes apart.
    The wrapping is done here rather than by slixmpp's xep_0356 plugin so that
    every failure, the wrapped IQ's own included, becomes a ProsodyError."""

    def __init__(self, component: BridgeComponent):
        self.component = component

    async def _as_user(self, username: str, kind: str, payload: ET.Element) -> ET.Element | None:
        """Send `payload` in an IQ from <username>; return the answer's payload."""
        user = self.component.config.addresses.person(username)
        inner = ET.Element(
            f"{{{CLIENT_NS}}}iq", {"type": kind, "id": uuid.uuid4().hex, "from": user, "to": user}
        )
        inner.append(payload)
        privileged = ET.Element(f"{{{PRIVILEGE_NS}}}privileged_iq")
        privileged.append(inner)
        what = f"{payload.tag} as {username}"
        reply = await send_iq(self.component, user, kind, privileged, what)
        answer = reply.xml.find(
            f"{{{PRIVILEGE_NS}}}privilege/{{{FORWARD_NS}}}forwarded/{{{CLIENT_NS}}}iq"
        )
        if answer is None:
            raise ProsodyError(f"{what}: malformed answer")
        if answer.get("type") == "error":
            error = answer.find(f"{{{CLIENT_NS}}}error")
            conditions = [
                child.tag.split("}")[-1] for child in (error if error is not None else [])
            ]
            condition = next((c for c in conditions if c != "text"), "undefined-condition")
            raise InnerIqError(f"{what}: {condition}", condition)
        payloads = [child for child in answer if child.tag != f"{{{CLIENT_NS}}}error"]
        return payloads[0] if payloads else None

    async def _last_item(self, username: str, node: str, item_id: str | None = None):
        """The payload of a PEP node's last item (or the named one); None if absent."""
        pubsub = ET.Element(f"{{{PUBSUB_NS}}}pubsub")
        items = ET.SubElement(pubsub, f"{{{PUBSUB_NS}}}items", {"node": node})
        if item_id:
            ET.SubElement(items, f"{{{PUBSUB_NS}}}item", {"id": item_id})
        else:
            items.set("max_items", "1")
        try:
            answer = await self._as_user(username, "get", pubsub)
        except InnerIqError as error:
            if error.condition == "item-not-found":
                return None  # no such node
            raise
        item = None if answer is None else answer.find(f"{{{PUBSUB_NS}}}items/{{{PUBSUB_NS}}}item")
        return None if item is None or not len(item) else item[0]

    async def read_profile(self, username: str) -> ProfileRecord:
        vcard, nick, metadata = await asyncio.gather(
            self._last_item(username, VCARD4_NODE),
            self._last_item(username, NICK_NODE),
            self._last_item(username, AVATAR_METADATA_NODE),
        )
        info = None if metadata is None else metadata.find("{urn:xmpp:avatar:metadata}info")
        return ProfileRecord(
            name=_vcard4_text(vcard, "fn"),
            nickname=_vcard4_text(vcard, "nickname"),
            about=_vcard4_text(vcard, "note"),
            nick=(nick.text or "").strip() if nick is not None else "",
            avatar_id=info.get("id", "") if info is not None else "",
            avatar_type=info.get("type", "") if info is not None else "",
        )

    async def read_avatar(self, username: str, avatar_id: str) -> AvatarRecord | None:
        metadata = await self._last_item(username, AVATAR_METADATA_NODE)
        info = None if metadata is None else metadata.find("{urn:xmpp:avatar:metadata}info")
        if info is None or info.get("id") != avatar_id:
            return None
        data = await self._last_item(username, AVATAR_DATA_NODE, avatar_id)
        if data is None or not data.text:
            return None
        try:
            raw = base64.b64decode(data.text, validate=False)
        except binascii.Error:
            return None
        return AvatarRecord(raw, info.get("type", ""))

    async def set_vcard(
        self, username: str, *, name: str, about: str, avatar: AvatarRecord | None
    ) -> None:
        """Set the portal's fields of the vcard-temp, keeping any others. With
        mod_vcard_legacy this also (re)publishes or removes the XEP-0084 avatar."""
        current = await self._as_user(username, "get", ET.Element(f"{{{VCARD_TEMP_NS}}}vCard"))
        vcard = ET.Element(f"{{{VCARD_TEMP_NS}}}vCard")
        for field in list(current) if current is not None else []:
            if field.tag.split("}")[-1] not in OWNED_VCARD_FIELDS:
                vcard.append(field)
        for tag, text in (("FN", name), ("NICKNAME", name), ("DESC", about)):
            if text:
                ET.SubElement(vcard, f"{{{VCARD_TEMP_NS}}}{tag}").text = text
        if avatar:
            photo = ET.SubElement(vcard, f"{{{VCARD_TEMP_NS}}}PHOTO")
            ET.SubElement(photo, f"{{{VCARD_TEMP_NS}}}TYPE").text = avatar.content_type
            binval = ET.SubElement(photo, f"{{{VCARD_TEMP_NS}}}BINVAL")
            binval.text = base64.b64encode(avatar.data).decode()
        await self._as_user(username, "set", vcard)

    async def set_nick(self, username: str, nick: str) -> None:
        """Publish the XEP-0172 nickname, or clear the node when there is none."""
        if nick:
            pubsub = ET.Element(f"{{{PUBSUB_NS}}}pubsub")
            publish = ET.SubElement(pubsub, f"{{{PUBSUB_NS}}}publish", {"node": NICK_NODE})
            item = ET.SubElement(publish, f"{{{PUBSUB_NS}}}item", {"id": "current"})
            ET.SubElement(item, f"{{{NICK_NODE}}}nick").text = nick
            await self._as_user(username, "set", pubsub)
            return
        pubsub = ET.Element(f"{{{PUBSUB_OWNER_NS}}}pubsub")
        ET.SubElement(pubsub, f"{{{PUBSUB_OWNER_NS}}}purge", {"node": NICK_NODE})
        try:
            await self._as_user(username, "set", pubsub)
        except InnerIqError as error:
            if error.condition != "item-not-found":  # no node: nothing to clear
                raise

    async def open_node(self, username: str, node: str) -> bool:
        """Make a PEP node readable by everyone on the server; True if it changed."""
        pubsub = ET.Element(f"{{{PUBSUB_OWNER_NS}}}pubsub")
        ET.SubElement(pubsub, f"{{{PUBSUB_OWNER_NS}}}configure", {"node": node})
        try:
            answer = await self._as_user(username, "get", pubsub)
        except InnerIqError as error:
            if error.condition == "item-not-found":
                return False  # no such node
            raise
        access = None
        for field in answer.iter(f"{{{DATAFORM_NS}}}field") if answer is not None else []:
            if field.get("var") == "pubsub#access_model":
                access = field.findtext(f"{{{DATAFORM_NS}}}value")
        if access == "open":
            return False
        pubsub = ET.Element(f"{{{PUBSUB_OWNER_NS}}}pubsub")
        configure = ET.SubElement(pubsub, f"{{{PUBSUB_OWNER_NS}}}configure", {"node": node})
        form = ET.SubElement(configure, f"{{{DATAFORM_NS}}}x", {"type": "submit"})
        for var, value in (
            ("FORM_TYPE", "http://jabber.org/protocol/pubsub#node_config"),
            ("pubsub#access_model", "open"),
        ):
            field = ET.SubElement(form, f"{{{DATAFORM_NS}}}field", {"var": var})
            ET.SubElement(field, f"{{{DATAFORM_NS}}}value").text = value
        await self._as_user(username, "set", pubsub)
        return True


def _vcard4_text(vcard: ET.Element | None, field: str) -> str:
    if vcard is None:
        return ""
    text = vcard.findtext(f"{{{VCARD4_NS}}}{field}/{{{VCARD4_NS}}}text")
    return (text or "").strip()
