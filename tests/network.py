"""What a network can do to a client that a client cannot: go silent."""

import socket
import threading


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
