"""Applies outbox rows to Prosody, in order per object, with retries."""

import asyncio
import logging
import socket

from bridge import portal
from bridge.prosody import ProsodyError

log = logging.getLogger(__name__)


# Rows of different objects applied side by side. One at a time, the bridge
# waited on Prosody round trips: a profile takes ~6 (bench: at 20 profile
# edits/s the queue grew and p99 reached 4 s). Rows of one object stay in order:
# claim_next never hands out an object that has a claim in flight. Across
# topics (an account, then its profile) the older row is claimed, and so sent
# to Prosody, first; Prosody handles one connection's stanzas in order.
CONCURRENCY = 8
# On SIGTERM, how long rows in flight may take to finish before they are given
# back: inside the 10 s a container runtime waits before it kills.
SHUTDOWN_GRACE = 5.0


class OutboxConsumer:
    def __init__(self, component, handlers: dict, poll_interval: float, concurrency=CONCURRENCY):
        """`handlers` maps an outbox topic to `async def apply(key)`."""
        self.component = component
        self.handlers = handlers
        self.poll_interval = poll_interval
        self.concurrency = concurrency
        self.worker = f"{socket.gethostname()}:{id(self):x}"
        self._applying: set[asyncio.Task] = set()

    async def run(self) -> None:
        slots = asyncio.Semaphore(self.concurrency)
        while True:
            await self.component.online.wait()
            await slots.acquire()
            try:
                claim = await self._claim_or_give_back()
            except Exception:
                log.exception("outbox claim failed")
                claim = None
            if claim is None:
                slots.release()
                await asyncio.sleep(self.poll_interval)
                continue
            task = asyncio.create_task(self._apply_then_free(claim, slots))
            self._applying.add(task)
            task.add_done_callback(self._applying.discard)

    async def _apply_then_free(self, claim, slots: asyncio.Semaphore) -> None:
        try:
            await self.apply(claim)
        except Exception:
            log.exception("outbox step failed")
        finally:
            slots.release()

    async def _claim_or_give_back(self):
        """claim(), such that a stop arriving meanwhile gives the claim back: the
        claim commits on the database thread whether or not anyone awaits it."""
        claiming = asyncio.ensure_future(self.claim())
        try:
            return await asyncio.shield(claiming)
        except asyncio.CancelledError:
            claim = await claiming
            if claim is not None:
                await self._release(claim)
            raise

    async def drain(self, grace: float = SHUTDOWN_GRACE) -> None:
        """After run() is cancelled: let the rows in flight finish for up to `grace`
        seconds, then give back the claims of those still waiting on Prosody, so
        the next bridge takes them at once instead of when the claims run out."""
        if not self._applying:
            return
        _done, late = await asyncio.wait(set(self._applying), timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    async def _release(self, claim) -> None:
        from portal.outbox import actions

        await portal.call(actions.release, claim)
        log.info("gave back %s:%s", claim.topic, claim.key)

    async def step(self) -> bool:
        """Claim and apply one object; False when there was nothing to do."""
        claim = await self.claim()
        if claim is None:
            return False
        await self.apply(claim)
        return True

    async def claim(self):
        from portal.outbox import actions

        return await portal.call(actions.claim_next, self.worker, set(self.handlers))

    async def apply(self, claim) -> None:
        from portal.outbox import actions

        apply = self.handlers[claim.topic]
        session = self.component.sessions
        try:
            await apply(claim.key)
        except asyncio.CancelledError:
            await self._release(claim)  # stopping: not the row's fault, no attempt counted
            raise
        except ProsodyError as error:
            if not self.component.online.is_set() or self.component.sessions != session:
                # Prosody went away mid-way (its answer timed out after a
                # reconnect, even): not the row's fault, so no backoff.
                await portal.call(actions.release, claim)
                return
            state = await portal.call(actions.fail, claim, str(error))
            log.warning("%s:%s failed (%s): %s", claim.topic, claim.key, state, error)
            return
        except Exception as error:
            state = await portal.call(actions.fail, claim, f"{type(error).__name__}: {error}")
            log.exception("%s:%s crashed (%s)", claim.topic, claim.key, state)
            return
        await portal.call(actions.complete, claim)
        log.info("applied %s:%s", claim.topic, claim.key)
