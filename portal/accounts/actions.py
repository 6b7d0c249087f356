"""Every change to an account that Prosody must learn goes through here."""

from django.db import transaction

from accounts.models import RetiredUsername, User
from outbox.actions import enqueue

ACCOUNT_TOPIC = "account"

# Fields whose change alters what Prosody must hold for the account.
XMPP_FIELDS = ("username", "is_active", "scram_salt", "scram_stored_key", "scram_server_key")


def sync_account(username: str) -> None:
    """Tell the bridge that <username>'s XMPP account must match the portal."""
    enqueue(ACCOUNT_TOPIC, username)


def account_changed(user: User, created: bool, update_fields) -> None:
    if update_fields is not None and not set(update_fields) & set(XMPP_FIELDS):
        return  # e.g. last_login: nothing Prosody holds
    sync_account(user.username)


def retire_account(user: User) -> None:
    """A deleted account keeps its name forever and loses its XMPP account and data."""
    with transaction.atomic():
        RetiredUsername.objects.get_or_create(username=user.username)
        sync_account(user.username)


def deactivate(user: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def reactivate(user: User) -> None:
    user.is_active = True
    user.save(update_fields=["is_active"])
