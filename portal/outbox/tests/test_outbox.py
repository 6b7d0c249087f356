"""The outbox's contract with the bridge: in order per object, retried, parked, shared."""

import pytest
from django.db import transaction
from django.test import override_settings

from portal.outbox import actions
from portal.outbox.models import OutboxEntry

pytestmark = pytest.mark.django_db


def write(topic, key):
    with transaction.atomic():
        return actions.enqueue(topic, key)


@pytest.mark.django_db(transaction=True)
def test_rows_outside_a_transaction_are_refused():
    with pytest.raises(RuntimeError):
        actions.enqueue("account", "alice")


def test_one_claim_covers_every_row_of_the_object_written_before_it():
    first = write("account", "alice")
    write("account", "alice")
    other = write("account", "bob")
    claim = actions.claim_next("worker-1")
    assert (claim.entry_id, claim.key) == (first.id, "alice")
    assert actions.complete(claim) == 2
    later = write("account", "alice")  # written after the claim: still pending
    claim = actions.claim_next("worker-1")
    assert claim.entry_id == other.id
    actions.complete(claim)
    assert actions.claim_next("worker-1").entry_id == later.id


def test_an_object_in_flight_is_not_claimed_twice():
    write("account", "alice")
    write("account", "alice")
    assert actions.claim_next("worker-1") is not None
    assert actions.claim_next("worker-2") is None


def test_a_failing_row_backs_off_then_parks_without_blocking_others():
    with override_settings(OUTBOX_MAX_ATTEMPTS=2):
        bad = write("account", "broken")
        good = write("account", "fine")
        claim = actions.claim_next("w")
        assert claim.entry_id == bad.id
        assert actions.fail(claim, "Prosody said no") == OutboxEntry.State.PENDING
        # Backing off: the next claim skips the failing row.
        claim = actions.claim_next("w")
        assert claim.entry_id == good.id
        actions.complete(claim)
        OutboxEntry.objects.filter(id=bad.id).update(next_attempt_at=bad.created_at)
        claim = actions.claim_next("w")
        assert actions.fail(claim, "still no") == OutboxEntry.State.PARKED
    bad.refresh_from_db()
    assert (bad.state, bad.attempts, bad.last_error) == ("parked", 2, "still no")
    # A parked row does not hold back newer rows of the same object.
    newer = write("account", "broken")
    assert actions.claim_next("w").entry_id == newer.id


def test_parked_rows_can_be_retried_by_staff():
    entry = write("account", "carol")
    OutboxEntry.objects.filter(id=entry.id).update(state="parked", attempts=8)
    assert actions.retry_parked([entry.id]) == 1
    assert actions.claim_next("w").entry_id == entry.id


def test_released_claim_is_available_again_without_counting_an_attempt():
    entry = write("account", "dave")
    claim = actions.claim_next("w")
    actions.release(claim)
    claim = actions.claim_next("w")
    assert (claim.entry_id, claim.attempts) == (entry.id, 0)


def test_parked_rows_and_their_errors_are_visible_to_staff_in_the_admin(admin_client):
    entry = write("account", "gina")
    OutboxEntry.objects.filter(id=entry.id).update(
        state="parked", attempts=8, last_error="bad-request: credentials are malformed"
    )
    listing = admin_client.get("/admin/outbox/outboxentry/?state__exact=parked")
    assert listing.status_code == 200
    assert b"gina" in listing.content
    detail = admin_client.get(f"/admin/outbox/outboxentry/{entry.id}/change/")
    assert b"credentials are malformed" in detail.content
