from datetime import timedelta

from django.conf import settings
from django.core.validators import MinLengthValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.outbox import payloads

SLUG_MAX_LENGTH = 48

validate_slug_format = RegexValidator(
    r"^[a-z0-9._-]+\Z",
    _("Use only lowercase letters, digits and . _ - (no spaces, @ or /)."),
    code="invalid_slug",
)


class Room(models.Model):
    """A group chat: the MUC room <slug>@<XMPP_MUC_DOMAIN>, configured as the portal says."""

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Public: listed, anyone on the server may join")
        PRIVATE = "private", _("Private: hidden, members only")

    class RealJids(models.TextChoices):
        MODERATORS = "moderators", _("Moderators")
        ANYONE = "anyone", _("Anyone in the room")

    slug = models.CharField(
        _("address"),
        max_length=SLUG_MAX_LENGTH,
        unique=True,
        validators=[MinLengthValidator(2), validate_slug_format],
        help_text=_("2 to 48 characters: lowercase letters, digits and . _ -"),
        error_messages={"unique": _("A room with this address already exists.")},
    )
    name = models.CharField(_("name"), max_length=64)
    description = models.TextField(_("description"), max_length=500, blank=True)
    visibility = models.CharField(
        _("visibility"), max_length=8, choices=Visibility, default=Visibility.PUBLIC
    )
    # Prosody keeps room passwords in plaintext too; it needs the value to check joins.
    password = models.CharField(_("password"), max_length=64, blank=True)
    persistent = models.BooleanField(
        _("persistent"),
        default=True,
        help_text=_("A temporary room disappears when its last occupant leaves."),
    )
    history = models.BooleanField(
        _("keep history"), default=True, help_text=_("Archive messages (MAM).")
    )
    real_jids_visible_to = models.CharField(
        _("real addresses visible to"),
        max_length=10,
        choices=RealJids,
        default=RealJids.MODERATORS,
    )
    # Written only by the bridge from what Prosody reports; never sent back.
    occupant_count = models.PositiveIntegerField(_("occupants"), default=0, editable=False)
    # Who is in the room now, as [nickname, real bare JID] pairs.
    occupants = models.JSONField(_("present"), default=list, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["slug"]

    def __str__(self):
        return self.slug

    @property
    def jid(self) -> str:
        return settings.XMPP_ADDRESSES.room(self.slug)

    @property
    def is_public(self) -> bool:
        return self.visibility == self.Visibility.PUBLIC


class Affiliation(models.Model):
    """A user's standing in a room, as XEP-0045 names it."""

    class Kind(models.TextChoices):
        OWNER = "owner", _("owner")
        ADMIN = "admin", _("admin")
        MEMBER = "member", _("member")
        OUTCAST = "outcast", _("banned")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="affiliations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_affiliations"
    )
    kind = models.CharField(_("affiliation"), max_length=8, choices=Kind)

    class Meta:
        verbose_name = _("affiliation")
        verbose_name_plural = _("affiliations")
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="one_affiliation_per_user")
        ]

    def __str__(self):
        return f"{self.user} {self.kind} of {self.room}"

    @property
    def is_member(self) -> bool:
        return self.kind != self.Kind.OUTCAST


# A bare JID of another server: name@domain, no resource.
validate_remote_jid = RegexValidator(
    r"^[^@/\s\"&'<>:]{1,255}@[a-z0-9-]+(\.[a-z0-9-]+)+\Z",
    _("Use an address like name@server."),
    code="invalid_jid",
)


class RemoteAffiliation(models.Model):
    """The standing in a room of someone on another server (federation), by bare JID.

    RELEASED keeps the JID known after its affiliation was removed: Prosody only
    clears affiliations of other servers' JIDs that it is told to clear.
    """

    RELEASED = payloads.RELEASED

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="remote_affiliations")
    jid = models.CharField(_("address"), max_length=255, validators=[validate_remote_jid])
    kind = models.CharField(
        _("affiliation"),
        max_length=8,
        choices=[*Affiliation.Kind.choices, (RELEASED, _("none"))],
    )

    class Meta:
        verbose_name = _("affiliation on another server")
        verbose_name_plural = _("affiliations on other servers")
        constraints = [
            models.UniqueConstraint(fields=["room", "jid"], name="one_affiliation_per_remote_jid")
        ]

    def __str__(self):
        return f"{self.jid} {self.kind} of {self.room}"


MEMBER_KINDS = (Affiliation.Kind.OWNER, Affiliation.Kind.ADMIN, Affiliation.Kind.MEMBER)


class RoleChange(models.Model):
    """A kick, or voice or the moderator role given or taken, for one person in a room.

    Roles exist only while someone is in the room (XEP-0045), so this is an event
    rather than state to converge on: the outbox row (Topic.OCCUPANT, key this
    row's id) has the bridge apply it while it is PENDING and mark it APPLIED, so
    replaying the row does nothing. One the bridge could not apply within
    `LIFETIME` (Prosody away for a while) EXPIRES instead: a kick applied an hour
    late would hit someone who has since come back in good standing.
    """

    LIFETIME = timedelta(minutes=5)

    class Role(models.TextChoices):
        NONE = "none", _("kicked")
        VISITOR = "visitor", _("visitor (no voice)")
        PARTICIPANT = "participant", _("participant")
        MODERATOR = "moderator", _("moderator")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        APPLIED = "applied", _("applied")
        EXPIRED = "expired", _("expired")

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="role_changes")
    # The person's real bare JID: all their sessions and nicknames at once.
    jid = models.CharField(_("address"), max_length=255)
    role = models.CharField(_("role"), max_length=12, choices=Role)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("role change")
        verbose_name_plural = _("role changes")

    def __str__(self):
        return f"{self.jid} {self.role} in {self.room}"
