"""The whole of ChatBoard for the sync, reconcile and portal benchmarks: the
portal's database (a SQLite file in the run's temporary directory, migrated
once and copied fresh for each scenario), Prosody on free ports from the
production template, and the bridge as its own process (`python -m bridge`).
The portal's actions run in this process, on the same database.

`bench/__main__.py` points DATABASE_URL at the bench database before
django.setup(); nothing here touches the development database. (The test of
the benchmark code gives the scenarios a Workspace on the test database.)
"""

import os
import secrets
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import BenchProsodyConfig
from stack.bridge_process import BridgeProcess
from stack.prosody_server import throwaway_prosody

DB_NAME = "portal.sqlite3"


@dataclass
class Workspace:
    """A run's temporary directory and the portal database the scenarios share."""

    run_dir: Path

    @property
    def database_path(self) -> Path:
        return self.run_dir / DB_NAME

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database_path}"

    def prepare_database(self) -> None:
        """Migrate once and keep a copy to start each scenario from."""
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0, interactive=False)
        connections.close_all()
        shutil.copy(self.database_path, self.run_dir / f"{DB_NAME}.migrated")

    def fresh_database(self) -> None:
        from django.db import connections

        connections.close_all()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.database_path}{suffix}").unlink(missing_ok=True)
        # A new file, not the old one overwritten: nothing can read a mix of both.
        copy = self.run_dir / f"{DB_NAME}.copy"
        shutil.copy(self.run_dir / f"{DB_NAME}.migrated", copy)
        copy.replace(self.database_path)


def fast_password_hashing() -> None:
    """Django's password hash (deliberately slow) is not on any measured path; the
    XMPP SCRAM keys are still derived as in production."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def bridge_process(workspace: Workspace, config, secret: str) -> BridgeProcess:
    """`python -m bridge` on the bench database, with a log of its own."""
    return BridgeProcess(
        workspace.run_dir / f"bridge-{time.monotonic_ns()}.log",
        database_url=workspace.database_url,
        component_port=config.component_port,
        BRIDGE_COMPONENT_SECRET=secret,
        CHATBOARD_DOMAIN=config.domain,
        # The production default: the bench measures what production does.
        BRIDGE_POLL_INTERVAL=os.environ.get("BRIDGE_POLL_INTERVAL", "0.1"),
    )


@contextmanager
def chatboard_prosody(run_dir: Path):
    """Prosody configured as the portal expects (its domain and token secret)."""
    from django.conf import settings

    runtime_dir = run_dir / f"prosody-{time.monotonic_ns()}"
    secret = secrets.token_urlsafe(24)
    # The observer logs in once per pending signup, all from 127.0.0.1.
    with throwaway_prosody(
        runtime_dir,
        domain=settings.XMPP_DOMAIN,
        token_secret=settings.XMPP_TOKEN_SECRET,
        bridge_secret=secret,
        config_class=BenchProsodyConfig,
    ) as server:
        try:
            yield server.config, server, secret
        finally:
            server.stop()
            shutil.rmtree(runtime_dir, ignore_errors=True)
