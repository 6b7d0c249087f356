"""Rooms: make Prosody's MUC rooms match the portal, and tell the portal what
XMPP clients did to rooms.

Portal -> Prosody: `apply(slug)` (the outbox handler for topic "room") sends
the room's whole desired state, or destroys it; `reconcile()` repairs drift.
Prosody -> portal: mod_chatboard_rooms sends messages for rooms created,
configured or destroyed by clients, for occupants, and for messages moderators
removed (for the audit log); they are applied
in arrival order through rooms.actions' `*_in_prosody` functions, which write
no outbox row, so nothing is echoed back.

Who wins when both sides changed a room: the portal while its own change waits
in the outbox; otherwise the last change. The reconciler imports rooms it has
never seen from Prosody, takes a tombstone newer than the portal's room as a
destruction made from a client, and drops temporary rooms Prosody no longer
has; any other difference is repaired towards the portal.
"""

import asyncio
import logging
from dataclasses import dataclass, field

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from bridge import portal
from bridge.prosody import ROOMS_NS, ProsodyRoom, ProsodyRooms, parse_occupants, parse_room

log = logging.getLogger(__name__)

DELETED_REASON = "This room was deleted."


@dataclass
class RoomsReport:
    created_or_updated: list[str] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)
    removed_from_portal: list[str] = field(default_factory=list)


class RoomSync:
    def __init__(self, prosody: ProsodyRooms, config):
        self.prosody = prosody
        self.config = config
        self.events: asyncio.Queue = asyncio.Queue()
        self._connected_before = False
        component = prosody.component
        for tag in ("room", "destroyed", "occupants", "message-moderated"):
            # slixmpp's "message" event only covers messages with a body.
            path = f"{{{component.default_ns}}}message/{{{ROOMS_NS}}}{tag}"
            component.register_handler(Callback(f"rooms-{tag}", MatchXPath(path), self._on_message))
        component.add_event_handler("session_start", self._on_session_start)

    # ---------- portal -> Prosody ----------

    async def apply(self, slug: str) -> None:
        from portal.rooms.xmpp_state import desired_room

        state = await portal.call(desired_room, slug)
        if state is None:
            await self.prosody.destroy_room(self.config.addresses.room(slug), DELETED_REASON)
        else:
            await self.prosody.set_room(state)

    async def apply_role_change(self, key: str) -> None:
        """The outbox handler for topic "occupant": one RoleChange, applied once.

        Roles are transient, so there is no state to converge on: a change is
        sent while it is pending and not too old, then marked applied; a
        replayed row finds nothing pending. Prosody's side is idempotent too (a
        role already held is no change); only a bridge that dies between the
        two sends the change again, within seconds, when the row is retried.
        """
        from portal.rooms import actions
        from portal.rooms.xmpp_state import pending_role_change

        request = await portal.call(pending_role_change, int(key))
        if request is None:
            return
        await self.prosody.set_role(request)
        await portal.call(actions.role_change_applied, request.change_id)

    async def reconcile(self) -> RoomsReport:
        from portal.rooms import actions
        from portal.rooms.xmpp_state import desired_room, desired_rooms, room_sync_states

        report = RoomsReport()
        desired = await portal.call(desired_rooms)
        sync_states = await portal.call(room_sync_states)
        actual = await self.prosody.list_rooms()
        for slug, state in desired.items():
            created_at, pending = sync_states.get(slug, (None, True))
            if pending:
                continue  # the outbox is about to apply it
            room = actual.get(slug)
            if _gone_from_prosody(state, room, created_at):
                if await portal.call(actions.room_gone_from_prosody, slug):
                    report.removed_from_portal.append(slug)
            elif room is None or room.state is None or not room.state.holds(state):
                # Read again: the portal may have changed it since the listing.
                fresh = await portal.call(desired_room, slug)
                if fresh is not None:
                    await self.prosody.set_room(fresh)
                    report.created_or_updated.append(slug)
        for slug in actual.keys() - desired.keys():
            room = actual[slug]
            if room.state is None:
                continue  # a tombstone
            if await portal.call(actions.room_changed_in_prosody, room.state) != "skipped":
                report.imported.append(slug)
        present = {slug: room.present for slug, room in actual.items() if room.state}
        await portal.call(actions.set_occupants, present)
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

    async def handle_event(self, element) -> None:
        from portal.rooms import actions

        kind = element.tag.partition("}")[2]
        if kind == "room" and element.get("event") == "changed":
            room = parse_room(element)
            changes = [
                (
                    item.get("actor", ""),
                    item.get("jid", ""),
                    item.get("previous", "none"),
                    item.get("affiliation", "none"),
                    item.findtext(f"{{{ROOMS_NS}}}reason") or "",
                )
                for item in element.findall(f"{{{ROOMS_NS}}}affiliation-changed")
            ]
            outcome = await portal.call(actions.room_changed_in_prosody, room.state, None, changes)
            log.info("room %s changed in Prosody: %s in the portal", room.slug, outcome)
        elif kind == "destroyed":
            slug = element.get("jid", "").partition("@")[0]
            removed = await portal.call(actions.room_gone_from_prosody, slug)
            log.info("room %s gone from Prosody (portal updated: %s)", slug, removed)
        elif kind == "occupants":
            present = {
                item.get("jid", "").partition("@")[0]: parse_occupants(item)
                for item in element.findall(f"{{{ROOMS_NS}}}room")
            }
            await portal.call(actions.set_occupants, present)
        elif kind == "message-moderated":
            slug = element.get("room", "").partition("@")[0]
            reason = element.findtext(f"{{{ROOMS_NS}}}reason") or ""
            await portal.call(
                actions.message_moderated_in_prosody,
                slug,
                element.get("by", ""),
                element.get("author", ""),
                reason,
            )


def _gone_from_prosody(state, room: ProsodyRoom | None, created_at) -> bool:
    """Did Prosody lose this room through a client (not through lost data)?"""
    if room is None:
        return not state.persistent  # a temporary room Prosody dropped when it emptied
    if room.state is None:
        # Prosody dates tombstones to the second. A tombstone still there after
        # the portal's room reached Prosody (applying it replaces tombstones)
        # can only be newer, so the same second counts as newer.
        return created_at is not None and room.destroyed_at >= int(created_at.timestamp())
    return False
