def invites(request):
    """Whether the navigation offers the invites page to this person."""
    from invites.views import may_invite

    user = getattr(request, "user", None)
    return {"may_invite": bool(user and user.is_authenticated and may_invite(user))}
