from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from django.conf import settings
from django.db import transaction

from portal.accounts.usernames import (
    normalize_username,
    validate_username_available,
    validate_username_format,
)

SIGNUP_OPEN, SIGNUP_INVITE, SIGNUP_CLOSED = "open", "invite", "closed"


class AccountAdapter(DefaultAccountAdapter):
    """Usernames are XMPP localparts: checked here for every allauth form.
    Who may sign up (ACCOUNT_SIGNUP) and invites are decided here too."""

    def clean_username(self, username: str, shallow: bool = False) -> str:
        username = normalize_username(username)
        validate_username_format(username)
        if not shallow:
            validate_username_available(username)
        return super().clean_username(username, shallow=shallow)

    def is_open_for_signup(self, request) -> bool:
        """open: anyone; invite: only with a usable invite; closed: nobody."""
        from portal.invites.session import invite_of

        if settings.SIGNUP_MODE == SIGNUP_CLOSED:
            return False
        invite = invite_of(request)  # an unusable invite answers with its error page
        return settings.SIGNUP_MODE == SIGNUP_OPEN or invite is not None

    def save_user(self, request, user, form, commit=True):
        """The account, one use of the invite it came with and the invite's rooms
        commit together, or not at all."""
        from portal.invites import actions as invite_actions
        from portal.invites.session import forget_invite, invite_error_response, invite_token

        token = invite_token(request)
        if not token:
            return super().save_user(request, user, form, commit)
        try:
            with transaction.atomic():
                invite = invite_actions.take_use(token)
                user = super().save_user(request, user, form, commit)
                invite_actions.invite_used(invite, user)
        except invite_actions.InviteUnusable as unusable:
            forget_invite(request)
            raise ImmediateHttpResponse(invite_error_response(request, unusable)) from None
        forget_invite(request)
        return user
