"""Every change to a room goes through here.

Changes made in the portal write an outbox row (Topic.ROOM, key slug) in the
same transaction; the bridge then makes Prosody match. Changes that come FROM
Prosody (rooms made or changed by XMPP clients) are applied with the
`*_in_prosody` functions, which write no outbox row: nothing is sent back.
"""

import logging
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.accounts.models import User
from portal.audit.actions import record
from portal.core.text import clean_text
from portal.outbox.actions import enqueue
from portal.outbox.models import OutboxEntry
from portal.outbox.payloads import (
    AffiliationChange,
    MessageModeration,
    RoomOccupant,
    RoomState,
    Topic,
)
from portal.rooms.access import affiliation_change_refusal
from portal.rooms.models import Affiliation, RemoteAffiliation, RoleChange, Room

log = logging.getLogger(__name__)

Kind = Affiliation.Kind


class AffiliationRefused(Exception):
    """XEP-0045 does not let this actor make this change."""


def sync_room(slug: str) -> None:
    """Tell the bridge that room <slug> in Prosody must match the portal."""
    enqueue(Topic.ROOM, slug)


@transaction.atomic
def create_room(creator: User, room: Room) -> Room:
    """Save a new room; its creator becomes its owner."""
    room.save()
    Affiliation.objects.create(room=room, user=creator, kind=Kind.OWNER)
    sync_room(room.slug)
    return room


@transaction.atomic
def save_room(room: Room) -> Room:
    if not room.is_public:
        room.password = ""  # Prosody passwords apply to public rooms only here
    room.save()
    sync_room(room.slug)
    return room


@transaction.atomic
def delete_room(room: Room) -> None:
    """Destroy the room; the bridge tells its occupants why."""
    slug = room.slug
    room.delete()
    sync_room(slug)


def affiliation_of(room: Room, user) -> str | None:
    if not user.is_authenticated:
        return None
    return Affiliation.objects.filter(room=room, user=user).values_list("kind", flat=True).first()


def check_affiliation_change(room: Room, actor_kind, target_kind, new_kind, self_change) -> None:
    """XEP-0045's rule (rooms.access.affiliation_change_refusal, which the members
    page offers), and the room keeps an owner."""
    refusal = affiliation_change_refusal(actor_kind, target_kind, new_kind)
    if refusal is not None:
        raise AffiliationRefused(refusal)
    demoting_self = self_change and target_kind == Kind.OWNER and new_kind != Kind.OWNER
    if demoting_self and room.affiliations.filter(kind=Kind.OWNER).count() <= 1:
        raise AffiliationRefused("A room needs at least one owner.")


@transaction.atomic
def set_affiliation(room: Room, actor, user: User, new_kind: str | None, reason="") -> None:
    """Make <user> owner/admin/member/outcast of the room, or nothing (None).

    `actor` None is staff acting through the admin: no XEP-0045 restriction.
    """
    current = Affiliation.objects.select_for_update().filter(room=room, user=user).first()
    target_kind = current.kind if current else None
    if actor is not None:
        actor_kind = affiliation_of(room, actor)
        check_affiliation_change(room, actor_kind, target_kind, new_kind, actor.pk == user.pk)
    if _change_affiliation(room, user, current, new_kind):
        _record_affiliation(actor, room, user.get_username(), target_kind, new_kind, reason)


@transaction.atomic
def set_remote_affiliation(room: Room, actor, jid: str, new_kind: str | None, reason="") -> None:
    """Make someone of another server (bare JID) owner/admin/member/outcast, or nothing.

    Same rules as for local users; `actor` None is staff. A removed JID stays
    as RELEASED, so the bridge tells Prosody to clear it.
    """
    current = RemoteAffiliation.objects.select_for_update().filter(room=room, jid=jid).first()
    released = RemoteAffiliation.RELEASED
    target_kind = current.kind if current and current.kind != released else None
    if actor is not None:
        check_affiliation_change(room, affiliation_of(room, actor), target_kind, new_kind, False)
    if new_kind == target_kind:
        return
    if current is None:
        RemoteAffiliation.objects.create(room=room, jid=jid, kind=new_kind)
    else:
        current.kind = new_kind or released
        current.save(update_fields=["kind"])
    sync_room(room.slug)
    _record_affiliation(actor, room, jid, target_kind, new_kind, reason)


@transaction.atomic
def leave_room(room: Room, user: User) -> None:
    """A member gives up their membership (and with it the room's bookmark)."""
    current = Affiliation.objects.select_for_update().filter(room=room, user=user).first()
    if current is None or current.kind == Kind.OUTCAST:
        return
    if current.kind == Kind.OWNER and room.affiliations.filter(kind=Kind.OWNER).count() <= 1:
        raise AffiliationRefused("A room needs at least one owner: name another owner first.")
    _change_affiliation(room, user, current, None)


