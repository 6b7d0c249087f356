"""The environment every ChatBoard process starts with, assembled in one place.

Precedence: the real environment, then `.env` in the repository, then the
secrets generated once under the runtime directory, then the defaults below
(the embedded development stack).
"""

import os
import secrets
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "CHATBOARD_DOMAIN": "localhost",
    "DJANGO_DEBUG": "true",
    "PORTAL_PORT": "8000",
    "PROSODY_HOST": "127.0.0.1",
    "PROSODY_INTERFACES": "127.0.0.1,::1",
    "PROSODY_C2S_PORT": "5222",
    "PROSODY_C2S_DIRECT_TLS_PORT": "5223",
    "PROSODY_S2S_PORT": "5269",
    "PROSODY_HTTP_PORT": "5280",
    "PROSODY_COMPONENT_PORT": "5347",
}

# The settings of the ports `make run` listens on (a second stack on one machine
# sets every one of them).
LISTENING_PORTS = tuple(name for name in DEFAULTS if name.endswith("_PORT"))

GENERATED_SECRETS = ("DJANGO_SECRET_KEY", "XMPP_TOKEN_SECRET", "BRIDGE_COMPONENT_SECRET")


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    if not path.exists():
        return values
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip().isidentifier():
            raise ValueError(f"{path}:{number}: expected NAME=value, got {line!r}")
        values[name.strip()] = value.strip().strip("'\"")
    return values


def ensure_secrets(runtime_dir: Path) -> dict[str, str]:
    """Generate the development secrets once and keep them (mode 0600)."""
    path = runtime_dir / "secrets.env"
    values = read_env_file(path)
    missing = [name for name in GENERATED_SECRETS if name not in values]
    if missing:
        values.update({name: secrets.token_urlsafe(48) for name in missing})
        runtime_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    return values


def runtime_dir(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("CHATBOARD_RUNTIME_DIR") or REPO_DIR / "var").resolve()


def stack_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    base = dict(os.environ if base is None else base)
    file_values = read_env_file(REPO_DIR / ".env")
    merged = {**DEFAULTS, **file_values, **base}
    run_dir = runtime_dir(merged)
    merged = {**DEFAULTS, **ensure_secrets(run_dir), **file_values, **base}
    merged["CHATBOARD_RUNTIME_DIR"] = str(run_dir)
    merged.setdefault("DJANGO_SETTINGS_MODULE", "portal.config.settings")
    return merged
