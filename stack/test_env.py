"""The environment readers every component uses: NAME_FILE for secrets, loud errors."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import BridgeConfig
from bridge.config import ConfigError as BridgeConfigError
from stack.env import EnvError, env_bool, env_int, env_list, env_str
from stack.environment import REPO_DIR, stack_environment
from stack.prosody import ConfigError, ProsodyConfig


def secret_file(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value + "\n")  # as `echo value > file` and container secrets write it
    return str(path)


def test_a_secret_can_come_from_the_file_that_name_FILE_names(tmp_path: Path):
    env = {"XMPP_TOKEN_SECRET_FILE": secret_file(tmp_path, "token", "s3cret")}
    assert env_str("XMPP_TOKEN_SECRET", environ=env) == "s3cret"
    # The variable itself wins over its file.
    assert env_str("XMPP_TOKEN_SECRET", environ={**env, "XMPP_TOKEN_SECRET": "inline"}) == "inline"


def test_an_unreadable_secret_file_is_an_error_that_names_it(tmp_path: Path):
    env = {"XMPP_TOKEN_SECRET_FILE": str(tmp_path / "missing")}
    with pytest.raises(EnvError, match="XMPP_TOKEN_SECRET_FILE=.*cannot be read"):
        env_str("XMPP_TOKEN_SECRET", environ=env)


def test_malformed_values_are_refused_with_the_variables_name():
    with pytest.raises(EnvError, match="PROSODY_C2S_PORT='52x2' is not an integer"):
        env_int("PROSODY_C2S_PORT", 5222, environ={"PROSODY_C2S_PORT": "52x2"})
    with pytest.raises(EnvError, match="is not a boolean"):
        env_bool("PROSODY_S2S_SECURE_AUTH", True, environ={"PROSODY_S2S_SECURE_AUTH": "maybe"})
    # Empty means "not set", as docker-compose's ${NAME:-} passes it.
    assert env_bool("PROSODY_S2S_SECURE_AUTH", True, environ={"PROSODY_S2S_SECURE_AUTH": ""})
    assert env_list("DJANGO_ALLOWED_HOSTS", ["a"], environ={"DJANGO_ALLOWED_HOSTS": ""}) == ["a"]


def test_prosody_and_bridge_take_their_secrets_from_files(tmp_path: Path):
    env = {
        "XMPP_TOKEN_SECRET_FILE": secret_file(tmp_path, "token", "token-from-file"),
        "BRIDGE_COMPONENT_SECRET_FILE": secret_file(tmp_path, "bridge", "bridge-from-file"),
    }
    rendered = ProsodyConfig.from_env(env, tmp_path).render()
    assert '"token-from-file"' in rendered and '"bridge-from-file"' in rendered
    assert BridgeConfig.from_env(env).component_secret == "bridge-from-file"


def test_a_missing_secret_stops_each_component_with_its_name(tmp_path: Path):
    with pytest.raises(ConfigError, match="XMPP_TOKEN_SECRET"):
        ProsodyConfig.from_env({"BRIDGE_COMPONENT_SECRET": "b"}, tmp_path)
    with pytest.raises(BridgeConfigError, match="BRIDGE_COMPONENT_SECRET"):
        BridgeConfig.from_env({})


def test_the_portal_takes_its_secret_key_from_a_file(tmp_path: Path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    result = subprocess.run(
        [sys.executable, "-m", "portal.manage", "shell", "--no-imports", "-c", code],
        env={"PATH": "/usr/bin:/bin", "XMPP_TOKEN_SECRET": "t",
             "DJANGO_SECRET_KEY_FILE": secret_file(tmp_path, "django", "key-from-file")},
        cwd=REPO_DIR, capture_output=True, text=True,
    )  # fmt: skip
    assert result.stdout.strip() == "key-from-file", result.stderr


def test_the_portal_is_a_package_imported_from_the_repository_root(tmp_path: Path):
    """No PYTHONPATH and no portal/ on sys.path: its apps are portal.<app> only."""
    env = stack_environment({"PATH": "/usr/bin:/bin", "CHATBOARD_RUNTIME_DIR": str(tmp_path)})
    assert "PYTHONPATH" not in env
    assert importlib.util.find_spec("accounts") is None  # not in this test run either
    code = (
        "import importlib.util; from django.apps import apps; "
        "print(importlib.util.find_spec('rooms'), apps.get_app_config('rooms').name)"
    )
    result = subprocess.run(
        [sys.executable, "-m", "portal.manage", "shell", "--no-imports", "-c", code],
        env=env, cwd=REPO_DIR, capture_output=True, text=True,
    )  # fmt: skip
    assert result.stdout.split() == ["None", "portal.rooms"], result.stderr
    script = subprocess.run(
        [sys.executable, str(REPO_DIR / "portal" / "manage.py"), "check"],
        env=env, cwd=REPO_DIR, capture_output=True, text=True,
    )  # fmt: skip
    assert script.returncode != 0 and "python -m portal.manage" in script.stderr
