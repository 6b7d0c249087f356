"""The outbox: how every change Prosody must learn travels from the portal.

Writers call enqueue() inside the transaction of their change. The bridge calls
claim_next(), applies the object's current state, then complete() or fail().
Claims are conditional UPDATEs, so several bridges can share one outbox.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.outbox.models import OutboxEntry
from portal.outbox.payloads import Claim, Topic

MAX_BACKOFF_SECONDS = 300


def enqueue(topic: Topic, key: str) -> OutboxEntry:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox rows must be written inside the change's transaction")
    return OutboxEntry.objects.create(topic=topic, key=key)


def _in_flight(now):
    return Q(claimed_until__gt=now)


def claim_next(worker: str, topics: set[str] | None = None) -> Claim | None:
    """Claim the oldest due row whose object has no older unfinished row."""
    now = timezone.now()
    pending = OutboxEntry.objects.filter(state=OutboxEntry.State.PENDING)
    if topics is not None:
        pending = pending.filter(topic__in=topics)
    busy_objects = set(pending.filter(_in_flight(now)).values_list("topic", "key"))
    for entry in pending.filter(next_attempt_at__lte=now).order_by("id")[:50]:
        if (entry.topic, entry.key) in busy_objects:
            continue
        older = pending.filter(topic=entry.topic, key=entry.key, id__lt=entry.id)
        if older.exists():
            continue  # an older row for this object is waiting for its retry time
        claimed = (
            OutboxEntry.objects.filter(id=entry.id, state=OutboxEntry.State.PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .update(
                claimed_until=now + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS),
                claimed_by=worker,
            )
        )
        if claimed:
            # Rows written before this point are covered by the state read next.
            up_to = pending.filter(topic=entry.topic, key=entry.key).order_by("-id").first()
            return Claim(entry.id, entry.topic, entry.key, up_to.id, entry.attempts)
    return None


def complete(claim: Claim) -> int:
    """Mark the claimed row and the older-or-equal rows of the same object done."""
    return OutboxEntry.objects.filter(
        topic=claim.topic,
        key=claim.key,
        state=OutboxEntry.State.PENDING,
        id__lte=claim.up_to_id,
    ).update(
        state=OutboxEntry.State.DONE,
        applied_at=timezone.now(),
        claimed_until=None,
        attempts=claim.attempts + 1,
    )


def fail(claim: Claim, error: str) -> OutboxEntry.State:
    """Retry later with exponential backoff; park the row after too many attempts."""
    attempts = claim.attempts + 1
    if attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        state = OutboxEntry.State.PARKED
    else:
        state = OutboxEntry.State.PENDING
    delay = min(MAX_BACKOFF_SECONDS, 2**attempts)
    OutboxEntry.objects.filter(id=claim.entry_id).update(
        state=state,
        attempts=attempts,
        last_error=error[:2000],
        claimed_until=None,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
    )
    return state


def release(claim: Claim) -> None:
    """Give a claim back untouched (the bridge lost its connection mid-way)."""
    OutboxEntry.objects.filter(id=claim.entry_id).update(claimed_until=None)


def retry_parked(entry_ids) -> int:
    return OutboxEntry.objects.filter(id__in=entry_ids, state=OutboxEntry.State.PARKED).update(
        state=OutboxEntry.State.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
