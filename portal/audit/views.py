from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from portal.audit.forms import AuditFilterForm
from portal.audit.models import AuditEntry

ENTRIES_PER_PAGE = 50


def render_log(request, entries, *, room=None):
    """The log page for `entries` (already limited to what the viewer may read)."""
    form = AuditFilterForm(request.GET or None, entries=entries)
    page = Paginator(form.filter(entries), ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "room": room, "query": query.urlencode()}
    return render(request, "audit/log.html", context)


@login_required
def audit_log(request):
    """Every moderation and administration action, for staff."""
    if not request.user.is_staff:
        raise PermissionDenied("Only staff can read the audit log.")
    return render_log(request, AuditEntry.objects.all())
