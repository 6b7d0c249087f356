from allauth.account.adapter import DefaultAccountAdapter

from accounts.usernames import (
    normalize_username,
    validate_username_available,
    validate_username_format,
)


class AccountAdapter(DefaultAccountAdapter):
    """Usernames are XMPP localparts: checked here for every allauth form."""

    def clean_username(self, username: str, shallow: bool = False) -> str:
        username = normalize_username(username)
        validate_username_format(username)
        if not shallow:
            validate_username_available(username)
        return super().clean_username(username, shallow=shallow)
