"""Periodic repair of drift between the portal's desired state and Prosody."""

import asyncio
import logging
import time

log = logging.getLogger(__name__)


class Reconciler:
    def __init__(self, component, parts: list, interval: float):
        """`parts` are objects with `async def reconcile()` returning a report."""
        self.component = component
        self.parts = parts
        self.interval = interval

    async def run(self) -> None:
        while True:
            await self.component.online.wait()
            try:
                await self.reconcile_once()
            except Exception:
                log.exception("reconcile failed; retrying at the next interval")
            await asyncio.sleep(self.interval)

    async def reconcile_once(self) -> list:
        started = time.monotonic()
        reports = [await part.reconcile() for part in self.parts]
        log.info("reconciled in %.2f s: %s", time.monotonic() - started, reports)
        return reports
