"""Fetching rooms for a request, with the permission checks that go with it, and
what a person may do in a room (RoomRights): the views enforce it and the
templates offer exactly what it allows.

A private room does not exist (404) for anyone who is not its member; edit
and delete answer 403 to members without the right affiliation.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from portal.rooms.forms import OccupantActionForm
from portal.rooms.models import MEMBER_KINDS, Affiliation, RemoteAffiliation, Room

Kind = Affiliation.Kind


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


def _access_room_where(user, slug: str, may, refusal: str) -> tuple[Room, "RoomRights"]:
    """The room and the user's rights in it, if `may(rights)`; 403 with `refusal` if not."""
    room, kind = access_room(user, slug)
    rights = room_rights(user, room, kind)
    if not may(rights):
        raise PermissionDenied(refusal)
    return room, rights


def access_room_for_edit(user, slug: str) -> Room:
    refusal = "Only the room's owners and admins can edit it."
    return _access_room_where(user, slug, lambda rights: rights.can_manage, refusal)[0]


def access_room_for_delete(user, slug: str) -> Room:
    refusal = "Only the room's owners can delete it."
    return _access_room_where(user, slug, lambda rights: rights.can_delete, refusal)[0]


def access_room_for_members(user, slug: str) -> tuple[Room, "RoomRights"]:
    refusal = "Only the room's owners and admins can manage its members."
    return _access_room_where(user, slug, lambda rights: rights.can_manage, refusal)


def remote_affiliations(room: Room):
    """People of other servers with a standing in the room (removed ones left out)."""
    return room.remote_affiliations.exclude(kind=RemoteAffiliation.RELEASED).order_by("kind", "jid")


def affiliation_change_refusal(actor_kind, target_kind, new_kind) -> str | None:
    """Why XEP-0045 (section 10 for owners, 9 for admins, as Prosody applies them)
    forbids someone who is <actor_kind> to make someone who is <target_kind>
    <new_kind> (None: no affiliation); None when it allows it. That the room
    keeps an owner is checked when the change is made (actions.set_affiliation)."""
    if actor_kind == Kind.OWNER:
        return None
    if actor_kind == Kind.ADMIN:
        if new_kind in (Kind.OWNER, Kind.ADMIN):
            return "Only owners can grant owner or admin."
        if target_kind in (Kind.OWNER, Kind.ADMIN):
            return "Only owners can change owners and admins."
        return None
    return "Only owners and admins can change affiliations."


@dataclass(frozen=True)
class Choice:
    """Something the page offers: the value posted and the button's label."""

    value: str
    label: str


# The affiliation changes the members page offers, in its order (None: removed).
AFFILIATION_CHANGES = {
    Kind.OWNER: _("Make owner"),
    Kind.ADMIN: _("Make admin"),
    Kind.MEMBER: _("Make member"),
    Kind.OUTCAST: _("Ban"),
    None: _("Remove"),
}
# Someone of another server is given owner or admin by address ("Add someone"),
# never by a button on their row.
REMOTE_AFFILIATION_CHANGES = (Kind.MEMBER, Kind.OUTCAST, None)
OCCUPANT_ACTION_LABELS = dict(OccupantActionForm.ACTIONS)


@dataclass(frozen=True)
class RoomRights:
    """What a person may do in a room and to the people in it, by XEP-0045's rules.

    Owners and admins moderate every room they hold; someone given the moderator
    role (it lasts while they are in the room) moderates while they are there.
    """

    kind: str | None  # their affiliation
    moderator: bool  # owner, admin, or holding the moderator role now
    jid: str | None = None  # their own bare JID (None: not logged in)

    @property
    def is_member(self) -> bool:
        """Owner, admin or member: they may leave the room."""
        return self.kind in MEMBER_KINDS

    @property
    def is_banned(self) -> bool:
        return self.kind == Kind.OUTCAST

    @property
    def can_manage(self) -> bool:
        """Edit the room's settings, and see and change its members (bans included)."""
        return self.kind in (Kind.OWNER, Kind.ADMIN)

    @property
    def can_delete(self) -> bool:
        return self.kind == Kind.OWNER

    @property
    def can_moderate(self) -> bool:
        """Kick, and give or take voice."""
        return self.moderator

    @property
    def can_ban_and_appoint(self) -> bool:
        """Ban (outcast), and give or take the moderator role."""
        return self.kind in (Kind.OWNER, Kind.ADMIN)

    @property
    def can_read_audit(self) -> bool:
        return self.kind == Kind.OWNER

    def affiliation_changes(self, target_kind: str, *, remote: bool = False) -> list[Choice]:
        """The changes offered on the members page for someone who is <target_kind>:
        every one affiliation_change_refusal allows, but not to what they are now."""
        kinds = REMOTE_AFFILIATION_CHANGES if remote else AFFILIATION_CHANGES
        return [
            Choice(new_kind or "none", _affiliation_label(target_kind, new_kind))
            for new_kind in kinds
            if new_kind != target_kind
            and affiliation_change_refusal(self.kind, target_kind, new_kind) is None
        ]

    def occupant_actions(self, occupant) -> list[Choice]:
        """What the room's page offers to do to an occupant (rooms.occupants.Occupant)
        whose real address the viewer sees; nothing to themselves."""
        if not self.can_moderate or not occupant.jid or occupant.jid == self.jid:
            return []
        actions = ["kick"]
        if occupant.role == "visitor":
            actions.append("voice")
        elif occupant.role != "moderator":
            actions.append("mute")
        if self.can_ban_and_appoint:
            actions += ["ban", "deop" if occupant.role == "moderator" else "op"]
        return [Choice(action, OCCUPANT_ACTION_LABELS[action]) for action in actions]


def _affiliation_label(target_kind: str, new_kind: str | None):
    if new_kind is None and target_kind == Kind.OUTCAST:
        return _("Unban")
    return AFFILIATION_CHANGES[new_kind]


def room_rights(user, room: Room, kind: str | None) -> RoomRights:
    if not user.is_authenticated:
        return RoomRights(kind, False)
    jid = settings.XMPP_ADDRESSES.person(user.get_username())
    owner_or_admin = kind in (Kind.OWNER, Kind.ADMIN)
    holds_role = False
    if not owner_or_admin and kind != Kind.OUTCAST:
        holds_role = any(entry[1:3] == [jid, "moderator"] for entry in room.occupants)
    return RoomRights(kind, owner_or_admin or holds_role, jid)


def access_room_for_moderation(user, slug: str) -> tuple[Room, RoomRights]:
    refusal = "Only the room's moderators can act on the people in it."
    return _access_room_where(user, slug, lambda rights: rights.can_moderate, refusal)


def access_room_audit(user, slug: str) -> Room:
    refusal = "Only the room's owners can read its log."
    return _access_room_where(user, slug, lambda rights: rights.can_read_audit, refusal)[0]
