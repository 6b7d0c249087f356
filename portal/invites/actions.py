"""Every change to an invite goes through here, with its audit row.

Using an invite is one conditional UPDATE (`uses < max_uses`, not revoked, not
expired) inside the signup's transaction: of two people signing up at once
with the last use, exactly one gets the account; the other's signup rolls back.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import User
from portal.audit.actions import record
from portal.invites.models import Invite
from portal.rooms import actions as room_actions
from portal.rooms.models import Affiliation, Room


class InviteUnusable(Exception):
    """The invite cannot be used (any more); `status` says why."""

    MESSAGES = {
        Invite.Status.EXPIRED: _("This invite has expired."),
        Invite.Status.USED_UP: _("This invite has been used as many times as it allows."),
        Invite.Status.REVOKED: _("This invite was withdrawn."),
        "unknown": _("This invite link is not valid. Check that you copied all of it."),
    }

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status

    @property
    def message(self) -> str:
        return str(self.MESSAGES[self.status])


def audit_target(invite: Invite) -> str:
    return f"invite {invite.pk}"


def rooms_user_may_invite_to(user: User):
    """Staff may invite to any room; others to the rooms they own or administer."""
    if user.is_staff:
        return Room.objects.all()
    kinds = (Affiliation.Kind.OWNER, Affiliation.Kind.ADMIN)
    return Room.objects.filter(affiliations__user=user, affiliations__kind__in=kinds)


@transaction.atomic
def create_invite(creator: User, *, days: int, max_uses: int, rooms=(), note="") -> Invite:
    invite = Invite.objects.create(
        created_by=creator,
        expires_at=timezone.now() + timedelta(days=days),
        max_uses=max_uses,
        note=note,
    )
    invite.rooms.set(rooms)
    record(creator, "invite.create", audit_target(invite), reason=note)
    return invite


@transaction.atomic
def revoke_invite(actor: User, invite: Invite) -> None:
    if Invite.objects.filter(pk=invite.pk, revoked_at=None).update(revoked_at=timezone.now()):
        record(actor, "invite.revoke", audit_target(invite))
    invite.refresh_from_db()


def usable_invite(token: str) -> Invite:
    """The invite behind a link, if it can be used now; else InviteUnusable."""
    invite = Invite.objects.filter(token=token).first() if token else None
    if invite is None:
        raise InviteUnusable("unknown")
    if invite.status != Invite.Status.ACTIVE:
        raise InviteUnusable(invite.status)
    return invite


def take_use(token: str) -> Invite:
    """Consume one use of the invite, or raise InviteUnusable. Call inside the
    transaction that creates the account: the use is taken back if it fails."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("an invite is used inside the signup's transaction")
    taken = Invite.objects.filter(
        token=token,
        revoked_at=None,
        uses__lt=F("max_uses"),
        expires_at__gt=timezone.now(),
    ).update(uses=F("uses") + 1)
    if not taken:
        usable_invite(token)  # raises with the reason
        raise InviteUnusable(Invite.Status.USED_UP)  # used up in the meantime
    return Invite.objects.get(token=token)


def invite_used(invite: Invite, user: User) -> None:
    """The new account joins the invite's rooms (through rooms.actions, so Prosody
    learns it) and the use is audited; inside the signup's transaction."""
    for room in invite.rooms.all():
        room_actions.set_affiliation(room, None, user, Affiliation.Kind.MEMBER)
    record(user, "invite.use", audit_target(invite))
