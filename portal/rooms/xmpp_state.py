"""The desired state of MUC rooms, as the bridge reads it from the portal.

`RoomState` is also what the bridge parses Prosody's answers into, so desired
and actual compare with ==.
"""

from django.conf import settings
from django.utils import timezone

from portal.outbox.models import OutboxEntry
from portal.outbox.payloads import RoleRequest, RoomState, RoomSyncState, Topic
from portal.rooms.models import Affiliation, RemoteAffiliation, RoleChange, Room


def _room_state(room: Room, affiliations) -> RoomState:
    public = room.visibility == Room.Visibility.PUBLIC
    return RoomState(
        slug=room.slug,
        name=room.name,
        description=room.description,
        public=public,
        members_only=not public,
        password=room.password if public else "",
        persistent=room.persistent,
        archiving=room.history,
        whois=room.real_jids_visible_to,
        affiliations=frozenset(affiliations),
    )


def _affiliations_by_room(rooms, every_room=False) -> dict[int, list[tuple[str, str]]]:
    by_room: dict[int, list[tuple[str, str]]] = {room.id: [] for room in rooms}
    rows = Affiliation.objects.all() if every_room else Affiliation.objects.filter(room__in=rooms)
    rows = rows.values_list("room_id", "user__username", "kind")
    for room_id, username, kind in rows:
        by_room.setdefault(room_id, []).append((settings.XMPP_ADDRESSES.person(username), kind))
    remote = RemoteAffiliation.objects.all()
    remote = remote if every_room else remote.filter(room__in=rooms)
    for room_id, jid, kind in remote.values_list("room_id", "jid", "kind"):
        by_room.setdefault(room_id, []).append((jid, kind))
    return by_room


def desired_room(slug: str) -> RoomState | None:
    """The room as Prosody must hold it, or None when it must not exist."""
    room = Room.objects.filter(slug=slug).first()
    if room is None:
        return None
    return _room_state(room, _affiliations_by_room([room])[room.id])


def desired_rooms() -> dict[str, RoomState]:
    rooms = list(Room.objects.all())
    by_room = _affiliations_by_room(rooms, every_room=True)
    return {room.slug: _room_state(room, by_room[room.id]) for room in rooms}


def room_sync_states() -> dict[str, RoomSyncState]:
    """What the reconciler weighs for each room: its age, and whether it waits in the outbox."""
    pending = set(
        OutboxEntry.objects.filter(topic=Topic.ROOM, state=OutboxEntry.State.PENDING).values_list(
            "key", flat=True
        )
    )
    return {
        slug: RoomSyncState(created_at, slug in pending)
        for slug, created_at in Room.objects.values_list("slug", "created_at")
    }


def pending_role_change(change_id: int) -> RoleRequest | None:
    """The role change to apply now; None once applied, or when it came too late.

    A change older than RoleChange.LIFETIME is marked EXPIRED here, never applied.
    """
    change = RoleChange.objects.select_related("room").filter(pk=change_id).first()
    if change is None or change.state != RoleChange.State.PENDING:
        return None
    if change.created_at < timezone.now() - RoleChange.LIFETIME:
        RoleChange.objects.filter(pk=change_id, state=RoleChange.State.PENDING).update(
            state=RoleChange.State.EXPIRED
        )
        return None
    return RoleRequest(change.pk, change.room.jid, change.jid, change.role, change.reason)
