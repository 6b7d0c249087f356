"""The invite a visitor arrived with, kept in their session until they sign up."""

from django.shortcuts import render

SESSION_KEY = "invite_token"


def remember_invite(request, token: str) -> None:
    request.session[SESSION_KEY] = token


def invite_token(request) -> str:
    return request.session.get(SESSION_KEY, "")


def forget_invite(request) -> None:
    request.session.pop(SESSION_KEY, None)


def invite_error_response(request, unusable):
    return render(request, "invites/unusable.html", {"message": unusable.message}, status=410)


def invite_of(request):
    """The usable invite in the session, None without one; an unusable one
    stops the signup with its reason (allauth shows the response)."""
    from allauth.core.exceptions import ImmediateHttpResponse

    from portal.invites.actions import InviteUnusable, usable_invite

    token = invite_token(request)
    if not token:
        return None
    try:
        return usable_invite(token)
    except InviteUnusable as unusable:
        forget_invite(request)
        raise ImmediateHttpResponse(invite_error_response(request, unusable)) from None
