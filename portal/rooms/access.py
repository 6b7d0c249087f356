"""Fetching rooms for a request, with the permission checks that go with it.

A private room does not exist (404) for anyone who is not its member; edit
and delete answer 403 to members without the right affiliation.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from rooms.models import MEMBER_KINDS, Affiliation, RemoteAffiliation, Room


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