def _change_affiliation(room: Room, user: User, current, new_kind: str | None) -> bool:
    if new_kind == (current.kind if current else None):
        return False
    if new_kind is None:
        current.delete()
    elif current is None:
        Affiliation.objects.create(room=room, user=user, kind=new_kind)
    else:
        current.kind = new_kind
        current.save(update_fields=["kind"])
    sync_room(room.slug)
    return True


def _record_affiliation(actor, room: Room, target: str, old_kind, new_kind, reason: str):
    if new_kind == Kind.OUTCAST:
        action = "room.ban"
    elif old_kind == Kind.OUTCAST and new_kind is None:
        action = "room.unban"
    else:
        action = f"room.make_{new_kind or 'none'}"
    return record(actor, action, target, room_slug=room.slug, reason=reason)


# ---------- People in the room: kicks, voice, moderators, bans ----------


class ModerationRefused(Exception):
    """The actor may not do this to this occupant, or the occupant is not there."""


# The new role -> the audit log's name for the change ("participant" depends on
# the role before: voice given back, or the moderator role taken away).
ROLE_ACTIONS = {
    "none": "room.kick",
    "visitor": "room.revoke_voice",
    "moderator": "room.grant_moderator",
}
_ROLE_FOR = {"kick": "none", "voice": "participant", "mute": "visitor", "op": "moderator"}
_WEIGHT = {Kind.OWNER: 3, Kind.ADMIN: 2, Kind.MEMBER: 1, None: 0, Kind.OUTCAST: -1}


def _affiliation_of_jid(room: Room, jid: str) -> str | None:
    local, _at, domain = jid.partition("@")
    if domain == settings.XMPP_DOMAIN:
        found = room.affiliations.filter(user__username=local)
    else:
        found = room.remote_affiliations.filter(jid=jid).exclude(kind=RemoteAffiliation.RELEASED)
    return found.values_list("kind", flat=True).first()


def _occupant_role(room: Room, jid: str) -> str | None:
    """The target's role now (their highest, if they are in under several nicknames)."""
    roles = [
        entry[2] if len(entry) > 2 else "participant" for entry in room.occupants if entry[1] == jid
    ]
    order = ["visitor", "participant", "moderator"]
    return max(roles, key=lambda role: order.index(role) if role in order else 0, default=None)


@transaction.atomic
def moderate_occupant(room: Room, actor: User, rights, jid: str, what: str, reason: str) -> None:
    """Kick, ban, give or take voice or the moderator role, for the person at `jid`.

    `rights` are the actor's (rooms.access.room_rights). The rules are Prosody's
    (XEP-0045 sections 8 and 9): nobody acts on someone of a higher affiliation,
    and only owners and admins ban or touch the moderator role. Bans are
    affiliations (room state); the rest are RoleChange events.
    """
    actor_jid = settings.XMPP_ADDRESSES.person(actor.get_username())
    if jid == actor_jid:
        raise ModerationRefused(_("You cannot do this to yourself."))
    target_kind = _affiliation_of_jid(room, jid)
    if _WEIGHT.get(rights.kind, 0) < _WEIGHT.get(target_kind, 0):
        raise ModerationRefused(_("%(jid)s has a higher affiliation than you.") % {"jid": jid})
    if what == "ban":
        return _ban(room, actor, rights, jid, reason)
    current = _occupant_role(room, jid)
    if current is None:
        raise ModerationRefused(_("%(jid)s is not in the room.") % {"jid": jid})
    new_role = "participant" if what == "deop" else _ROLE_FOR[what]
    if "moderator" in (current, new_role) and not rights.can_ban_and_appoint:
        raise ModerationRefused(_("Only owners and admins can give or take the moderator role."))
    change = RoleChange.objects.create(
        room=room, jid=jid, role=new_role, reason=reason, actor=actor
    )
    enqueue(Topic.OCCUPANT, str(change.pk))
    action = ROLE_ACTIONS.get(new_role)
    if action is None:
        action = "room.revoke_moderator" if current == "moderator" else "room.grant_voice"
    record(actor, action, jid, room_slug=room.slug, reason=reason)


def _ban(room: Room, actor: User, rights, jid: str, reason: str) -> None:
    if not rights.can_ban_and_appoint:
        raise ModerationRefused(_("Only owners and admins can ban."))
    local, _at, domain = jid.partition("@")
    try:
        if domain != settings.XMPP_DOMAIN:
            set_remote_affiliation(room, actor, jid, Kind.OUTCAST, reason)
            return
        user = User.objects.filter(username=local).first()
        if user is None:
            raise ModerationRefused(_("There is no user called %(name)s.") % {"name": local})
        set_affiliation(room, actor, user, Kind.OUTCAST, reason)
    except AffiliationRefused as refusal:
        raise ModerationRefused(str(refusal)) from None


def role_change_applied(change_id: int) -> None:
    """The bridge applied it: replaying its outbox row does nothing more."""
    RoleChange.objects.filter(pk=change_id, state=RoleChange.State.PENDING).update(
        state=RoleChange.State.APPLIED, applied_at=timezone.now()
    )


