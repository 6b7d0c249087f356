"""A real slixmpp client for tests: log in, wait for things, get kicked."""

import asyncio
import ssl
from contextlib import asynccontextmanager

from slixmpp import ClientXMPP


class LoginRefused(Exception):
    pass


class TestClient(ClientXMPP):
    __test__ = False

    def __init__(self, jid, password, *, ca_file, mech=None, stream_management=True):
        super().__init__(jid, password, sasl_mech=mech)
        self.enable_direct_tls = False
        self.enable_plaintext = False
        self.ssl_context = ssl.create_default_context(cafile=str(ca_file))
        self.outcome = asyncio.get_running_loop().create_future()
        self.closed = asyncio.Event()
        self.stream_errors = []
        plugins = ("xep_0030", "xep_0045", "xep_0054", "xep_0084", "xep_0199", "xep_0352")
        for plugin in (*plugins, *(("xep_0198",) if stream_management else ())):
            self.register_plugin(plugin)
        self.add_event_handler("session_start", self._started)
        self.add_event_handler("failed_all_auth", self._refused)
        self.add_event_handler("no_auth", self._refused)
        self.add_event_handler("disconnected", self._disconnected)
        self.add_event_handler("stream_error", lambda e: self.stream_errors.append(e))

    async def _started(self, _event):
        self.send_presence()
        if not self.outcome.done():
            self.outcome.set_result(True)

    def _refused(self, *_args):
        if not self.outcome.done():
            self.outcome.set_exception(LoginRefused(str(self.boundjid)))

    def _disconnected(self, *_args):
        self.closed.set()
        if not self.outcome.done():
            self.outcome.set_exception(LoginRefused(f"{self.boundjid}: disconnected"))


async def connect(server, jid, password, mech=None, timeout=5.0) -> TestClient:
    """Log in over STARTTLS, verifying the server's certificate; raise LoginRefused."""
    client = TestClient(jid, password, ca_file=server.ca_file, mech=mech)
    client.connect("127.0.0.1", server.c2s_port)
    try:
        await asyncio.wait_for(asyncio.shield(client.outcome), timeout)
    except (TimeoutError, LoginRefused):
        client.abort()
        raise LoginRefused(f"{jid} could not log in with {mech or 'any mechanism'}") from None
    return client


@asynccontextmanager
async def logged_in(server, jid, password, mech=None):
    client = await connect(server, jid, password, mech)
    try:
        yield client
    finally:
        if not client.closed.is_set():
            client.disconnect(wait=0)


def can_log_in(server, jid, password, mech=None) -> bool:
    async def attempt():
        try:
            async with logged_in(server, jid, password, mech):
                return True
        except LoginRefused:
            return False

    return asyncio.run(attempt())


def eventually(predicate, timeout=5.0, interval=0.05):
    """Poll `predicate` until it is truthy; return its value or fail after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


async def wait_for(predicate, timeout):
    """Await until `predicate()` is truthy, for code on the event loop."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)
