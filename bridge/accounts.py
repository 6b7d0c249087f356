"""Accounts: make Prosody hold exactly the accounts and credentials the portal has."""

import logging
from dataclasses import dataclass, field

from bridge import portal
from bridge.prosody import ProsodyAccounts
from bridge.reconciler import for_each

log = logging.getLogger(__name__)


@dataclass
class AccountsReport:
    created_or_updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


class AccountSync:
    def __init__(self, prosody: ProsodyAccounts, config):
        self.prosody = prosody
        self.config = config

    async def apply(self, username: str) -> None:
        """The outbox handler for topic "account"."""
        from accounts.xmpp_state import desired_account

        state = await portal.call(desired_account, username)
        if state is None:
            await self.prosody.delete_account(username)
        else:
            await self.prosody.set_account(state)

    async def reconcile(self) -> AccountsReport:
        from accounts.xmpp_state import desired_accounts, retired_usernames

        report = AccountsReport()
        desired = await portal.call(desired_accounts)
        retired = await portal.call(retired_usernames)
        actual = await self.prosody.list_accounts()

        async def repair(state) -> None:
            if actual.get(state.username) != state.fingerprint:
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
        return report
