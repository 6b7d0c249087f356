from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.invites import actions
from portal.invites.forms import InviteForm
from portal.invites.models import Invite
from portal.invites.qr import qr_svg
from portal.invites.session import invite_error_response, remember_invite


def may_invite(user) -> bool:
    return user.is_staff or (settings.INVITES_BY_MEMBERS and user.is_active)


def access_invite(user, pk: int) -> Invite:
    """Staff see every invite; others only their own (the rest do not exist: 404)."""
    invite = get_object_or_404(Invite.objects.select_related("created_by"), pk=pk)
    if not user.is_staff and invite.created_by_id != user.pk:
        raise Http404("No such invite.")
    return invite


@login_required
def invite_list(request):
    if not may_invite(request.user):
        raise PermissionDenied("Only staff can create invites here.")
    form = InviteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        invite = actions.create_invite(request.user, **form.cleaned_data)
        messages.success(request, _("Invite created."))
        return redirect("invite-detail", pk=invite.pk)
    invites = Invite.objects.select_related("created_by").prefetch_related("rooms")
    if not request.user.is_staff:
        invites = invites.filter(created_by=request.user)
    context = {"form": form, "invites": invites[:200], "signup_mode": settings.SIGNUP_MODE}
    return render(request, "invites/list.html", context, status=400 if form.is_bound else 200)


@login_required
def invite_detail(request, pk):
    invite = access_invite(request.user, pk)
    link = request.build_absolute_uri(invite.path)
    context = {"invite": invite, "link": link, "qr": qr_svg(link)}
    return render(request, "invites/detail.html", context)


@login_required
@require_POST
def invite_revoke(request, pk):
    invite = access_invite(request.user, pk)
    actions.revoke_invite(request.user, invite)
    messages.success(request, _("Invite withdrawn: its link no longer works."))
    return redirect("invite-detail", pk=invite.pk)


def invite_accept(request, token):
    """Where an invite link leads: remember it, then on to the signup form."""
    if settings.SIGNUP_MODE == "closed":
        return render(request, "invites/unusable.html", {"closed": True}, status=410)
    try:
        invite = actions.usable_invite(token)
    except actions.InviteUnusable as unusable:
        return invite_error_response(request, unusable)
    if request.user.is_authenticated:
        return render(request, "invites/welcome.html", {"invite": invite, "signed_in": True})
    remember_invite(request, invite.token)
    return render(request, "invites/welcome.html", {"invite": invite})
