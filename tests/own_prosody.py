"""A Prosody of a test's own, with accounts written straight into its storage.

For tests of limits and timeouts that need settings of their own (short
timeouts, low caps) and no bridge: accounts are written the way the portal
derives them, as mod_chatboard_accounts would store them.
"""

import asyncio
import socket
import threading
from contextlib import contextmanager

from bench.servers import write_accounts
from portal.accounts.scram import derive_scram_sha1
from stack.prosody import ProsodyServer
from tests.fixtures import XmppServer, prosody_config

PASSWORD = "correct horse battery"
MUC = "conference.localhost"


@contextmanager
def own_prosody(runtime_dir, usernames, **overrides):
    config = prosody_config(runtime_dir, **overrides)
    credentials = derive_scram_sha1(PASSWORD, 4096, salt="test-salt")
    write_accounts(config.data_path, config.domain, {name: credentials for name in usernames})
    server = XmppServer(config, ProsodyServer(config).start())
    try:
        yield server
    finally:
        server.stop()


class FreezableProxy:
    """A TCP relay to Prosody that can go silent without closing anything:
    what Prosody sees of a client whose network vanished (half-open TCP)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        upstream = socket.create_connection(("127.0.0.1", self.target_port))
        self.sockets += [client, upstream]
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                if self.frozen.is_set():
                    continue  # swallowed: nothing goes through, nothing is closed
                sink.sendall(data)
        except OSError:
            pass

    def freeze(self):
        self.frozen.set()

    def close(self):
        self.listener.close()
        for sock in self.sockets:
            sock.close()


async def wait_for(predicate, timeout):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.05)
