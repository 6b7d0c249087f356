"""The reconciler repairs drift the outbox cannot see (lost rows, hand-made accounts)."""

import subprocess

import pytest

from portal.outbox.models import OutboxEntry
from tests.people import sign_up, wait_until_provisioned
from tests.xmpp_client import can_log_in, eventually

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery"


def prosodyctl(server, *args):
    subprocess.run(
        ["prosodyctl", "--config", str(server.config.config_path), *args],
        check=True,
        capture_output=True,
        input=b"",
    )


def test_reconcile_provisions_accounts_whose_outbox_rows_were_lost(xmpp_server, synced_db):
    synced_db.stop()
    sign_up("lost-row")
    OutboxEntry.objects.filter(key="lost-row").delete()
    synced_db.start()  # reconciles at start
    assert eventually(lambda: can_log_in(xmpp_server, "lost-row@localhost", PASSWORD))


def test_reconcile_reports_and_optionally_removes_unknown_accounts(xmpp_server, synced_db):
    prosodyctl(xmpp_server, "register", "stranger", "localhost", "stranger-password")
    synced_db.restart()
    eventually(
        lambda: any(
            "unknown to the portal" in line and "'stranger'" in line
            for line in synced_db.output().splitlines()
        )
    )
    assert can_log_in(xmpp_server, "stranger@localhost", "stranger-password")

    synced_db.stop()
    synced_db.env["BRIDGE_REMOVE_UNKNOWN_ACCOUNTS"] = "true"
    try:
        synced_db.start()
        eventually(lambda: not can_log_in(xmpp_server, "stranger@localhost", "stranger-password"))
    finally:
        synced_db.stop()
        del synced_db.env["BRIDGE_REMOVE_UNKNOWN_ACCOUNTS"]
        synced_db.start()


def test_reconcile_restores_credentials_changed_behind_the_portals_back(xmpp_server, synced_db):
    sign_up("drifted")
    wait_until_provisioned(xmpp_server, "drifted", timeout=5)
    prosodyctl(xmpp_server, "shell", "user", "password", "drifted@localhost", "changed-by-hand")
    assert can_log_in(xmpp_server, "drifted@localhost", "changed-by-hand")
    synced_db.restart()
    assert eventually(lambda: can_log_in(xmpp_server, "drifted@localhost", PASSWORD))


def test_a_failed_reconcile_is_retried_within_seconds_not_at_the_next_interval(monkeypatch):
    import asyncio
    from types import SimpleNamespace

    from bridge import reconciler

    monkeypatch.setattr(reconciler, "FIRST_RETRY_DELAY", 0.05)

    class FlakyPart:
        """Fails its first reconcile as a database deadlock would, then succeeds."""

        attempts = 0

        async def reconcile(self):
            self.attempts += 1
            if self.attempts == 1:
                raise RuntimeError("deadlock detected")
            return "repaired"

    async def scenario():
        online = asyncio.Event()
        online.set()
        part = FlakyPart()
        loop = reconciler.Reconciler(SimpleNamespace(online=online), [part], interval=300)
        task = asyncio.create_task(loop.run())
        await asyncio.sleep(0.5)
        task.cancel()
        return part.attempts

    assert asyncio.run(scenario()) == 2  # retried soon, then back to the 300 s interval
