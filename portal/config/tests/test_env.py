"""Settings read from the environment fail loudly on values they do not know."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from portal.config.env import env_choice

SIGNUP_MODES = ("open", "invite", "closed")


def test_a_setting_with_named_choices_takes_one_of_them(monkeypatch):
    monkeypatch.delenv("ACCOUNT_SIGNUP", raising=False)
    assert env_choice("ACCOUNT_SIGNUP", "open", SIGNUP_MODES) == "open"
    monkeypatch.setenv("ACCOUNT_SIGNUP", "Invite")
    assert env_choice("ACCOUNT_SIGNUP", "open", SIGNUP_MODES) == "invite"


def test_an_unknown_choice_is_refused_with_the_allowed_ones(monkeypatch):
    monkeypatch.setenv("ACCOUNT_SIGNUP", "maybe")
    with pytest.raises(ImproperlyConfigured, match="open, invite, closed"):
        env_choice("ACCOUNT_SIGNUP", "open", SIGNUP_MODES)
