"""Fetching rooms for a request, with the permission checks that go with it.

A private room does not exist (404) for anyone who is not its member; edit
and delete answer 403 to members without the right affiliation.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from portal.rooms.models import MEMBER_KINDS, Affiliation, RemoteAffiliation, Room


def visible_rooms(user):
    """Public rooms, plus the private rooms <user> belongs to."""
    public = Q(visibility=Room.Visibility.PUBLIC)
    if not user.is_authenticated:
        return Room.objects.filter(public)
    # A subquery rather than a join: no DISTINCT over every public room.
    mine = Affiliation.objects.filter(user=user, kind__in=MEMBER_KINDS).values("room_id")
    return Room.objects.filter(public | Q(pk__in=mine))


def access_room(user, slug: str) -> tuple[Room, str | None]:
    """The room and <user>'s affiliation in it; 404 if <user> may not know it exists."""
    room = Room.objects.filter(slug=slug).first()
    if room is None:
        raise Http404("No such room.")
    kind = None
    if user.is_authenticated:
        kind = room.affiliations.filter(user=user).values_list("kind", flat=True).first()
    if not room.is_public and kind not in MEMBER_KINDS:
        raise Http404("No such room.")
    return room, kind


def access_room_for_edit(user, slug: str) -> Room:
    room, kind = access_room(user, slug)
    if kind not in (Affiliation.Kind.OWNER, Affiliation.Kind.ADMIN):
        raise PermissionDenied("Only the room's owners and admins can edit it.")
    return room


def access_room_for_delete(user, slug: str) -> Room:
    room, kind = access_room(user, slug)
    if kind != Affiliation.Kind.OWNER:
        raise PermissionDenied("Only the room's owners can delete it.")
    return room


def access_room_for_members(user, slug: str) -> tuple[Room, str]:
    room, kind = access_room(user, slug)
    if kind not in (Affiliation.Kind.OWNER, Affiliation.Kind.ADMIN):
        raise PermissionDenied("Only the room's owners and admins can manage its members.")
    return room, kind


def remote_affiliations(room: Room):
    """People of other servers with a standing in the room (removed ones left out)."""
    return room.remote_affiliations.exclude(kind=RemoteAffiliation.RELEASED).order_by("kind", "jid")


@dataclass(frozen=True)
class RoomRights:
    """What a person may do to the people in a room, by XEP-0045's rules.

    Owners and admins moderate every room they hold; someone given the moderator
    role (it lasts while they are in the room) moderates while they are there.
    """

    kind: str | None  # their affiliation
    moderator: bool  # owner, admin, or holding the moderator role now

    @property
    def can_moderate(self) -> bool:
        """Kick, and give or take voice."""
        return self.moderator

    @property
    def can_ban_and_appoint(self) -> bool:
        """Ban (outcast), and give or take the moderator role."""
        return self.kind in (Affiliation.Kind.OWNER, Affiliation.Kind.ADMIN)

    @property
    def can_read_audit(self) -> bool:
        return self.kind == Affiliation.Kind.OWNER


def room_rights(user, room: Room, kind: str | None) -> RoomRights:
    owner_or_admin = kind in (Affiliation.Kind.OWNER, Affiliation.Kind.ADMIN)
    holds_role = False
    if user.is_authenticated and not owner_or_admin and kind != Affiliation.Kind.OUTCAST:
        jid = settings.XMPP_ADDRESSES.person(user.get_username())
        holds_role = any(entry[1:3] == [jid, "moderator"] for entry in room.occupants)
    return RoomRights(kind, owner_or_admin or holds_role)


def access_room_for_moderation(user, slug: str) -> tuple[Room, RoomRights]:
    room, kind = access_room(user, slug)
    rights = room_rights(user, room, kind)
    if not rights.can_moderate:
        raise PermissionDenied("Only the room's moderators can act on the people in it.")
    return room, rights


def access_room_audit(user, slug: str) -> Room:
    room, kind = access_room(user, slug)
    if not room_rights(user, room, kind).can_read_audit:
        raise PermissionDenied("Only the room's owners can read its log.")
    return room
