"""Prosody as ChatBoard runs it: the config rendered from xmpp/prosody.cfg.lua.in
(used by `make run`, the containers, the test fixtures and the benchmarks; the
server process is in stack/prosody_server.py)."""

import string
from dataclasses import dataclass, field
from pathlib import Path

from stack.addresses import AddressError, Addresses
from stack.env import EnvError, env_bool, env_float, env_int, env_list, env_str

REPO_DIR = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_DIR / "xmpp" / "prosody.cfg.lua.in"
MODULES_DIR = REPO_DIR / "xmpp" / "modules"


class ConfigError(ValueError):
    """A setting that cannot produce a working Prosody configuration."""


# Who may talk to this server over s2s: nobody, any server, or the listed hosts.
FEDERATION_MODES = ("off", "open", "allowlist")


def lua(value) -> str:
    """A Python value as a Lua literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return "nil"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "{ " + ", ".join(lua(item) for item in value) + " }"
    if isinstance(value, dict):
        items = ", ".join(f"[{lua(k)}] = {lua(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"no Lua literal for {value!r}")


def sql_from_env(env: dict[str, str]) -> dict | None:
    """Prosody's `sql` option for `storage = "sql"` (production: PostgreSQL)."""
    if env_str("PROSODY_STORAGE", "internal", environ=env) != "sql":
        return None
    database = env_str("PROSODY_SQL_DATABASE", environ=env)
    if not database:
        raise ConfigError("PROSODY_SQL_DATABASE must be set when PROSODY_STORAGE=sql")
    sql = {
        "driver": env_str("PROSODY_SQL_DRIVER", "PostgreSQL", environ=env),
        "database": database,
        "host": env_str("PROSODY_SQL_HOST", "127.0.0.1", environ=env),
        "port": env_int("PROSODY_SQL_PORT", 5432, environ=env),
        "username": env_str("PROSODY_SQL_USERNAME", "prosody", environ=env),
    }
    password = env_str("PROSODY_SQL_PASSWORD", environ=env)
    if password:
        sql["password"] = password
    return sql


def http_external_url(env: dict[str, str]) -> str | None:
    """Where the world reaches Prosody's HTTP services (uploads): the portal's origin,
    whose proxy forwards those paths to Prosody."""
    external = env_str("PROSODY_HTTP_EXTERNAL_URL", environ=env)
    if external:
        return external
    host = env_str("CHATBOARD_WEB_HOST", environ=env)
    return f"https://{host}/" if host else None