def sync_pending(slug: str) -> bool:
    return OutboxEntry.objects.filter(
        topic=Topic.ROOM, key=slug, state=OutboxEntry.State.PENDING
    ).exists()


# ---------- Changes made in Prosody ----------


def _valid_slug(slug: str) -> bool:
    try:
        Room._meta.get_field("slug").run_validators(slug)
    except ValidationError:
        return False
    return True


def _fields_from_state(state: RoomState) -> dict:
    public = state.public and not state.members_only
    return {
        "name": clean_text(state.name or "", multiline=False, max_length=64) or state.slug,
        "description": clean_text(state.description, multiline=True, max_length=500),
        "visibility": Room.Visibility.PUBLIC if public else Room.Visibility.PRIVATE,
        "password": state.password[:64] if public else "",
        "persistent": state.persistent,
        "history": state.archiving,
        "real_jids_visible_to": state.whois,
    }


@transaction.atomic
def room_changed_in_prosody(state: RoomState, changes: Sequence[AffiliationChange] = ()) -> str:
    """Mirror a room as Prosody has it (made or changed from a client). No outbox row.

    While portal changes to the room wait in the outbox, the portal's version
    wins: the bridge is about to send it, so the Prosody event is ignored.
    `changes`, the affiliation changes people made from clients, go to the audit log.
    """
    if not _valid_slug(state.slug):
        log.warning("room %s cannot be shown in the portal: bad address", state.slug)
        return "skipped"
    room = Room.objects.select_for_update().filter(slug=state.slug).first()
    if room is not None and sync_pending(state.slug):
        return "skipped"
    fields = _fields_from_state(state)
    created = room is None
    if created:
        room = Room(slug=state.slug)
    changed = created or any(getattr(room, name) != value for name, value in fields.items())
    if changed:
        for name, value in fields.items():
            setattr(room, name, value)
        room.save()
    _mirror_affiliations(room, _local_affiliations(state))
    for change in changes:
        target = settings.XMPP_ADDRESSES.local_username(change.target_jid) or change.target_jid
        new_kind = None if change.new == "none" else change.new
        old_kind = None if change.previous == "none" else change.previous
        actor = _user_at(change.actor_jid)
        entry = _record_affiliation(actor, room, target, old_kind, new_kind, change.reason)
        if actor is None:
            entry.actor_name = change.actor_jid[:255]
            entry.save(update_fields=["actor_name"])
    return "created" if created else "updated"


def _local_affiliations(state: RoomState) -> dict[str, str]:
    """username -> affiliation, for the JIDs of our own domain."""
    local_username = settings.XMPP_ADDRESSES.local_username
    local = ((local_username(jid), kind) for jid, kind in state.affiliations)
    return {username: kind for username, kind in local if username}


def _user_at(jid: str):
    """The account of this server at a bare JID, if there is one."""
    local, _at, domain = jid.partition("@")
    if domain != settings.XMPP_DOMAIN:
        return None
    return User.objects.filter(username=local).first()


def _mirror_affiliations(room: Room, wanted: dict[str, str]) -> None:
    users = {u.username: u for u in User.objects.filter(username__in=wanted)}
    current = {a.user.username: a for a in room.affiliations.select_related("user")}
    for username, affiliation in current.items():
        if username not in wanted or username not in users:
            affiliation.delete()
    for username, kind in wanted.items():
        if username not in users or kind not in Kind.values:
            continue
        existing = current.get(username)
        if existing is None:
            Affiliation.objects.create(room=room, user=users[username], kind=kind)
        elif existing.kind != kind:
            existing.kind = kind
            existing.save(update_fields=["kind"])


@transaction.atomic
def room_gone_from_prosody(slug: str) -> bool:
    """A client destroyed the room, or Prosody dropped an empty temporary room."""
    if sync_pending(slug):
        return False
    deleted, _ = Room.objects.filter(slug=slug).delete()
    return bool(deleted)


@transaction.atomic
def message_moderated_in_prosody(report: MessageModeration):
    """A moderator removed a message in a client (XEP-0425): an audit entry, no outbox row.

    The moderator is named by their real address; people of this server are
    linked to their account. The target is the message's author (nickname).
    """
    actor = _user_at(report.moderator_jid)
    entry = record(
        actor,
        "room.remove_message",
        report.author[:255],
        room_slug=report.room_slug,
        reason=report.reason,
    )
    if actor is None:
        entry.actor_name = report.moderator_jid[:255]
        entry.save(update_fields=["actor_name"])
    return entry


def set_occupants(present: Mapping[str, Sequence[RoomOccupant]]) -> None:
    """Record who is in each room now (by slug), as Prosody reports it."""
    for slug, occupants in present.items():
        occupants = sorted([occupant.nick, occupant.jid, occupant.role] for occupant in occupants)
        Room.objects.filter(slug=slug).exclude(occupants=occupants).update(
            occupants=occupants, occupant_count=len(occupants)
        )
