"""Applies outbox rows to Prosody, in order per object, with retries."""

import asyncio
import logging
import socket

from bridge import portal
from bridge.prosody import ProsodyError

log = logging.getLogger(__name__)


class OutboxConsumer:
    def __init__(self, component, handlers: dict, poll_interval: float):
        """`handlers` maps an outbox topic to `async def apply(key)`."""
        self.component = component
        self.handlers = handlers
        self.poll_interval = poll_interval
        self.worker = f"{socket.gethostname()}:{id(self):x}"

    async def run(self) -> None:
        while True:
            await self.component.online.wait()
            try:
                found = await self.step()
            except Exception:
                log.exception("outbox step failed")
                found = False
            if not found:
                await asyncio.sleep(self.poll_interval)

    async def step(self) -> bool:
        """Claim and apply one object; False when there was nothing to do."""
        from outbox import actions

        claim = await portal.call(actions.claim_next, self.worker, set(self.handlers))
        if claim is None:
            return False
        apply = self.handlers[claim.topic]
        session = self.component.sessions
        try:
            await apply(claim.key)
        except ProsodyError as error:
            if not self.component.online.is_set() or self.component.sessions != session:
                # Prosody went away mid-way (its answer timed out after a
                # reconnect, even): not the row's fault, so no backoff.
                await portal.call(actions.release, claim)
                return True
            state = await portal.call(actions.fail, claim, str(error))
            log.warning("%s:%s failed (%s): %s", claim.topic, claim.key, state, error)
            return True
        except Exception as error:
            state = await portal.call(actions.fail, claim, f"{type(error).__name__}: {error}")
            log.exception("%s:%s crashed (%s)", claim.topic, claim.key, state)
            return True
        await portal.call(actions.complete, claim)
        log.info("applied %s:%s", claim.topic, claim.key)
        return True
