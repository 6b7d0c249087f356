"""Hostile strings through the portal's real pages: every one ends in a clear form
error or a cleaned, escaped value; never a server error, never a script on a page."""

import pytest

from portal.accounts.models import User
from portal.profiles.models import Profile
from portal.rooms.models import Room
from tests.people import capture_outbox, post_signup, sign_up

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
CORPUS = {
    "script tag": XSS,
    "attribute breakout": IMG,
    "javascript url": "javascript:alert(1)",
    "sql quote": "'; DROP TABLE rooms_room; --",
    "sql tautology": "' OR '1'='1",
    "template injection": "{{ 7*7 }}{% debug %}${7*7}",
    "right-to-left override": "\u202eexe.gnp",
    "homoglyph": "\u0430dmin",  # Cyrillic a
    "zero-width": "ad\u200bmin\u2060",
    "nul byte": "a\x00b",
    "control characters": "bell\x07\x1b[31mred\x01",
    "combining pile": "Z" + "\u0336\u0322\u031b" * 200,
    "path traversal": "../../etc/passwd",
    "overlong": "A" * 10_000,
    "emoji": "\U0001f525" * 40,
    "only spaces": "   \u3000  ",
    "newlines": "one\ntwo\r\nthree",
}
MARKUP = ("<script>alert(1)", "<img src=x")
# Stored text shown to others never carries these (a form may echo its own input).
SPOOFING = ("\u202e", "\x00", "\x07", "\x1b")


def assert_safe_page(response, stored=False):
    assert response.status_code < 500
    text = response.content.decode()
    for raw in MARKUP + (SPOOFING if stored else ()):
        assert raw not in text, f"{raw!r} on {response.request['PATH_INFO']}"


@pytest.fixture
def alice():
    client = sign_up("alice")
    Room.objects.create(slug="lounge", name="Lounge")
    return client


@pytest.mark.parametrize("label", CORPUS)
def test_hostile_usernames_are_refused_at_signup(label):
    response = post_signup(CORPUS[label], email="x@example.org")
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert_safe_page(response)
    assert not User.objects.exists()


@pytest.mark.parametrize("label", CORPUS)
def test_hostile_room_addresses_are_refused(alice, label):
    with capture_outbox() as written:
        response = alice.post(
            "/rooms/new/",
            {"slug": CORPUS[label], "name": "x", "visibility": "public", "persistent": "on"},
        )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert_safe_page(response)
    assert list(Room.objects.values_list("slug", flat=True)) == ["lounge"]
    assert not written


@pytest.mark.parametrize("label", CORPUS)
def test_hostile_room_names_are_refused_or_cleaned_and_always_escaped(alice, label):
    value = CORPUS[label]
    response = alice.post(
        "/rooms/new/",
        {
            "slug": "hostile",
            "name": value,
            "description": value,
            "visibility": "public",
            "persistent": "on",
        },
    )
    assert_safe_page(response)
    room = Room.objects.filter(slug="hostile").first()
    if response.status_code == 200:
        assert b"errorlist" in response.content and room is None
        return
    assert response.status_code == 302
    for stored in (room.name, room.description):
        assert not set(stored) & set("\u202e\x00\x07\x1b\x01"), repr(stored)
    assert room.name.strip() and len(room.name) <= 64 and len(room.description) <= 500
    for page in ("/rooms/", "/rooms/hostile/", "/rooms/hostile/edit/", "/rooms/?q=alert"):
        assert_safe_page(alice.get(page), stored=True)


@pytest.mark.parametrize("label", CORPUS)
def test_hostile_profile_text_is_refused_or_cleaned_and_always_escaped(alice, label):
    value = CORPUS[label]
    response = alice.post("/profile/", {"name": value, "about": value})
    assert_safe_page(response)
    profile = Profile.objects.filter(user__username="alice").first()
    if response.status_code == 200:
        assert b"errorlist" in response.content
        assert profile is None or (profile.name, profile.about) == ("", "")
        return
    assert response.status_code == 302
    for page in ("/people/", "/people/alice/", "/profile/"):
        assert_safe_page(alice.get(page), stored=True)


@pytest.mark.parametrize("label", CORPUS)
def test_hostile_values_in_addresses_and_queries_are_harmless(alice, label):
    value = CORPUS[label]
    for path in ("/rooms/", "/people/", "/chat/"):
        assert_safe_page(alice.get(path, {"q": value, "room": value, "with": value}))
    for path in (f"/rooms/{value}/", f"/people/{value}/", f"/media/avatars/{value}"):
        if "\x00" in value or "/" in value:
            continue  # not a single path segment
        response = alice.get(path)
        assert response.status_code == 404, path


def test_a_polyglot_image_is_re_encoded_without_its_payload(alice, settings, tmp_path):
    """A PNG that is also an HTML page: accepted as a picture, stored as pixels only."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from portal.profiles import avatars

    settings.MEDIA_ROOT = tmp_path / "media"
    out = io.BytesIO()
    Image.new("RGB", (64, 64), "green").save(out, "PNG")
    polyglot = out.getvalue() + b"<html><script>alert(document.cookie)</script></html>"
    response = alice.post(
        "/profile/",
        {"name": "Poly", "about": "", "avatar": SimpleUploadedFile("a.png", polyglot)},
    )
    assert response.status_code == 302
    profile = Profile.objects.get(user__username="alice")
    stored = avatars.read(profile.avatar)
    assert stored.startswith(b"\xff\xd8") and b"<script" not in stored
    served = alice.get(f"/media/avatars/{profile.avatar}")
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
