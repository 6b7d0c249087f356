"""The audit log commits and rolls back with the action it records."""

import pytest
from django.db import transaction

from portal.accounts.models import User
from portal.audit.actions import record
from portal.audit.models import AuditEntry


@pytest.mark.django_db(transaction=True)
def test_an_entry_outside_the_actions_transaction_is_refused():
    with pytest.raises(RuntimeError):
        record(None, "user.deactivate", "alice")
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_action_that_rolls_back_leaves_no_entry():
    with pytest.raises(ValueError), transaction.atomic():
        record(None, "user.deactivate", "alice")
        raise ValueError("the action failed after logging")
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_the_entry_keeps_the_actors_name_after_the_account_is_gone():
    moderator = User.objects.create_user("mona", "mona@example.org", "a long passphrase")
    with transaction.atomic():
        record(moderator, "room.kick", "troll", room_slug="lounge", reason="spam")
    moderator.delete()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_name, entry.target) == (None, "mona", "troll")
    assert (entry.room_slug, entry.reason) == ("lounge", "spam")
