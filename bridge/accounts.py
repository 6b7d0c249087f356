"""Accounts: make Prosody hold exactly the accounts and credentials the portal has,
and tell the portal when people's XMPP sessions start and end.

Session reports come from mod_chatboard_accounts (`<sessions username count
login?/>` from the host); they carry absolute values, so the bridge keeps the
latest per person and stores them with accounts.actions, which writes no
outbox row. The reconciler's listing corrects counts whose reports were lost
while the bridge was away.
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from bridge import portal
from bridge.prosody import ACCOUNTS_NS, ProsodyAccounts
from bridge.reconciler import for_each

log = logging.getLogger(__name__)


@dataclass
class AccountsReport:
    created_or_updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    session_counts_corrected: int = 0


class AccountSync:
    def __init__(self, prosody: ProsodyAccounts, config):
        self.prosody = prosody
        self.config = config
        self._sessions: asyncio.Queue[tuple[str, int, datetime | None]] = asyncio.Queue()
        component = prosody.component
        path = f"{{{component.default_ns}}}message/{{{ACCOUNTS_NS}}}sessions"
        component.register_handler(Callback("sessions", MatchXPath(path), self._on_sessions))

    async def apply(self, username: str) -> None:
        """The outbox handler for topic "account"."""
        from portal.accounts.xmpp_state import desired_account

        state = await portal.call(desired_account, username)
        if state is None:
            await self.prosody.delete_account(username)
        else:
            await self.prosody.set_account(state)

    async def reconcile(self) -> AccountsReport:
        from portal.accounts.actions import xmpp_sessions_listed
        from portal.accounts.xmpp_state import desired_accounts, retired_usernames

        report = AccountsReport()
        desired = await portal.call(desired_accounts)
        retired = await portal.call(retired_usernames)
        actual = await self.prosody.list_accounts()

        async def repair(state) -> None:
            record = actual.get(state.username)
            if record is None or record.fingerprint != state.fingerprint:
                await self.prosody.set_account(state)
                report.created_or_updated.append(state.username)

        await for_each(desired.values(), repair)
        for username in actual.keys() - desired.keys():
            if username in self.config.service_accounts:
                continue
            if username in retired or self.config.remove_unknown_accounts:
                await self.prosody.delete_account(username)
                report.deleted.append(username)
            else:
                report.unknown.append(username)
        if report.unknown:
            log.warning("accounts in Prosody unknown to the portal: %s", sorted(report.unknown))
        counts = {username: record.sessions for username, record in actual.items()}
        report.session_counts_corrected = await portal.call(xmpp_sessions_listed, counts)
        return report

    # ---------- sessions, as Prosody reports them ----------

    def _on_sessions(self, message) -> None:
        if message["from"].full != self.config.domain:
            return  # only Prosody itself reports sessions
        element = message.xml.find(f"{{{ACCOUNTS_NS}}}sessions")
        username = element.get("username")
        try:
            count = max(0, int(element.get("count") or 0))
            login = element.get("login")
            login_at = datetime.fromtimestamp(int(login), UTC) if login else None
        except (ValueError, OverflowError, OSError):
            log.warning("malformed session report: %s", element)
            return
        if username:
            self._sessions.put_nowait((username, count, login_at))

    async def listen(self) -> None:
        """Store session reports, the latest per person, a batch at a time: a
        reconnect storm is one database transaction per batch, not per login."""
        from portal.accounts.actions import xmpp_sessions_reported

        while True:
            batch = [await self._sessions.get()]
            while not self._sessions.empty():
                batch.append(self._sessions.get_nowait())
            reports: dict[str, tuple[int, datetime | None]] = {}
            for username, count, login_at in batch:
                previous_login = reports.get(username, (0, None))[1]
                reports[username] = (count, login_at or previous_login)
            try:
                await portal.call(xmpp_sessions_reported, reports)
            except Exception:
                log.exception("session reports not stored: %s", sorted(reports))
