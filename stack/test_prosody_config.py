"""The Prosody configuration rendered from the environment."""

from pathlib import Path

from stack.prosody import ConfigError, ProsodyConfig

ENV = {"XMPP_TOKEN_SECRET": "t", "BRIDGE_COMPONENT_SECRET": "b"}


def test_room_creation_from_clients_can_be_restricted(tmp_path: Path):
    restricted = ProsodyConfig.from_env({**ENV, "PROSODY_RESTRICT_ROOM_CREATION": "true"}, tmp_path)
    assert "restrict_room_creation = true" in restricted.render()
    assert "restrict_room_creation = false" in ProsodyConfig.from_env(ENV, tmp_path).render()


def test_bad_restrict_room_creation_value_is_refused(tmp_path: Path):
    try:
        ProsodyConfig.from_env({**ENV, "PROSODY_RESTRICT_ROOM_CREATION": "maybe"}, tmp_path)
    except ConfigError as error:
        assert "PROSODY_RESTRICT_ROOM_CREATION" in str(error)
    else:
        raise AssertionError("a malformed boolean was accepted")


def test_muc_component_loads_the_rooms_module(tmp_path: Path):
    rendered = ProsodyConfig.from_env(ENV, tmp_path).render()
    assert '"chatboard_rooms"' in rendered
