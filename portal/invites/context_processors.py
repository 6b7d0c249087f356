from django.conf import settings


def invites(request):
    """Whether the navigation offers the invites page, and the sign-up link."""
    from portal.invites.views import may_invite

    user = getattr(request, "user", None)
    return {
        "may_invite": bool(user and user.is_authenticated and may_invite(user)),
        # With invitation-only sign-up the way in is the invite link itself.
        "signup_open": settings.SIGNUP_MODE == "open",
    }
