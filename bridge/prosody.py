"""The one module that talks to Prosody on the bridge's behalf.

Every operation is idempotent (create-if-missing, set-to-value): replaying an
outbox row or reconciling twice does no harm.
"""

from dataclasses import dataclass

from slixmpp import Iq
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

from bridge.component import BridgeComponent

ACCOUNTS_NS = "urn:chatboard:accounts:0"


class ProsodyError(Exception):
    """Prosody refused or did not answer an operation."""


@dataclass(frozen=True)
class AccountRecord:
    username: str
    fingerprint: str


class ProsodyAccounts:
    def __init__(self, component: BridgeComponent):
        self.component = component
        self.host = component.config.domain
        self.timeout = component.config.iq_timeout

    async def _send(self, kind: str, element: ET.Element) -> Iq:
        iq = self.component.make_iq(ito=self.host, ifrom=self.component.boundjid.full, itype=kind)
        iq.append(element)
        try:
            return await iq.send(timeout=self.timeout)
        except IqError as error:
            text = error.iq["error"]["text"] or error.iq["error"]["condition"]
            raise ProsodyError(f"{element.tag}: {text}") from None
        except IqTimeout:
            raise ProsodyError(f"{element.tag}: no answer from Prosody") from None

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
        reply = await self._send("set", element)
        return _changed(reply)

    async def delete_account(self, username: str) -> bool:
        element = ET.Element(f"{{{ACCOUNTS_NS}}}delete", {"username": username})
        return _changed(await self._send("set", element))

    async def list_accounts(self) -> dict[str, str]:
        reply = await self._send("get", ET.Element(f"{{{ACCOUNTS_NS}}}list"))
        listing = reply.xml.find(f"{{{ACCOUNTS_NS}}}list")
        if listing is None:
            raise ProsodyError("list: malformed answer")
        return {
            item.get("username"): item.get("fingerprint")
            for item in listing.findall(f"{{{ACCOUNTS_NS}}}account")
        }


def _changed(reply: Iq) -> bool:
    done = reply.xml.find(f"{{{ACCOUNTS_NS}}}done")
    return done is not None and done.get("changed") == "true"
