from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxEntry(models.Model):
    """ "Prosody must catch up with <topic> <key>": written in the same transaction
    as the change. The row names the object, not the new values: the bridge reads
    the object's current desired state when it applies the row, so replaying a
    row, or several rows for one object, converges on the same result."""

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DONE = "done", _("done")
        PARKED = "parked", _("parked")

    topic = models.CharField(max_length=32)
    key = models.CharField(max_length=255)
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(auto_now_add=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=64, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("outbox entry")
        verbose_name_plural = _("outbox entries")
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["topic", "key", "state"], name="outbox_object"),
        ]

    def __str__(self):
        return f"{self.topic}:{self.key} ({self.state})"
