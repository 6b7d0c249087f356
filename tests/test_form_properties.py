"""Property-based tests (hypothesis) of the portal's forms: whatever is typed, a form
either refuses it with an error or yields values safe to store, show and send to Prosody."""

import re
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slixmpp import JID

from portal.accounts.usernames import normalize_username, validate_username_format
from portal.profiles.forms import ProfileForm
from portal.profiles.models import ABOUT_MAX_LENGTH, NAME_MAX_LENGTH
from portal.rooms.forms import NewRoomForm

# Any text, with extra weight on the characters that cause trouble.
TRICKY = st.sampled_from(list("\x00\x07\x1b\u202e\u2066\u200b\ufeff<>&\"'\n\r\t /@:"))
TEXT = st.lists(st.one_of(st.characters(), TRICKY), max_size=80).map("".join)
# Near-valid addresses and names: mostly the allowed alphabet, at every length.
ADDRESS = st.one_of(TEXT, st.text(alphabet="abz09._-A\u0430 ", max_size=60))
LONG_TEXT = st.one_of(TEXT, st.text(min_size=400, max_size=2000))
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
EXAMPLES = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def displayable(value: str, multiline: bool) -> bool:
    if UNSAFE.search(value.replace("\n", "").replace("\t", "") if multiline else value):
        return False
    return not any(unicodedata.category(c) in ("Cs", "Co", "Cn") for c in value)


@EXAMPLES
@given(name=TEXT, about=LONG_TEXT)
def test_profile_form_yields_clean_text_or_an_error(name, about):
    form = ProfileForm(data={"name": name, "about": about})
    if not form.is_valid():
        assert form.errors
        return
    cleaned = form.cleaned_data
    assert len(cleaned["name"]) <= NAME_MAX_LENGTH and len(cleaned["about"]) <= ABOUT_MAX_LENGTH
    assert displayable(cleaned["name"], multiline=False) and "\n" not in cleaned["name"]
    assert displayable(cleaned["about"], multiline=True)
    assert cleaned["name"] == cleaned["name"].strip()


@pytest.mark.django_db
@EXAMPLES
@given(slug=ADDRESS, name=TEXT, description=LONG_TEXT)
def test_new_room_form_yields_a_valid_address_and_clean_text_or_an_error(slug, name, description):
    data = {"slug": slug, "name": name, "description": description, "visibility": "public"}
    form = NewRoomForm(data=data)
    if not form.is_valid():
        assert form.errors
        return
    cleaned = form.cleaned_data
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,47}", cleaned["slug"]), cleaned["slug"]
    assert JID(f"{cleaned['slug']}@conference.localhost").user == cleaned["slug"]
    assert cleaned["name"] and len(cleaned["name"]) <= 64
    assert displayable(cleaned["name"], multiline=False)
    assert displayable(cleaned["description"], multiline=True)


@EXAMPLES
@given(raw=ADDRESS)
def test_usernames_that_pass_are_plain_xmpp_localparts(raw):
    username = normalize_username(raw)
    try:
        validate_username_format(username)
    except ValidationError:
        return
    assert username.isascii() and username == username.lower()
    assert not set(username) & set("@/:\"&'<> \x00")
    assert JID(f"{username}@localhost").user == username
