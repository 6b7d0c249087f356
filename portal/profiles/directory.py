"""Finding people: the queries behind /people/ and the profile pages."""

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from portal.accounts.models import User

SEARCH_MAX_LENGTH = 64


def search_people(query: str = "") -> QuerySet[User]:
    """Active people, by username, optionally those whose username or display name
    contains `query`. One query per page: each row brings its profile along."""
    people = User.objects.filter(is_active=True).select_related("profile").order_by("username")
    query = query.strip()[:SEARCH_MAX_LENGTH]
    if query:
        people = people.filter(Q(username__icontains=query) | Q(profile__name__icontains=query))
    return people


def access_person(username: str) -> User:
    """The active person behind a profile page, or 404 (deactivated people vanish)."""
    return get_object_or_404(
        User.objects.select_related("profile"), username=username, is_active=True
    )
