"""The desired state of XMPP accounts, as the bridge reads it from the portal."""

import hashlib
from dataclasses import dataclass

from portal.accounts.models import RetiredUsername, User


@dataclass(frozen=True)
class AccountState:
    username: str
    salt: str
    iterations: int
    stored_key: str
    server_key: str
    active: bool

    @classmethod
    def from_user(cls, user: User) -> "AccountState":
        return cls(
            username=user.username,
            salt=user.scram_salt,
            iterations=user.scram_iterations,
            stored_key=user.scram_stored_key,
            server_key=user.scram_server_key,
            active=user.is_active,
        )

    @property
    def fingerprint(self) -> str:
        """The same digest mod_chatboard_accounts computes for what it stores."""
        parts = [
            self.salt,
            str(self.iterations),
            self.stored_key,
            self.server_key,
            "active" if self.active else "disabled",
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


_FIELDS = ("username", "scram_salt", "scram_iterations", "scram_stored_key")
_FIELDS += ("scram_server_key", "is_active")


def desired_account(username: str) -> AccountState | None:
    """The account as Prosody must hold it, or None when it must not exist."""
    user = User.objects.filter(username=username).only(*_FIELDS).first()
    if user is None or not user.scram_stored_key:
        return None
    return AccountState.from_user(user)


def desired_accounts() -> dict[str, AccountState]:
    users = User.objects.exclude(scram_stored_key="").only(*_FIELDS).iterator(chunk_size=2000)
    return {user.username: AccountState.from_user(user) for user in users}


def retired_usernames() -> set[str]:
    return set(RetiredUsername.objects.values_list("username", flat=True))
