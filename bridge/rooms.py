"""Rooms: make Prosody's MUC rooms match the portal, and tell the portal what
XMPP clients did to rooms.

Portal -> Prosody: `apply(slug)` (the outbox rows of Topic.ROOM) sends the
room's whole desired state, or destroys it; `reconcile()` repairs drift.
Prosody -> portal: mod_chatboard_rooms sends messages for rooms created,
configured or destroyed by clients, for occupants, and for messages moderators
removed (for the audit log); they are applied in arrival order through the
portal's `*_in_prosody` actions, which write no outbox row, so nothing is
echoed back. Kicks, voice and moderator roles: bridge/occupants.py.

Who wins when both sides changed a room: the portal while its own change waits
in the outbox; otherwise the last change. The reconciler imports rooms it has
never seen from Prosody, takes a tombstone newer than the portal's room as a
destruction made from a client, and drops temporary rooms Prosody no longer
has; any other difference is repaired towards the portal.
"""

import asyncio
import logging
from dataclasses import dataclass, field

from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from bridge.config import BridgeConfig
from bridge.portal import (
    AffiliationChange,
    MessageModeration,
    Portal,
    RoomState,
    RoomSyncState,
    Topic,
)
from bridge.prosody import ROOMS_NS, ProsodyRoom, ProsodyRooms, parse_occupants, parse_room

log = logging.getLogger(__name__)

DELETED_REASON = "This room was deleted."


@dataclass
class RoomsReport:
    created_or_updated: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    removed_from_portal: list[str] = field(default_factory=list)


class RoomSync:
    topic = Topic.ROOM

    def __init__(self, portal: Portal, prosody: ProsodyRooms, config: BridgeConfig):
        self.portal = portal
        self.prosody = prosody
        self.config = config
        self.events: asyncio.Queue[ET.Element] = asyncio.Queue()
        self._connected_before = False
        component = prosody.component
        for tag in ("room", "destroyed", "occupants", "message-moderated"):
            # slixmpp's "message" event only covers messages with a body.
            path = f"{{{component.default_ns}}}message/{{{ROOMS_NS}}}{tag}"
            component.register_handler(Callback(f"rooms-{tag}", MatchXPath(path), self._on_message))
        component.add_event_handler("session_start", self._on_session_start)

    # ---------- portal -> Prosody ----------

    async def apply(self, slug: str) -> None:
        state = await self.portal.desired_room(slug)
        if state is None:
            await self.prosody.destroy_room(self.config.addresses.room(slug), DELETED_REASON)
        else:
            await self.prosody.set_room(state)

    async def reconcile(self) -> RoomsReport:
        report = RoomsReport()
        desired = await self.portal.desired_rooms()
        sync_states = await self.portal.room_sync_states()
        actual = await self.prosody.list_rooms()
        addresses = self.config.addresses
        for slug, state in desired.items():
            sync_state = sync_states.get(slug)
            if sync_state is None or sync_state.pending:
                continue  # the outbox is about to apply it
            room = actual.get(slug)
            if _gone_from_prosody(state, room, sync_state):
                if await self.portal.room_gone_from_prosody(slug):
                    report.removed_from_portal.append(slug)
            elif room is None or room.state is None or not room.state.holds(state, addresses):
                # Read again: the portal may have changed it since the listing.
                fresh = await self.portal.desired_room(slug)
                if fresh is not None:
                    await self.prosody.set_room(fresh)
                    report.created_or_updated.append(slug)
        for slug in actual.keys() - desired.keys():
            room = actual[slug]
            if room.state is None:
                continue  # a tombstone
            if await self.portal.room_changed_in_prosody(room.state) != "skipped":
                report.imported.append(slug)
        present = {slug: room.present for slug, room in actual.items() if room.state}
        await self.portal.set_occupants(present)
        return report

    # ---------- Prosody -> portal ----------

    def _on_message(self, message) -> None:
        if message["from"].bare != self.config.muc_domain:
            return
        for child in message.xml:
            if child.tag.startswith(f"{{{ROOMS_NS}}}"):
                self.events.put_nowait(child)

    def _on_session_start(self, _event) -> None:
        # Events sent while the bridge was away are lost: catch up on reconnecting
        # (the Reconciler covers the first connection).
        if self._connected_before:
            asyncio.ensure_future(self._reconcile_quietly())
        self._connected_before = True

    async def _reconcile_quietly(self) -> None:
        try:
            log.info("rooms reconciled after connecting: %s", await self.reconcile())
        except Exception:
            log.exception("rooms reconcile after connecting failed")

    async def run(self) -> None:
        """Apply events from Prosody one at a time, in the order they came."""
        while True:
            element = await self.events.get()
            try:
                await self.handle_event(element)
            except Exception:
                log.exception("room event failed: %s", element)

    async def handle_event(self, element: ET.Element) -> None:
        kind = element.tag.partition("}")[2]
        if kind == "room" and element.get("event") == "changed":
            room = parse_room(element)
            if room.state is None:
                log.warning("room event without the room's state: %s", element)
                return
            changes = [
                AffiliationChange(
                    actor_jid=item.get("actor", ""),
                    target_jid=item.get("jid", ""),
                    previous=item.get("previous", "none"),
                    new=item.get("affiliation", "none"),
                    reason=item.findtext(f"{{{ROOMS_NS}}}reason") or "",
                )
                for item in element.findall(f"{{{ROOMS_NS}}}affiliation-changed")
            ]
            outcome = await self.portal.room_changed_in_prosody(room.state, changes)
            log.info("room %s changed in Prosody: %s in the portal", room.slug, outcome)
        elif kind == "destroyed":
            slug = element.get("jid", "").partition("@")[0]
            removed = await self.portal.room_gone_from_prosody(slug)
            log.info("room %s gone from Prosody (portal updated: %s)", slug, removed)
        elif kind == "occupants":
            present = {
                item.get("jid", "").partition("@")[0]: parse_occupants(item)
                for item in element.findall(f"{{{ROOMS_NS}}}room")
            }
            await self.portal.set_occupants(present)
        elif kind == "message-moderated":
            report = MessageModeration(
                room_slug=element.get("room", "").partition("@")[0],
                moderator_jid=element.get("by", ""),
                author=element.get("author", ""),
                reason=element.findtext(f"{{{ROOMS_NS}}}reason") or "",
            )
            await self.portal.message_moderated(report)


def _gone_from_prosody(state: RoomState, room: ProsodyRoom | None, sync: RoomSyncState) -> bool:
    """Did Prosody lose this room through a client (not through lost data)?"""
    if room is None:
        return not state.persistent  # a temporary room Prosody dropped when it emptied
    if room.state is None:
        # Prosody dates tombstones to the second. A tombstone still there after
        # the portal's room reached Prosody (applying it replaces tombstones)
        # can only be newer, so the same second counts as newer.
        return room.destroyed_at >= int(sync.created_at.timestamp())
    return False
