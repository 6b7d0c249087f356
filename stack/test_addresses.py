"""CHATBOARD_MUC_DOMAIN as the portal, the bridge and Prosody's config read it."""

import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.config import ConfigError as BridgeConfigError
from stack.addresses import Addresses
from stack.environment import REPO_DIR
from stack.prosody import ConfigError, ProsodyConfig

ENV = {"XMPP_TOKEN_SECRET": "t", "BRIDGE_COMPONENT_SECRET": "b", "CHATBOARD_DOMAIN": "example.org"}


def portal_setting(env: dict[str, str], name: str) -> subprocess.CompletedProcess:
    code = f"from django.conf import settings; print(settings.{name})"
    return subprocess.run(
        [sys.executable, "-m", "portal.manage", "shell", "--no-imports", "-c", code],
        env={**env, "DJANGO_SECRET_KEY": "k", "PATH": "/usr/bin:/bin"},
        cwd=REPO_DIR, capture_output=True, text=True,
    )  # fmt: skip


def test_rooms_default_to_conference_under_the_domain(tmp_path: Path):
    assert Addresses.from_env(ENV).muc == "conference.example.org"
    assert BridgeConfig.from_env(ENV).muc_domain == "conference.example.org"
    assert (
        'Component "conference.example.org" "muc"' in ProsodyConfig.from_env(ENV, tmp_path).render()
    )


def test_every_component_takes_the_same_room_service(tmp_path: Path):
    env = {**ENV, "CHATBOARD_MUC_DOMAIN": "Rooms.Example.org "}
    rendered = ProsodyConfig.from_env(env, tmp_path).render()
    assert 'Component "rooms.example.org" "muc"' in rendered
    assert "conference." not in rendered
    assert BridgeConfig.from_env(env).muc_domain == "rooms.example.org"
    result = portal_setting(env, "XMPP_MUC_DOMAIN")
    assert result.stdout.strip() == "rooms.example.org", result.stderr


@pytest.mark.parametrize(
    "value", ["rooms example.org", "rooms@example.org", "example.org", "upload.example.org"]
)
def test_a_room_service_name_that_cannot_work_is_refused_everywhere(tmp_path: Path, value):
    env = {**ENV, "CHATBOARD_MUC_DOMAIN": value}
    with pytest.raises(ConfigError, match="CHATBOARD_MUC_DOMAIN"):
        ProsodyConfig.from_env(env, tmp_path)
    with pytest.raises(BridgeConfigError, match="CHATBOARD_MUC_DOMAIN"):
        BridgeConfig.from_env(env)
    result = portal_setting(env, "XMPP_MUC_DOMAIN")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "CHATBOARD_MUC_DOMAIN" in result.stderr


def test_jids_of_people_and_rooms_are_built_and_read_in_one_place():
    addresses = Addresses.for_domain("example.org", "rooms.example.org")
    assert addresses.person("alice") == "alice@example.org"
    assert addresses.room("lounge") == "lounge@rooms.example.org"
    assert addresses.local_username("alice@example.org") == "alice"
    for elsewhere in ("bob@b.example", "alice@example.org/phone", "example.org", "@example.org"):
        assert addresses.local_username(elsewhere) is None, elsewhere
