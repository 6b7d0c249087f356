from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

NAME_MAX_LENGTH = 64
ABOUT_MAX_LENGTH = 500


class Profile(models.Model):
    """What people show of themselves: in the portal and, through the bridge, as
    their vCard, XEP-0084 avatar and XEP-0172 nickname in every XMPP client."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile",
    )
    name = models.CharField(_("display name"), max_length=NAME_MAX_LENGTH, blank=True)
    about = models.CharField(_("about"), max_length=ABOUT_MAX_LENGTH, blank=True)
    # The normalised avatar's file under MEDIA_ROOT/avatars, named by its SHA-256.
    avatar = models.CharField(max_length=80, blank=True)
    # SHA-1 of the same bytes: the XEP-0084 item id clients see.
    avatar_sha1 = models.CharField(max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        indexes = [
            models.Index(fields=["name"], name="profile_name"),
            models.Index(fields=["avatar"], name="profile_avatar"),
        ]

    def __str__(self):
        return self.name or str(self.user_id)

    @property
    def avatar_url(self) -> str:
        return reverse("avatar", args=[self.avatar]) if self.avatar else ""
