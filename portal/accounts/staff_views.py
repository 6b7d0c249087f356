"""Staff pages on people: find an account, see its XMPP sessions and sync state,
deactivate, reactivate, delete it or mail it a password reset link."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from portal.accounts import actions
from portal.accounts.staff import (
    access_account,
    rooms_owned_alone,
    search_accounts,
    staff_required,
    sync_counts,
    unsynced_rows,
)
from portal.core.text import clean_text
from portal.outbox.models import OutboxEntry

PEOPLE_PER_PAGE = 50
REASON_MAX_LENGTH = 500


def _reason(request) -> str:
    return clean_text(request.POST.get("reason", ""), multiline=True, max_length=REASON_MAX_LENGTH)


@staff_required
def people(request):
    query = clean_text(request.GET.get("q", ""), multiline=False, max_length=100)
    page = Paginator(search_accounts(query), PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    counts = sync_counts(person.username for person in page)
    rows = [(person, counts.get(person.username, {})) for person in page]
    return render(request, "accounts/staff/people.html", {"page": page, "rows": rows, "q": query})


@staff_required
def person(request, username):
    account = access_account(username)
    rows = list(unsynced_rows(account.username))
    context = {
        "account": account,
        "presence": getattr(account, "xmpp_presence", None),
        "rows": rows,
        "has_parked": any(row.state == OutboxEntry.State.PARKED for row in rows),
        "rooms": actions.rooms_of(account),
        "owned_alone": rooms_owned_alone(account),
        "is_self": account.pk == request.user.pk,
    }
    return render(request, "accounts/staff/person.html", context)


def _act(request, username, action, done_message):
    account = access_account(username)
    try:
        action(account)
    except actions.AccountRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, done_message % {"username": account.username})
    return redirect("staff-person", username=account.username)


@staff_required
@require_POST
def deactivate(request, username):
    return _act(
        request,
        username,
        lambda account: actions.deactivate_account(request.user, account, _reason(request)),
        _("%(username)s is deactivated: logins are refused and XMPP sessions end."),
    )


@staff_required
@require_POST
def reactivate(request, username):
    return _act(
        request,
        username,
        lambda account: actions.reactivate_account(request.user, account, _reason(request)),
        _("%(username)s is active again."),
    )


@staff_required
@require_POST
def reset_password(request, username):
    return _act(
        request,
        username,
        lambda account: actions.send_password_reset(request.user, account, request),
        _("A password reset link was sent to %(username)s."),
    )


@staff_required
@require_POST
def retry_sync(request, username):
    return _act(
        request,
        username,
        lambda account: actions.retry_sync(request.user, account),
        _("The parked changes of %(username)s are queued again."),
    )


@staff_required
@require_POST
def delete(request, username):
    account = access_account(username)
    if request.POST.get("confirm") != account.username:
        messages.error(request, _("Type the username to confirm the deletion."))
        return redirect("staff-person", username=account.username)
    try:
        actions.delete_account(request.user, account, _reason(request))
    except actions.AccountRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("staff-person", username=account.username)
    messages.success(request, _("%(username)s was deleted.") % {"username": username})
    return redirect("staff-people")
