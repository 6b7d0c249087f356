"""Federation settings as the environment gives them and the Prosody config they make."""

from pathlib import Path

import pytest

from stack.prosody import ConfigError, ProsodyConfig

SECRETS = {"XMPP_TOKEN_SECRET": "t" * 40, "BRIDGE_COMPONENT_SECRET": "b" * 40}


def rendered(**env) -> str:
    return ProsodyConfig.from_env({**SECRETS, **env}, Path("/tmp/unused")).render()


def test_default_is_open_federation_with_verified_certificates():
    config = rendered(CHATBOARD_DOMAIN="chat.example")
    assert "s2s_require_encryption = true" in config
    assert "s2s_secure_auth = true" in config
    assert 'modules_disabled = { "s2s" }' not in config
    assert "chatboard_federation" not in config


def test_federation_off_disables_s2s():
    config = rendered(CHATBOARD_FEDERATION="off")
    assert 'modules_disabled = { "s2s" }' in config


def test_allowlist_loads_the_allowlist_module_with_the_domains():
    config = rendered(
        CHATBOARD_FEDERATION="allowlist", CHATBOARD_FEDERATION_ALLOWLIST="b.example, c.example"
    )
    assert 'chatboard_federation_allowlist = { "b.example", "c.example" }' in config
    assert '"chatboard_federation";' in config


def test_extra_ca_and_insecure_s2s_for_development():
    config = rendered(PROSODY_CA_FILE="/etc/chatboard/ca.pem", PROSODY_S2S_SECURE_AUTH="false")
    assert '["cafile"] = "/etc/chatboard/ca.pem"' in config
    assert "s2s_secure_auth = false" in config


@pytest.mark.parametrize(
    "env",
    [
        {"CHATBOARD_FEDERATION": "closed"},
        {"CHATBOARD_FEDERATION": "allowlist"},
        {"PROSODY_S2S_SECURE_AUTH": "maybe"},
    ],
)
def test_unusable_federation_settings_are_refused(env):
    with pytest.raises(ConfigError):
        rendered(**env)
