import secrets

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.rooms.models import Room


def new_token() -> str:
    # 256 bits: the link is the only secret between the inviter and the invitee.
    return secrets.token_urlsafe(32)


class Invite(models.Model):
    """A link that lets someone sign up (also when signup is by invitation only),
    a limited number of times until it expires, and makes them a member of rooms."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        EXPIRED = "expired", _("expired")
        USED_UP = "used_up", _("used up")
        REVOKED = "revoked", _("revoked")

    token = models.CharField(max_length=64, unique=True, default=new_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="invites_created",
    )
    note = models.CharField(_("note"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    max_uses = models.PositiveIntegerField(_("uses allowed"))
    uses = models.PositiveIntegerField(_("uses"), default=0)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    rooms = models.ManyToManyField(Room, verbose_name=_("rooms"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("invite")
        verbose_name_plural = _("invites")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(uses__lte=models.F("max_uses")), name="invite_uses_within_limit"
            )
        ]

    def __str__(self):
        return f"invite {self.pk}"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return self.Status.REVOKED
        if self.uses >= self.max_uses:
            return self.Status.USED_UP
        if self.expires_at <= timezone.now():
            return self.Status.EXPIRED
        return self.Status.ACTIVE

    def get_status_display(self) -> str:
        return self.Status(self.status).label

    @property
    def path(self) -> str:
        return reverse("invite-accept", args=[self.token])
