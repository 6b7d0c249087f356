from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.audit.models import AuditEntry
from portal.audit.views import render_log
from portal.core.text import clean_text
from portal.rooms import actions
from portal.rooms.access import (
    access_room,
    access_room_audit,
    access_room_for_delete,
    access_room_for_edit,
    access_room_for_members,
    access_room_for_moderation,
    remote_affiliations,
    room_rights,
    visible_rooms,
)
from portal.rooms.forms import AffiliationForm, NewRoomForm, OccupantActionForm, RoomSettingsForm
from portal.rooms.models import MEMBER_KINDS, Room
from portal.rooms.occupants import visible_occupants

ROOMS_PER_PAGE = 50


def room_list(request):
    rooms = visible_rooms(request.user)
    query = clean_text(request.GET.get("q", ""), multiline=False, max_length=100)
    if query:
        rooms = rooms.filter(
            Q(slug__icontains=query) | Q(name__icontains=query) | Q(description__icontains=query)
        )
    page = Paginator(rooms, ROOMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "rooms/list.html", {"page": page, "query": query})


@login_required
def room_new(request):
    form = NewRoomForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            room = actions.create_room(request.user, form.save(commit=False))
        except IntegrityError:  # the same address, taken a moment ago
            form.add_error("slug", Room._meta.get_field("slug").error_messages["unique"])
        else:
            messages.success(request, _("Room %(slug)s created.") % {"slug": room.slug})
            return redirect("room-detail", slug=room.slug)
    return render(request, "rooms/new.html", {"form": form})


def room_detail(request, slug):
    room, kind = access_room(request.user, slug)
    rights = room_rights(request.user, room, kind)
    affiliations = room.affiliations.select_related("user").order_by("kind", "user__username")
    remote = remote_affiliations(room)
    if not rights.can_manage:
        affiliations = affiliations.filter(kind__in=MEMBER_KINDS)  # the ban list is theirs
        remote = remote.filter(kind__in=MEMBER_KINDS)
    occupants = visible_occupants(room, rights.moderator)
    context = {
        "room": room,
        "rights": rights,
        "affiliations": affiliations,
        "remote_affiliations": remote,
        "occupants": [(occupant, rights.occupant_actions(occupant)) for occupant in occupants],
    }
    return render(request, "rooms/detail.html", context)


@login_required
@require_POST
def room_occupant(request, slug):
    """A moderator kicks, bans, or gives or takes voice or the moderator role."""
    room, rights = access_room_for_moderation(request.user, slug)
    form = OccupantActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what to do and to whom."))
        return redirect("room-detail", slug=room.slug)
    jid, what, reason = (form.cleaned_data[name] for name in ("jid", "action", "reason"))
    try:
        actions.moderate_occupant(room, request.user, rights, jid, what, reason)
    except actions.ModerationRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            _("Done: %(action)s %(jid)s.") % {"action": dict(form.ACTIONS)[what], "jid": jid},
        )
    return redirect("room-detail", slug=room.slug)


@login_required
def room_edit(request, slug):
    room = access_room_for_edit(request.user, slug)
    form = RoomSettingsForm(request.POST or None, instance=room)
    if request.method == "POST" and form.is_valid():
        actions.save_room(form.save(commit=False))
        messages.success(request, _("Room settings saved."))
        return redirect("room-detail", slug=room.slug)
    return render(request, "rooms/edit.html", {"room": room, "form": form})


@login_required
def room_delete(request, slug):
    room = access_room_for_delete(request.user, slug)
    if request.method == "POST" and request.POST.get("confirm") == room.slug:
        actions.delete_room(room)
        messages.success(request, _("Room %(slug)s deleted.") % {"slug": slug})
        return redirect("room-list")
    mismatch = request.method == "POST"
    return render(request, "rooms/delete.html", {"room": room, "mismatch": mismatch})


@login_required
def room_members(request, slug):
    room, rights = access_room_for_members(request.user, slug)
    form = AffiliationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["username"]
        try:
            if isinstance(user, str):  # the address of someone on another server
                actions.set_remote_affiliation(room, request.user, user, form.new_kind)
            else:
                actions.set_affiliation(room, request.user, user, form.new_kind)
        except actions.AffiliationRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, _("Affiliation of %(user)s updated.") % {"user": user})
            return redirect("room-members", slug=room.slug)
    affiliations = room.affiliations.select_related("user").order_by("kind", "user__username")
    context = {
        "room": room,
        "form": form,
        "affiliations": [(a, rights.affiliation_changes(a.kind)) for a in affiliations],
        "remote_affiliations": [
            (r, rights.affiliation_changes(r.kind, remote=True)) for r in remote_affiliations(room)
        ],
    }
    status = 400 if form.is_bound else 200
    return render(request, "rooms/members.html", context, status=status)


@login_required
@require_POST
def room_leave(request, slug):
    room, _kind = access_room(request.user, slug)
    try:
        actions.leave_room(room, request.user)
    except actions.AffiliationRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("room-detail", slug=room.slug)
    messages.success(request, _("You left %(slug)s.") % {"slug": room.slug})
    return redirect("room-list")


@login_required
def room_audit(request, slug):
    """The room's own entries of the audit log, for its owners."""
    room = access_room_audit(request.user, slug)
    # A later room with a deleted room's address does not inherit its log.
    entries = AuditEntry.objects.filter(room_slug=room.slug, created_at__gte=room.created_at)
    return render_log(request, entries, room=room)
