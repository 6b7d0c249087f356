from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.audit.labels import action_label


class AuditEntry(models.Model):
    """One moderation or administration action: who did what to whom, when and why.

    Written by `audit.actions.record` inside the transaction of the action itself,
    so an action that rolls back leaves no entry and no entry lacks its action.
    Actor and target are kept as text too: the log outlives deleted accounts.
    """

    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # "staff" actions from the Django admin or a command may have no person behind them.
    actor_name = models.CharField(_("who"), max_length=255, blank=True)
    action = models.CharField(_("action"), max_length=48, db_index=True)
    # A username, a bare JID, a nickname in a room, or an invite: what the action touched.
    target = models.CharField(_("target"), max_length=255, blank=True, db_index=True)
    # The room's slug when the action happened in (or to) a room; kept after the room goes.
    room_slug = models.CharField(_("room"), max_length=48, blank=True, db_index=True)
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        where = f" in {self.room_slug}" if self.room_slug else ""
        return f"{self.actor_name or '-'} {self.action} {self.target}{where}"

    @property
    def action_label(self) -> str:
        return action_label(self.action)