@dataclass
class ProsodyConfig:
    runtime_dir: Path
    domain: str
    token_secret: str
    bridge_secret: str
    c2s_port: int = 5222
    c2s_direct_tls_port: int = 5223
    s2s_port: int = 5269
    http_port: int = 5280
    component_port: int = 5347
    interfaces: list[str] = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # Only the bridge connects here; in containers it comes from another host.
    component_interface: str = "127.0.0.1"
    s2s_interfaces: list[str] | None = None
    log_to_console: bool = True
    storage: str = "internal"
    sql: dict | None = None
    http_external_url: str | None = None
    web_secure: bool = True
    smacks_hibernation_time: int = 60
    c2s_stanza_size_limit: int = 65536
    c2s_rate: str = "50kb/s"
    # Silence before a client is pinged; as long again without a sign of life and
    # its connection is closed (then stream management's hibernation).
    idle_timeout: int = 60
    # Unsent room stanzas a connection may hold before they are written out at
    # once (mod_chatboard_groupchat_delivery).
    flush_after_stanzas: int = 32
    connection_burst: int = 20
    connection_period: int = 60
    muc_message_rate: float = 2
    muc_message_burst: int = 10
    restrict_room_creation: bool = False
    upload_size_limit: int = 10 * 1024 * 1024
    upload_daily_quota: int = 100 * 1024 * 1024
    upload_global_quota: int = 2 * 1024 * 1024 * 1024
    federation: str = "open"
    # Remote domains allowed in "allowlist" mode, with their subdomains (rooms).
    federation_allowlist: list[str] = field(default_factory=list)
    # Remote servers must present a certificate valid for their domain.
    s2s_secure_auth: bool = True
    # Extra CA certificates trusted for s2s (on top of the system's /etc/ssl/certs).
    ca_file: str | None = None
    # A hosts file Prosody's resolver reads instead of DNS (servers on one machine).
    hosts_file: str | None = None
    # "internal_hashed" runs stock Prosody auth (the benchmark's baseline).
    authentication: str = "chatboard"
    # The room service (CHATBOARD_MUC_DOMAIN); empty: conference.<domain>.
    muc_domain: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str], runtime_dir: Path) -> "ProsodyConfig":
        try:
            return cls._from_env(env, runtime_dir)
        except (AddressError, EnvError) as error:
            raise ConfigError(str(error)) from None

    @classmethod
    def _from_env(cls, env: dict[str, str], runtime_dir: Path) -> "ProsodyConfig":
        addresses = Addresses.from_env(env)
        return cls(
            runtime_dir=runtime_dir,
            domain=addresses.domain,
            muc_domain=addresses.muc,
            token_secret=env_str("XMPP_TOKEN_SECRET", required=True, environ=env),
            bridge_secret=env_str("BRIDGE_COMPONENT_SECRET", required=True, environ=env),
            c2s_port=env_int("PROSODY_C2S_PORT", 5222, environ=env),
            c2s_direct_tls_port=env_int("PROSODY_C2S_DIRECT_TLS_PORT", 5223, environ=env),
            s2s_port=env_int("PROSODY_S2S_PORT", 5269, environ=env),
            http_port=env_int("PROSODY_HTTP_PORT", 5280, environ=env),
            component_port=env_int("PROSODY_COMPONENT_PORT", 5347, environ=env),
            interfaces=env_list("PROSODY_INTERFACES", ["127.0.0.1", "::1"], environ=env),
            smacks_hibernation_time=env_int("PROSODY_SMACKS_HIBERNATION_TIME", 60, environ=env),
            c2s_stanza_size_limit=env_int("PROSODY_STANZA_SIZE_LIMIT", 65536, environ=env),
            c2s_rate=env_str("PROSODY_C2S_RATE", "50kb/s", environ=env),
            idle_timeout=env_int("PROSODY_IDLE_TIMEOUT", 60, environ=env),
            connection_burst=env_int("PROSODY_CONNECTION_BURST", 20, environ=env),
            connection_period=env_int("PROSODY_CONNECTION_PERIOD", 60, environ=env),
            muc_message_rate=env_float("PROSODY_MUC_MESSAGE_RATE", 2, environ=env),
            muc_message_burst=env_int("PROSODY_MUC_MESSAGE_BURST", 10, environ=env),
            component_interface=env_str("PROSODY_COMPONENT_INTERFACE", "127.0.0.1", environ=env),
            storage=env_str("PROSODY_STORAGE", "internal", environ=env),
            sql=sql_from_env(env),
            http_external_url=http_external_url(env),
            federation=env_str("CHATBOARD_FEDERATION", "open", environ=env),
            federation_allowlist=env_list("CHATBOARD_FEDERATION_ALLOWLIST", environ=env),
            s2s_secure_auth=env_bool("PROSODY_S2S_SECURE_AUTH", True, environ=env),
            ca_file=env_str("PROSODY_CA_FILE", environ=env),
            hosts_file=env_str("PROSODY_HOSTS_FILE", environ=env),
            s2s_interfaces=env_list("PROSODY_S2S_INTERFACES", environ=env) or None,
            restrict_room_creation=env_bool("PROSODY_RESTRICT_ROOM_CREATION", False, environ=env),
        )

    def __post_init__(self):
        try:
            self.addresses = Addresses.for_domain(self.domain, self.muc_domain or None)
        except AddressError as error:
            raise ConfigError(str(error)) from None
        self.muc_domain = self.addresses.muc
        if self.federation not in FEDERATION_MODES:
            modes = ", ".join(FEDERATION_MODES)
            raise ConfigError(f"CHATBOARD_FEDERATION={self.federation!r}: use one of {modes}")
        if self.federation == "allowlist" and not self.federation_allowlist:
            raise ConfigError("CHATBOARD_FEDERATION=allowlist needs CHATBOARD_FEDERATION_ALLOWLIST")

    @property
    def bridge_jid(self) -> str:
        return self.addresses.bridge

    @property
    def config_path(self) -> Path:
        return self.runtime_dir / "prosody.cfg.lua"

    @property
    def data_path(self) -> Path:
        return self.runtime_dir / "data"

    @property
    def log_path(self) -> Path:
        return self.runtime_dir / "prosody.log"

    def render(self) -> str:
        certs_dir = self.runtime_dir / "certs"
        log = (
            [{"levels": {"min": "info"}, "to": "console"}]
            if self.log_to_console
            else {"info": str(self.log_path)}
        )
        values = {
            "pidfile": str(self.runtime_dir / "prosody.pid"),
            "data_path": str(self.data_path),
            "plugin_path": str(MODULES_DIR),
            "log": log,
            "admin_socket": str(self.runtime_dir / "prosody.sock"),
            "certs_dir": str(certs_dir),
            "ssl": {
                "certificate": str(certs_dir / f"{self.domain}.crt"),
                "key": str(certs_dir / f"{self.domain}.key"),
                **({"cafile": self.ca_file} if self.ca_file else {}),
            },
            "interfaces": self.interfaces,
            "s2s_interfaces": self.s2s_interfaces or self.interfaces,
            "c2s_port": self.c2s_port,
            "c2s_direct_tls_port": self.c2s_direct_tls_port,
            "s2s_port": self.s2s_port,
            "http_port": self.http_port,
            "component_port": self.component_port,
            "component_interface": self.component_interface,
            "s2s_secure_auth": self.s2s_secure_auth,
            "authentication": self.authentication,
            "token_secret": self.token_secret,
            "bridge_jid": self.bridge_jid,
            "bridge_secret": self.bridge_secret,
            "smacks_hibernation_time": self.smacks_hibernation_time,
            "c2s_rate": self.c2s_rate,
            "c2s_stanza_size_limit": self.c2s_stanza_size_limit,
            "idle_timeout": self.idle_timeout,
            "flush_after_stanzas": self.flush_after_stanzas,
            "connection_burst": self.connection_burst,
            "connection_period": self.connection_period,
            "muc_message_rate": self.muc_message_rate,
            "muc_message_burst": self.muc_message_burst,
            "storage": self.storage if self.storage != "internal" else "internal",
            "sql": self.sql,
            "archive_expires_after": "never",
            "federation": self.render_federation(),
            "contact_admin": f"xmpp:admin@{self.domain}",
            "web_secure": self.web_secure,
            "domain": self.domain,
            "muc_domain": self.addresses.muc,
            "upload_domain": self.addresses.upload,
            "http_external_url": self.http_external_url,
            "restrict_room_creation": self.restrict_room_creation,
            "upload_size_limit": self.upload_size_limit,
            "upload_daily_quota": self.upload_daily_quota,
            "upload_global_quota": self.upload_global_quota,
            "upload_expires_after": 7 * 86400,
        }
        literals = {name: lua(value) for name, value in values.items()}
        literals["federation"] = values["federation"]
        allowlist = self.federation == "allowlist"
        literals["federation_modules"] = '"chatboard_federation";' if allowlist else ""
        return string.Template(TEMPLATE.read_text()).substitute(literals)

    def render_federation(self) -> str:
        """The Lua for the federation mode."""
        lines = []
        if self.hosts_file:
            # Only the file: queries go to a loopback address where no DNS server
            # answers, so names it lacks (and SRV lookups) fail at once, offline too.
            hosts = lua(self.hosts_file)
            lines.append(
                f'unbound = {{ hoststxt = {hosts}; resolvconf = false; forward = "127.0.0.1" }}'
            )
        if self.federation == "off":
            # No s2s listener and no outgoing s2s: a client writing to another domain
            # gets not-allowed "Communication with remote domains is not enabled".
            lines.append('modules_disabled = { "s2s" }')
        elif self.federation == "allowlist":
            # mod_chatboard_federation: other servers' streams are closed and
            # stanzas to them bounce, both with policy-violation.
            lines.append(f"chatboard_federation_allowlist = {lua(self.federation_allowlist)}")
        return "\n".join(lines) or "-- open: any server with a valid certificate"

    def write(self) -> Path:
        from stack.certs import ensure_dev_certificate

        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        self.data_path.mkdir(parents=True, exist_ok=True)
        ensure_dev_certificate(self.runtime_dir / "certs", self.addresses)
        self.config_path.write_text(self.render())
        self.config_path.chmod(0o600)  # it holds the token and component secrets
        return self.config_path
