"""The bridge's requests to Prosody: one way to send them, one error type."""

from slixmpp import Iq
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

from bridge.component import BridgeComponent


class ProsodyError(Exception):
    """Prosody refused or did not answer an operation."""


async def send_iq(
    component: BridgeComponent, to: str, kind: str, element: ET.Element, what: str
) -> Iq:
    """Send `element` in an IQ from the bridge; a refusal or silence is a ProsodyError."""
    iq = component.make_iq(ito=to, ifrom=component.boundjid.full, itype=kind)
    iq.append(element)
    try:
        return await iq.send(timeout=component.config.iq_timeout)
    except IqError as error:
        text = error.iq["error"]["text"] or error.iq["error"]["condition"]
        raise ProsodyError(f"{what}: {text}") from None
    except IqTimeout:
        raise ProsodyError(f"{what}: no answer from Prosody") from None


def changed(reply: Iq, namespace: str) -> bool:
    """Our modules answer <done changed="true|false"/>."""
    done = reply.xml.find(f"{{{namespace}}}done")
    return done is not None and done.get("changed") == "true"
