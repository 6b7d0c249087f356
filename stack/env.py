"""Typed readers for the environment: the one set the portal's settings, the bridge's
config and Prosody's config all use, so a value means the same to each of them.

Every reader also takes NAME_FILE: when NAME is unset or empty, the value is the
content of the file NAME_FILE names (trailing newline removed), as container
platforms hand out secrets. NAME itself wins when both are set.

A malformed value raises EnvError (a ValueError) naming the variable: a typo in
`.env` stops the process with a clear message instead of being guessed at.
"""

import os
from collections.abc import Mapping
from pathlib import Path

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


class EnvError(ValueError):
    """A setting that is missing or cannot be read as what it must be."""


def _environ(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def env_raw(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """NAME's value, else NAME_FILE's content; None when neither gives one."""
    environ = _environ(environ)
    value = environ.get(name)
    if value:
        return value
    path = environ.get(f"{name}_FILE")
    if not path:
        return None
    try:
        return Path(path).read_text().rstrip("\r\n") or None
    except OSError as error:
        raise EnvError(f"{name}_FILE={path!r} cannot be read: {error.strerror}") from None


def env_str(
    name: str,
    default: str | None = None,
    *,
    required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    value = env_raw(name, environ)
    if value is None:
        if required:
            raise EnvError(f"The environment variable {name} (or {name}_FILE) must be set.")
        return default
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = env_raw(name, environ)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise EnvError(f"{name}={value!r} is not a boolean (use true or false).")


def env_int(name: str, default: int, *, environ: Mapping[str, str] | None = None) -> int:
    value = env_raw(name, environ)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise EnvError(f"{name}={value!r} is not an integer.") from None


def env_float(name: str, default: float, *, environ: Mapping[str, str] | None = None) -> float:
    value = env_raw(name, environ)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise EnvError(f"{name}={value!r} is not a number.") from None


def env_list(
    name: str, default: list[str] | None = None, *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """A comma-separated list; empty items are dropped."""
    value = env_raw(name, environ)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(
    name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None
) -> str:
    value = env_str(name, default, environ=environ).lower()
    if value not in choices:
        raise EnvError(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value
