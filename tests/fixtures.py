"""Session fixtures: a real Prosody on free ports, the real bridge, the portal.

Prosody and the bridge run as their own processes, from the same code and
configuration template as `make run`; nothing mocks them. Tests that need the
bridge use the `transactional_db` so their writes are visible to it.
"""

import os
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from stack.bridge_process import BridgeProcess, django_database_url
from stack.prosody_server import ProsodyServer, throwaway_prosody
from tests.people import PASSWORD


@contextmanager
def own_prosody(runtime_dir: Path, usernames=(), **settings_):
    """A Prosody of a test's own, configured as the portal expects (its domain and
    token secret), with accounts for `usernames` (password PASSWORD) written the
    way the portal derives them, as mod_chatboard_accounts stores them. For tests
    of limits and timeouts that need settings of their own and no bridge."""
    from portal.accounts.scram import derive_scram_sha1

    credentials = derive_scram_sha1(PASSWORD, 4096, salt="test-salt")
    with throwaway_prosody(
        runtime_dir,
        domain=settings.XMPP_DOMAIN,
        token_secret=settings.XMPP_TOKEN_SECRET,
        bridge_secret=os.environ["BRIDGE_COMPONENT_SECRET"],
        accounts=dict.fromkeys(usernames, credentials),
        **settings_,
    ) as server:
        yield server


@pytest.fixture(scope="session")
def xmpp_server(tmp_path_factory):
    with own_prosody(tmp_path_factory.mktemp("prosody")) as server:
        config = server.config
        previous = settings.PROSODY_C2S_PORT, settings.PROSODY_HTTP_PORT
        settings.PROSODY_C2S_PORT, settings.PROSODY_HTTP_PORT = config.c2s_port, config.http_port
        yield server
        settings.PROSODY_C2S_PORT, settings.PROSODY_HTTP_PORT = previous


def bridge_for(server: ProsodyServer, log_path: Path, **env) -> BridgeProcess:
    """The bridge on the test database, for `server`."""
    return BridgeProcess(
        log_path,
        database_url=django_database_url(),
        component_port=server.config.component_port,
        **env,
    )


@pytest.fixture(scope="session")
def bridge(xmpp_server, django_db_setup, django_db_blocker, tmp_path_factory):
    process = bridge_for(xmpp_server, tmp_path_factory.mktemp("bridge") / "bridge.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def synced_db(transactional_db, bridge):
    """A database the bridge sees (committed writes), with the bridge running."""
    return bridge


def _retry_flush_on_deadlock():
    """The bridge keeps working while a transactional test's teardown flushes the
    database. On PostgreSQL the flush's TRUNCATE of every table can deadlock with
    a bridge transaction; PostgreSQL then aborts one of them, and the flush is
    simply run again (the bridge retries its own work)."""
    from django.test import TransactionTestCase

    teardown = TransactionTestCase._fixture_teardown

    def fixture_teardown(self):
        for attempt in range(5):
            try:
                return teardown(self)
            except Exception as error:
                cause, chain = error, []
                while cause is not None:
                    chain.append(str(cause))
                    cause = cause.__cause__ or cause.__context__
                if attempt == 4 or not any("deadlock detected" in c for c in chain):
                    raise
                time.sleep(0.1)

    TransactionTestCase._fixture_teardown = fixture_teardown


_retry_flush_on_deadlock()


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """allauth counts attempts per IP in the cache; every test starts with none."""
    from django.core.cache import cache

    cache.clear()
