"""The profile page, the people directory and profile pages, through real HTTP."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.accounts import actions as account_actions
from portal.accounts.models import User
from portal.outbox.models import OutboxEntry
from portal.profiles.models import Profile
from tests.people import sign_up

SCRIPT = '<script>alert("x")</script>'


@pytest.fixture
def alice(db):
    return sign_up("alice")


def save(client, **fields):
    response = client.post("/profile/", {"name": "", "about": ""} | fields)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


def test_profile_pages_need_a_login(client, db):
    sign_up("bob")
    for url in ("/profile/", "/people/", "/people/bob/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_saving_name_and_about_shows_success_and_writes_one_outbox_row(alice):
    response = alice.post(
        "/profile/", {"name": "  Alice   Liddell ", "about": "Curious.\r\nVery."}, follow=True
    )
    assert b"Profile saved." in response.content
    profile = Profile.objects.get(user__username="alice")
    assert (profile.name, profile.about) == ("Alice Liddell", "Curious.\nVery.")
    assert OutboxEntry.objects.filter(topic="profile", key="alice").count() == 1

    again = alice.post("/profile/", {"name": "Alice Liddell", "about": "Curious.\nVery."})
    assert again.status_code == 302
    assert OutboxEntry.objects.filter(topic="profile", key="alice").count() == 1, "no change"


def test_too_long_name_or_about_is_refused_with_errors_on_the_page(alice):
    response = alice.post("/profile/", {"name": "n" * 65, "about": "a" * 501})
    assert response.status_code == 200
    assert response.content.count(b'class="errorlist"') == 2
    assert b"not saved" in response.content
    assert not Profile.objects.filter(user__username="alice").exists()


def test_control_characters_and_bidi_overrides_are_dropped_from_names(alice):
    save(alice, name="Ali\u202ece\x07", about="line\x1b one")
    profile = Profile.objects.get(user__username="alice")
    assert (profile.name, profile.about) == ("Alice", "line one")


def test_profile_page_links_to_email_management(alice):
    response = alice.get("/profile/")
    assert b'href="/accounts/email/"' in response.content


def test_nav_links_to_people_and_profile(alice):
    response = alice.get("/")
    assert b'href="/people/"' in response.content
    assert b'href="/profile/"' in response.content


def test_person_page_shows_name_about_jid_and_a_message_link(alice):
    save(alice, name="Alice Liddell", about="Curious.")
    bob = sign_up("bob")
    response = bob.get("/people/alice/")
    assert response.status_code == 200
    content = response.content.decode()
    assert "Alice Liddell" in content and "Curious." in content
    assert "alice@localhost" in content
    assert 'href="/chat/?with=alice"' in content


def test_person_without_a_profile_shows_their_username(alice):
    sign_up("bob")
    response = alice.get("/people/bob/")
    assert response.status_code == 200
    assert b"bob@localhost" in response.content


def test_script_in_name_or_about_is_escaped_on_every_page(alice):
    save(alice, name=SCRIPT[:64], about=f"{SCRIPT} about")
    bob = sign_up("bob")
    pages = [
        (alice, "/profile/"),
        (alice, "/people/alice/"),
        (bob, "/people/alice/"),
        (bob, "/people/"),
        (bob, "/people/?q=script"),
        (bob, "/people/?q=" + SCRIPT[:20]),
        (alice, "/"),
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"<script>" not in response.content, url
    for client, url in pages[:5]:
        assert b"&lt;script&gt;" in client.get(url).content, url


def test_directory_finds_people_by_name_and_username_and_hides_deactivated_ones(alice):
    save(alice, name="Alice Liddell")
    bob = sign_up("bob")
    save(bob, name="Robert Paulson")
    carol = sign_up("carol")
    save(carol, name="Alice Cooper")
    account_actions.deactivate(User.objects.get(username="carol"))

    def found(query):
        response = bob.get("/people/", {"q": query})
        assert response.status_code == 200
        return [person.username for person in response.context["page"]]

    assert found("liddell") == ["alice"]
    assert found("ROBERT") == ["bob"]
    assert found("bo") == ["bob"]
    assert found("alice") == ["alice"], "carol is deactivated"
    assert found("coop") == []
    assert found("") == ["alice", "bob"]
    assert bob.get("/people/carol/").status_code == 404
    assert bob.get("/people/nobody/").status_code == 404


def _many_people(count):
    users = User.objects.bulk_create(
        User(username=f"user{i:05d}", email=f"user{i:05d}@example.org", is_active=i % 10 != 0)
        for i in range(count)
    )
    Profile.objects.bulk_create(
        Profile(user=user, name=f"Person number {i}") for i, user in enumerate(users)
    )


def test_directory_is_paginated_fifty_a_page(alice):
    _many_people(120)  # 108 active, plus alice
    first = alice.get("/people/")
    assert len(first.context["page"]) == 50
    assert first.context["page"].paginator.count == 109
    last = alice.get("/people/", {"page": 3})
    assert len(last.context["page"]) == 9
    assert b'rel="prev"' in last.content
    searched = alice.get("/people/", {"q": "person number", "page": 2})
    assert searched.context["page"].paginator.count == 108
    assert b"q=person%20number&amp;page=1" in searched.content
    assert b"q=person%20number&amp;page=3" in searched.content


def test_directory_stays_fast_with_ten_thousand_people(alice):
    _many_people(10_000)
    for query in ("", "number 9999", "user0", "zzz"):
        with CaptureQueriesContext(connection) as queries:
            started = time.monotonic()
            response = alice.get("/people/", {"q": query, "page": 2})
            elapsed = time.monotonic() - started
        assert response.status_code == 200
        # session + user, then count + page: no query per person.
        assert len(queries) <= 5, [q["sql"] for q in queries]
        assert elapsed < 0.5, f"{query!r}: {elapsed:.2f} s"
