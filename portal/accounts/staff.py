"""Queries behind the staff pages on people: search, sync state, sessions."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404

from portal.accounts.actions import PERSON_TOPICS
from portal.accounts.models import User
from portal.outbox.models import OutboxEntry

SEARCH_MAX_LENGTH = 64


def staff_required(view):
    """Logged-in staff only: others get 403 (anonymous visitors the login page)."""

    @login_required
    @wraps(view)
    def check(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return check


def search_accounts(query: str = "") -> QuerySet[User]:
    """Every account, deactivated ones included, by username, e-mail or display name."""
    people = User.objects.select_related("profile", "xmpp_presence").order_by("username")
    query = query.strip()[:SEARCH_MAX_LENGTH]
    if query:
        people = people.filter(
            Q(username__icontains=query)
            | Q(email__icontains=query)
            | Q(profile__name__icontains=query)
        )
    return people


def access_account(username: str) -> User:
    return get_object_or_404(
        User.objects.select_related("profile", "xmpp_presence"), username=username
    )


def _unsynced() -> QuerySet[OutboxEntry]:
    unfinished = (OutboxEntry.State.PENDING, OutboxEntry.State.PARKED)
    return OutboxEntry.objects.filter(topic__in=PERSON_TOPICS, state__in=unfinished)


def unsynced_rows(username: str) -> QuerySet[OutboxEntry]:
    """The person's outbox rows Prosody has not taken yet: pending, or parked with an error."""
    return _unsynced().filter(key=username).order_by("id")


def sync_counts(usernames) -> dict[str, dict[str, int]]:
    """username -> {"pending": n, "parked": n}, for one page of the list."""
    rows = _unsynced().filter(key__in=list(usernames)).values("key", "state")
    rows = rows.annotate(n=Count("id")).order_by()
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        counts.setdefault(row["key"], {})[row["state"]] = row["n"]
    return counts


def rooms_owned_alone(user: User) -> list[str]:
    """Slugs of the rooms <user> is the only owner of: without them, nobody owns those."""
    from portal.rooms.models import Affiliation

    owner = Affiliation.Kind.OWNER
    mine = Affiliation.objects.filter(user=user, kind=owner).values_list("room_id", flat=True)
    rows = Affiliation.objects.filter(room_id__in=list(mine), kind=owner).values("room__slug")
    rows = rows.annotate(owners=Count("id")).filter(owners=1).order_by("room__slug")
    return [row["room__slug"] for row in rows]
