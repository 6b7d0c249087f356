"""Accounts, through mod_chatboard_accounts on the VirtualHost."""

from dataclasses import dataclass

from slixmpp import Iq
from slixmpp.xmlstream import ET

from bridge.component import BridgeComponent
from bridge.prosody.channel import ProsodyError, changed, send_iq

ACCOUNTS_NS = "urn:chatboard:accounts:0"


@dataclass(frozen=True)
class AccountRecord:
    username: str
    fingerprint: str
    sessions: int = 0  # live sessions (a hibernating stream-management session counts)


class ProsodyAccounts:
    def __init__(self, component: BridgeComponent):
        self.component = component
        self.host = component.config.domain

    async def _send(self, kind: str, element: ET.Element) -> Iq:
        return await send_iq(self.component, self.host, kind, element, element.tag)

    async def set_account(self, state) -> bool:
        """Create or update an account to exactly these credentials; True if changed."""
        element = ET.Element(
            f"{{{ACCOUNTS_NS}}}account",
            {
                "username": state.username,
                "salt": state.salt,
                "iterations": str(state.iterations),
                "stored-key": state.stored_key,
                "server-key": state.server_key,
                "active": "true" if state.active else "false",
            },
        )
        return changed(await self._send("set", element), ACCOUNTS_NS)

    async def delete_account(self, username: str) -> bool:
        element = ET.Element(f"{{{ACCOUNTS_NS}}}delete", {"username": username})
        return changed(await self._send("set", element), ACCOUNTS_NS)

    async def list_accounts(self) -> dict[str, AccountRecord]:
        """Every account Prosody holds: its credentials' fingerprint and live sessions."""
        reply = await self._send("get", ET.Element(f"{{{ACCOUNTS_NS}}}list"))
        listing = reply.xml.find(f"{{{ACCOUNTS_NS}}}list")
        if listing is None:
            raise ProsodyError("list: malformed answer")
        records = (
            AccountRecord(item.get("username"), item.get("fingerprint"), _count(item))
            for item in listing.findall(f"{{{ACCOUNTS_NS}}}account")
        )
        return {record.username: record for record in records}


def _count(item: ET.Element) -> int:
    try:
        return max(0, int(item.get("sessions") or 0))
    except ValueError:
        return 0
