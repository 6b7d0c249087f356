"""The bridge's connection to Prosody: an XEP-0114 component that keeps itself
connected, retrying quickly (at most a few seconds apart) while Prosody is away."""

import asyncio
import logging

from slixmpp import ComponentXMPP

from bridge.config import BridgeConfig

log = logging.getLogger(__name__)

MAX_RECONNECT_DELAY = 2.0


class BridgeComponent(ComponentXMPP):
    def __init__(self, config: BridgeConfig):
        super().__init__(
            config.component_jid,
            config.component_secret,
            config.prosody_host,
            config.component_port,
        )
        self.config = config
        self.online = asyncio.Event()
        # Counts sessions: work that straddled a reconnect is not the work's fault.
        self.sessions = 0
        self._stopping = False
        self._delay = 0.2
        self._reconnect_task: asyncio.Task | None = None
        self.register_plugin("xep_0030")
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("stream_error", self._on_stream_error)

    def start(self) -> None:
        self.connect(self.config.prosody_host, self.config.component_port)

    async def stop(self) -> None:
        self._stopping = True
        if self._reconnect_task:
            self._reconnect_task.cancel()
        self.cancel_connection_attempt()
        if self.online.is_set():
            await self.disconnect(wait=1)

    def _on_session_start(self, _event) -> None:
        log.info("connected to Prosody as %s", self.boundjid.bare)
        self._delay = 0.2
        self.sessions += 1
        self.online.set()

    def _on_stream_error(self, error) -> None:
        log.error("Prosody refused the bridge: %s", error["condition"])

    def _on_disconnected(self, reason) -> None:
        was_online = self.online.is_set()
        self.online.clear()
        if was_online and not self._stopping:
            log.warning("disconnected from Prosody (%s); reconnecting", reason)
        self._schedule_reconnect()

    def _on_connection_failed(self, error) -> None:
        # slixmpp's own retry loop backs off up to minutes; ours stays quick.
        self.cancel_connection_attempt()
        log.info("Prosody unreachable (%s); retrying in %.1f s", error, self._delay)
        self._schedule_reconnect()

    def _schedule_reconnect(self) -> None:
        if self._stopping or (self._reconnect_task and not self._reconnect_task.done()):
            return
        self._reconnect_task = asyncio.ensure_future(self._reconnect_later(self._delay))
        self._delay = min(MAX_RECONNECT_DELAY, self._delay * 2)

    async def _reconnect_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if not self._stopping and not self.online.is_set():
            self.start()
