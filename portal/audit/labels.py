"""How the log names its actions to readers; an action without a label shows its code."""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "room.kick": _("kicked from the room"),
    "room.ban": _("banned from the room"),
    "room.unban": _("unbanned"),
    "room.grant_voice": _("gave voice"),
    "room.revoke_voice": _("took voice away"),
    "room.grant_moderator": _("made moderator"),
    "room.revoke_moderator": _("took the moderator role away"),
    "room.make_owner": _("made owner"),
    "room.make_admin": _("made admin"),
    "room.make_member": _("made member"),
    "room.make_none": _("removed the affiliation"),
    "room.remove_message": _("removed a message"),
    "user.deactivate": _("deactivated the account"),
    "user.reactivate": _("reactivated the account"),
    "user.delete": _("deleted the account"),
    "user.password_reset": _("sent a password reset link"),
    "user.sync_retry": _("retried parked sync changes"),
    "invite.create": _("created an invite"),
    "invite.revoke": _("withdrew an invite"),
    "invite.use": _("signed up with an invite"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))
