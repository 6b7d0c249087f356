"""The bridge's configuration: the only place it reads the environment."""

import os
from dataclasses import dataclass

from stack.addresses import AddressError, Addresses
from stack.env import EnvError, env_bool, env_float, env_int, env_list, env_str


class ConfigError(ValueError):
    pass


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
    def addresses(self) -> Addresses:
        return Addresses.for_domain(self.domain, self.muc_domain)

    @property
    def component_jid(self) -> str:
        return self.addresses.bridge

    @classmethod
    def from_env(cls, env=None) -> "BridgeConfig":
        env = os.environ if env is None else env
        try:
            addresses = Addresses.from_env(env)
            return cls(
                domain=addresses.domain,
                muc_domain=addresses.muc,
                component_secret=env_str("BRIDGE_COMPONENT_SECRET", required=True, environ=env),
                prosody_host=env_str("PROSODY_HOST", "127.0.0.1", environ=env),
                component_port=env_int("PROSODY_COMPONENT_PORT", 5347, environ=env),
                poll_interval=env_float("BRIDGE_POLL_INTERVAL", 0.1, environ=env),
                reconcile_interval=env_float("BRIDGE_RECONCILE_INTERVAL", 300, environ=env),
                remove_unknown_accounts=env_bool(
                    "BRIDGE_REMOVE_UNKNOWN_ACCOUNTS", False, environ=env
                ),
                service_accounts=frozenset(env_list("BRIDGE_SERVICE_ACCOUNTS", environ=env)),
            )
        except (AddressError, EnvError) as error:
            raise ConfigError(str(error)) from None
