"""The audit log's only writer.

Every moderation and administration action calls `record` inside its own
transaction (the action functions are `transaction.atomic`), so the entry
commits or rolls back with the action.
"""

from django.db import transaction

from portal.audit.models import AuditEntry


def record(actor, action: str, target: str = "", *, room_slug: str = "", reason: str = ""):
    """Log that `actor` (a User, or None for the system) did `action` to `target`."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit entries must be written inside the action's transaction")
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "",
        action=action,
        target=target,
        room_slug=room_slug,
        reason=reason,
    )
