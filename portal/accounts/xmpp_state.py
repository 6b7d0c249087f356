"""The desired state of XMPP accounts, as the bridge reads it from the portal."""

from portal.accounts.models import RetiredUsername, User
from portal.outbox.payloads import AccountState


def _account_state(user: User) -> AccountState:
    return AccountState(
        username=user.username,
        salt=user.scram_salt,
        iterations=user.scram_iterations,
        stored_key=user.scram_stored_key,
        server_key=user.scram_server_key,
        active=user.is_active,
    )


_FIELDS = ("username", "scram_salt", "scram_iterations", "scram_stored_key")
_FIELDS += ("scram_server_key", "is_active")


def desired_account(username: str) -> AccountState | None:
    """The account as Prosody must hold it, or None when it must not exist."""
    user = User.objects.filter(username=username).only(*_FIELDS).first()
    if user is None or not user.scram_stored_key:
        return None
    return _account_state(user)


def desired_accounts() -> dict[str, AccountState]:
    users = User.objects.exclude(scram_stored_key="").only(*_FIELDS).iterator(chunk_size=2000)
    return {user.username: _account_state(user) for user in users}


def retired_usernames() -> frozenset[str]:
    return frozenset(RetiredUsername.objects.values_list("username", flat=True))
