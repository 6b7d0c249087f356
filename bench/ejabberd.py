"""ejabberd (Debian's package) as a reference server for the room fan-out.

Each instance is an Erlang VM of its own, started here on free ports with a
config generated in a temporary directory (its Mnesia database and logs live
there too) and stopped at the end. It is not a distributed node (no node name,
no epmd), so it can neither meet nor disturb another ejabberd or Erlang system
on the machine, and it never opens ejabberd's default ports (5222, 5269, 5280,
5443, ...): its only listener is the c2s port given to it.

The configuration mirrors what the fan-out measures on Prosody: STARTTLS with
the same self-signed certificate, SCRAM, one MUC service whose rooms keep 50
messages of history and archive them (mod_mam), stream management, carbons and
client state indication loaded, no shaper. Accounts are created by in-band
registration (XEP-0077), open to 127.0.0.1 only, before the measurement."""

import asyncio
import os
import shutil
import ssl
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.lean_client import LeanClient, LoginFailed
from stack.ports import free_port, release_port
from stack.process import ManagedProcess, ProcessFailed, port_open

ERL = "/usr/bin/erl"
ERL_LIBS = "/usr/lib/x86_64-linux-gnu"
REGISTER_NS = "jabber:iq:register"

CONFIG = """\
hosts: ["{domain}"]
loglevel: warning
log_rotate_count: 0
certfiles:
  - "{cert}"
  - "{key}"
acme:
  auto: false
listen:
  - port: {c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls_required: true
    max_stanza_size: 65536
auth_method: internal
auth_password_format: scram
disable_sasl_mechanisms: ["digest-md5", "X-OAUTH2"]
registration_timeout: infinity
acl:
  loopback:
    ip: "127.0.0.1/8"
access_rules:
  register:
    allow: loopback
  muc_create:
    allow: all
shaper_rules:
  max_user_sessions: 10
  c2s_shaper: none
modules:
  mod_disco: {{}}
  mod_ping: {{}}
  mod_roster: {{}}
  mod_offline: {{}}
  mod_carboncopy: {{}}
  mod_client_state: {{}}
  mod_stream_mgmt: {{}}
  mod_mam:
    assume_mam_usage: true
    default: always
  mod_muc:
    host: "conference.{domain}"
    access_create: muc_create
    history_size: 50
    max_users: 5000
    max_users_presence: 5000
    max_user_conferences: 100
    default_room_options:
      persistent: true
      public: true
      mam: true
  mod_register:
    access: all
    ip_access: register
"""


@dataclass
class EjabberdConfig:
    """What the fan-out's load side needs to know (as ProsodyConfig offers it)."""

    runtime_dir: Path
    c2s_port: int
    domain: str = "localhost"

    @property
    def config_path(self) -> Path:
        return self.runtime_dir / "ejabberd.yml"

    @property
    def log_dir(self) -> Path:
        return self.runtime_dir / "log"

    def write(self) -> None:
        from stack.certs import ensure_dev_certificate

        certs = self.runtime_dir / "certs"
        ensure_dev_certificate(certs, self.domain)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        (self.runtime_dir / "database").mkdir(exist_ok=True)
        self.config_path.write_text(
            CONFIG.format(
                domain=self.domain,
                c2s_port=self.c2s_port,
                cert=certs / f"{self.domain}.crt",
                key=certs / f"{self.domain}.key",
            )
        )


def installed() -> bool:
    return shutil.which("erl") is not None and any(Path(ERL_LIBS).glob("ejabberd-*"))


def version() -> str:
    found = sorted(p.name for p in Path(ERL_LIBS).glob("ejabberd-*"))
    return found[-1].removeprefix("ejabberd-") if found else "not installed"


class EjabberdServer:
    def __init__(self, config: EjabberdConfig):
        self.config = config
        self.process: ManagedProcess | None = None

    def start(self, timeout: float = 60) -> "EjabberdServer":
        config = self.config
        config.write()
        env = {
            **os.environ,
            "ERL_LIBS": ERL_LIBS,
            "EJABBERD_CONFIG_PATH": str(config.config_path),
            "EJABBERD_LOG_PATH": str(config.log_dir / "ejabberd.log"),
            "ERL_CRASH_DUMP": str(config.log_dir / "erl_crash.dump"),
            "ERL_CRASH_DUMP_BYTES": "0",
            "HOME": str(config.runtime_dir),
        }
        argv = [
            ERL,
            "-noinput",
            "-noshell",
            # Schedulers that sleep when idle: spinning would count as CPU per delivery.
            "+sbwt",
            "none",
            "+sbwtdcpu",
            "none",
            "+sbwtdio",
            "none",
            "-mnesia",
            "dir",
            f'"{config.runtime_dir / "database"}"',
            "-ejabberd",
            "log_path",
            f'"{config.log_dir / "ejabberd.log"}"',
            "-s",
            "ejabberd",
        ]
        (config.log_dir / "erl.out").unlink(missing_ok=True)
        self.process = ManagedProcess(
            "ejabberd",
            argv,
            log_path=config.log_dir / "erl.out",
            env=env,
            cwd=config.runtime_dir,
            ready=[port_open(config.c2s_port)],
            ready_timeout=timeout,
            grace=15,  # the VM stops cleanly on SIGTERM (init:stop)
        )
        try:
            self.process.start()
        except ProcessFailed as error:
            raise RuntimeError(f"ejabberd did not start: {error}\n{self.output()}") from error
        return self

    def output(self) -> str:
        texts = []
        for name in ("erl.out", "ejabberd.log", "error.log"):
            path = self.config.log_dir / name
            if path.exists():
                texts.append(path.read_text()[-2000:])
        return "\n".join(texts)

    @property
    def pid(self) -> int:
        """beam.smp: erl execs it, so the process we started is the VM itself."""
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


async def register(config: EjabberdConfig, usernames: list[str], password: str) -> None:
    """In-band registration of every account, eight connections at a time."""
    context = ssl.create_default_context(cafile=str(config.runtime_dir / "certs/localhost.crt"))
    pending = asyncio.Semaphore(8)

    async def one(username: str) -> None:
        async with pending:
            client = LeanClient("127.0.0.1", config.c2s_port, config.domain, context)
            try:
                await client.start_tls()
                client.send(
                    f"<iq type='set' id='reg'><query xmlns='{REGISTER_NS}'>"
                    f"<username>{username}</username><password>{password}</password>"
                    "</query></iq>"
                )
                # A result may be empty (<iq .../>); an error ends in </iq>.
                reply = await client._read_until(b"type='result'", b'type="result"', b"</iq>")
                if b"result" not in reply:
                    raise LoginFailed(f"registration of {username} refused: {reply[:300]!r}")
            finally:
                client.close()

    await asyncio.gather(*(one(name) for name in usernames))


@contextmanager
def ejabberd(runtime_dir: Path, usernames: list[str], password: str):
    """ejabberd on a free port with the given accounts; stopped on the way out."""
    config = EjabberdConfig(runtime_dir=runtime_dir, c2s_port=free_port())
    try:
        server = EjabberdServer(config).start()
        try:
            started = time.monotonic()
            asyncio.run(register(config, usernames, password))
            config.registration_s = round(time.monotonic() - started, 2)
            yield config, server
        finally:
            server.stop()
    finally:
        release_port(config.c2s_port)
