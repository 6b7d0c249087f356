"""The desired state of MUC rooms, as the bridge reads it from the portal.

`RoomState` is also what the bridge parses Prosody's answers into, so desired
and actual compare with ==. Affiliations cover users of our own domain and the
JIDs of other servers the portal names (RemoteAffiliation); other JIDs of other
servers are Prosody's business.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from portal.rooms.models import Affiliation, RemoteAffiliation, RoleChange, Room


@dataclass(frozen=True)
class RoomState:
    slug: str
    name: str
    description: str = ""
    public: bool = True
    members_only: bool = False
    password: str = ""
    persistent: bool = True
    archiving: bool = True
    whois: str = "moderators"
    affiliations: frozenset = frozenset()  # of (bare JID, affiliation)

    @property
    def jid(self) -> str:
        return settings.XMPP_ADDRESSES.room(self.slug)

    @classmethod
    def from_room(cls, room: Room, affiliations) -> "RoomState":
        public = room.visibility == Room.Visibility.PUBLIC
        return cls(
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

    def local_affiliations(self) -> dict[str, str]:
        """username -> affiliation, for the JIDs of our own domain."""
        local = (
            (settings.XMPP_ADDRESSES.local_username(jid), kind) for jid, kind in self.affiliations
        )
        return {username: kind for username, kind in local if username}

    def holds(self, desired: "RoomState") -> bool:
        """Whether this room, as Prosody has it, is what `desired` asks for: the same
        configuration and local affiliations, and the remote JIDs the portal names
        at the affiliation it gives them ("none": no affiliation). Other servers'
        JIDs the portal does not name are left to the room's owners."""
        named = {jid for jid, _kind in desired.affiliations}
        is_local = settings.XMPP_ADDRESSES.local_username
        held = {(j, k) for j, k in self.affiliations if j in named or is_local(j)}
        wanted = {(j, k) for j, k in desired.affiliations if k != RemoteAffiliation.RELEASED}
        return held == wanted and self.__dict__ | {"affiliations": None} == desired.__dict__ | {
            "affiliations": None
        }


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
    return RoomState.from_room(room, _affiliations_by_room([room])[room.id])


def desired_rooms() -> dict[str, RoomState]:
    rooms = list(Room.objects.all())
    by_room = _affiliations_by_room(rooms, every_room=True)
    return {room.slug: RoomState.from_room(room, by_room[room.id]) for room in rooms}


def room_sync_states() -> dict[str, object]:
    """slug -> (created_at, has pending outbox rows), for the reconciler's judgement."""
    from portal.outbox.models import OutboxEntry
    from portal.rooms.actions import ROOM_TOPIC

    pending = set(
        OutboxEntry.objects.filter(topic=ROOM_TOPIC, state=OutboxEntry.State.PENDING).values_list(
            "key", flat=True
        )
    )
    return {
        slug: (created_at, slug in pending)
        for slug, created_at in Room.objects.values_list("slug", "created_at")
    }


@dataclass(frozen=True)
class RoleRequest:
    """A RoleChange as the bridge sends it to Prosody."""

    change_id: int
    room_jid: str
    jid: str
    role: str
    reason: str


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
