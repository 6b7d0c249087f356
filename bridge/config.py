"""The bridge's configuration: the only place it reads the environment."""

import os
from dataclasses import dataclass

from stack.addresses import AddressError, Addresses


class ConfigError(ValueError):
    pass


def _float(env, name, default):
    try:
        return float(env.get(name) or default)
    except ValueError:
        raise ConfigError(f"{name}={env.get(name)!r} is not a number") from None


def _bool(env, name, default):
    value = (env.get(name) or "").lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={env.get(name)!r} is not a boolean")


@dataclass(frozen=True)
class BridgeConfig:
    domain: str
    component_secret: str
    prosody_host: str = "127.0.0.1"
    component_port: int = 5347
    poll_interval: float = 0.1
    reconcile_interval: float = 300.0
    remove_unknown_accounts: bool = False
    service_accounts: frozenset[str] = frozenset()
    iq_timeout: float = 10.0
    # The room service: CHATBOARD_MUC_DOMAIN, by default conference.<domain>.
    muc_domain: str = ""

    def __post_init__(self):
        try:
            addresses = Addresses.for_domain(self.domain, self.muc_domain or None)
        except AddressError as error:
            raise ConfigError(str(error)) from None
        object.__setattr__(self, "muc_domain", addresses.muc)

    @property
    def component_jid(self) -> str:
        return Addresses.for_domain(self.domain, self.muc_domain).bridge

    @classmethod
    def from_env(cls, env=None) -> "BridgeConfig":
        env = os.environ if env is None else env
        secret = env.get("BRIDGE_COMPONENT_SECRET")
        if not secret:
            raise ConfigError("BRIDGE_COMPONENT_SECRET must be set")
        services = {s.strip() for s in env.get("BRIDGE_SERVICE_ACCOUNTS", "").split(",")}
        try:
            addresses = Addresses.from_env(env)
        except AddressError as error:
            raise ConfigError(str(error)) from None
        return cls(
            domain=addresses.domain,
            muc_domain=addresses.muc,
            component_secret=secret,
            prosody_host=env.get("PROSODY_HOST", "127.0.0.1"),
            component_port=int(_float(env, "PROSODY_COMPONENT_PORT", 5347)),
            poll_interval=_float(env, "BRIDGE_POLL_INTERVAL", 0.1),
            reconcile_interval=_float(env, "BRIDGE_RECONCILE_INTERVAL", 300),
            remove_unknown_accounts=_bool(env, "BRIDGE_REMOVE_UNKNOWN_ACCOUNTS", False),
            service_accounts=frozenset(s for s in services if s),
        )
