"""A lean XMPP client for load generation: STARTTLS, SASL (SCRAM-SHA-1 or PLAIN),
resource binding, MUC join, then raw stanzas. slixmpp spends ~60 ms of CPU per
login (measured in the login storm), enough to make the load tool the
bottleneck; this client does only what a login and a chat message need, on
asyncio streams.

Received chat messages are not parsed as XML: the receive loop finds `<body>`
by substring in what it reads (Prosody writes a body without attributes) and
hands each body to a callback. Bench bodies carry their own send time, so
latency needs nothing else from the stanza."""

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import re
import secrets
import ssl
import time

STREAM_HEADER = (
    "<?xml version='1.0'?><stream:stream to='{domain}' version='1.0' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
)
SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl"
# <challenge>, <success> or <failure>, empty (/>) or with a body.
SASL_REPLY = re.compile(rb"<(challenge|success|failure)\b[^>]*?(/>|>([^<]*)</\1>|>.*?</\1>)", re.S)


MUC_NS = "http://jabber.org/protocol/muc"
SM_NS = "urn:xmpp:sm:3"
SM_REQUEST = f"<r xmlns='{SM_NS}'/>".encode()


class LoginFailed(Exception):
    pass


@functools.lru_cache(maxsize=64)
def salted_password(password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802 lets a client cache SaltedPassword; a load tool logging in many
    accounts that share a password and salt then pays PBKDF2 once."""
    return hashlib.pbkdf2_hmac("sha1", password.encode(), salt, iterations)


class LeanClient:
    def __init__(self, host: str, port: int, domain: str, ssl_context: ssl.SSLContext):
        self.host, self.port, self.domain = host, port, domain
        self.ssl_context = ssl_context
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.buffer = b""
        self.jid = None
        # Stream management (XEP-0198): on once enable_sm() ran; every stanza the
        # server sends from then on is a message with a body (the bench's own).
        self.sm_enabled = False
        self.sm_handled = 0

    async def _read_until(self, *markers: bytes) -> bytes:
        """Read until one of the markers appears; return and consume the buffer up to it."""
        while True:
            for marker in markers:
                index = self.buffer.find(marker)
                if index >= 0:
                    end = index + len(marker)
                    chunk, self.buffer = self.buffer[:end], self.buffer[end:]
                    return chunk
            data = await self.reader.read(65536)
            if not data:
                raise LoginFailed("connection closed by the server")
            self.buffer += data

    def send(self, data: str) -> None:
        self.writer.write(data.encode())

    async def _open_stream(self) -> bytes:
        self.send(STREAM_HEADER.format(domain=self.domain))
        return await self._read_until(b"</stream:features>")

    async def login(self, username: str, password: str, mechanism: str = "SCRAM-SHA-1") -> None:
        await self.start_tls()
        await self.authenticate(username, password, mechanism)
        await self.bind()

    async def start_tls(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        await self._open_stream()
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        await self._read_until(b"<proceed", b"<failure")
        await self._read_until(b"/>")
        await self.writer.start_tls(self.ssl_context, server_hostname=self.domain)
        self.buffer = b""
        await self._open_stream()

    async def authenticate(self, username: str, password: str, mechanism: str) -> None:
        """SASL on the encrypted stream. After LoginFailed the stream is still open
        and a client may try again (RFC 6120 6.4.5), without a new TLS handshake."""
        if mechanism == "PLAIN":
            await self._plain(username, password)
        else:
            await self._scram_sha1(username, password)

    async def bind(self) -> None:
        self.buffer = b""
        await self._open_stream()
        self.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
        reply = await self._read_until(b"</iq>")
        match = re.search(rb"<jid>([^<]+)</jid>", reply)
        if not match:
            raise LoginFailed("bind failed")
        self.jid = match.group(1).decode()

    async def _sasl_step(self) -> tuple[str, bytes]:
        while (match := SASL_REPLY.search(self.buffer)) is None:
            data = await self.reader.read(65536)
            if not data:
                raise LoginFailed("connection closed by the server")
            self.buffer += data
        self.buffer = self.buffer[match.end() :]
        kind = match.group(1).decode()
        if kind == "failure":
            raise LoginFailed("authentication refused")
        return kind, base64.b64decode(match.group(3) or b"")

    async def _plain(self, username: str, password: str) -> None:
        blob = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        self.send(f"<auth xmlns='{SASL_NS}' mechanism='PLAIN'>{blob}</auth>")
        kind, _ = await self._sasl_step()
        if kind != "success":
            raise LoginFailed("unexpected challenge for PLAIN")

    async def _scram_sha1(self, username: str, password: str) -> None:
        nonce = secrets.token_hex(12)
        first_bare = f"n={username},r={nonce}"
        first = base64.b64encode(f"n,,{first_bare}".encode()).decode()
        self.send(f"<auth xmlns='{SASL_NS}' mechanism='SCRAM-SHA-1'>{first}</auth>")
        _, challenge = await self._sasl_step()
        fields = dict(item.split("=", 1) for item in challenge.decode().split(","))
        if not fields["r"].startswith(nonce):
            raise LoginFailed("server nonce does not extend ours")
        salted = salted_password(password, base64.b64decode(fields["s"]), int(fields["i"]))
        client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
        stored_key = hashlib.sha1(client_key).digest()
        final_bare = f"c=biws,r={fields['r']}"
        auth_message = f"{first_bare},{challenge.decode()},{final_bare}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha1).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
        final = f"{final_bare},p={base64.b64encode(proof).decode()}"
        self.send(
            f"<response xmlns='{SASL_NS}'>{base64.b64encode(final.encode()).decode()}</response>"
        )
        kind, data = await self._sasl_step()
        server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
        expected = hmac.new(server_key, auth_message, hashlib.sha1).digest()
        if kind != "success" or data != b"v=" + base64.b64encode(expected):
            raise LoginFailed("server signature does not verify")

    async def join_room(self, room_jid: str, nick: str) -> None:
        """Enter a room; return once the room sent our own presence (status 110).
        The presences of everyone already in arrive first; they are skipped in
        bulk, not stanza by stanza (in a room of 1,000 that is 400 kB)."""
        self.send(f"<presence to='{room_jid}/{nick}'><x xmlns='{MUC_NS}'/></presence>")
        scanned = 0
        while True:
            found = [
                (index, marker)
                for marker in (b"code='110'", b'code="110"', b"type='error'")
                if (index := self.buffer.find(marker, scanned)) >= 0
            ]
            if found:
                index, marker = min(found)
                end = self.buffer.find(b"</presence>", index)
                if end >= 0:
                    if marker == b"type='error'":
                        raise LoginFailed(
                            f"join refused: {self.buffer[max(0, index - 200) : end]!r}"
                        )
                    self.buffer = self.buffer[end + len(b"</presence>") :]
                    return
                scanned = index  # the rest of this stanza is still to come
            else:
                scanned = max(0, len(self.buffer) - 12)  # a marker may be split
            data = await self.reader.read(262144)
            if not data:
                raise LoginFailed("connection closed by the server")
            self.buffer += data

    async def iq(self, stanza: str) -> bytes:
        """Send an IQ and return the next IQ the server sends (one request at a time)."""
        self.send(stanza)
        reply = await self._read_until(b"</iq>")
        return reply[reply.rfind(b"<iq") :]

    async def enable_sm(self) -> None:
        """Ask for stream management as Converse and mobile clients do. Call it once
        the room is quiet, before receive_bodies: the server counts stanzas from
        its <enabled/> on, and the receive loop counts them by their bodies (only
        bench messages come after it) and answers the server's ack requests."""
        self.send(f"<enable xmlns='{SM_NS}'/>")
        await self._read_until(b"<enabled")
        await self._read_until(b">")
        self.sm_enabled = True

    def send_groupchat(self, room_jid: str, body: str) -> None:
        self.send(f"<message to='{room_jid}' type='groupchat'><body>{body}</body></message>")

    def send_chat(self, jid: str, body: str) -> None:
        self.send(f"<message to='{jid}' type='chat'><body>{body}</body></message>")

    async def receive_bodies(self, on_body) -> None:
        """Call on_body(body_bytes, received_ns) for every message body until the
        stream ends. Runs as a task; cancel it to stop."""
        reader, data = self.reader, self.buffer
        self.buffer = b""
        now = time.monotonic_ns
        sm_tail = b""
        while True:
            received = now()
            pos = 0
            bodies = 0
            scanned = data
            while True:
                start = data.find(b"<body>", pos)
                if start < 0:
                    data = data[-5:]  # may be the start of a split "<body>"
                    break
                end = data.find(b"</body>", start)
                if end < 0:
                    data = data[start:]
                    break
                on_body(data[start + 6 : end], received)
                bodies += 1
                pos = end + 7
            if self.sm_enabled:
                self.sm_handled += bodies
                # Everything read so far is handled: acknowledge it all.
                window = sm_tail + scanned
                if SM_REQUEST in window:
                    self.send(f"<a xmlns='{SM_NS}' h='{self.sm_handled}'/>")
                sm_tail = window[-(len(SM_REQUEST) - 1) :]
            chunk = await reader.read(262144)
            if not chunk:
                return
            data += chunk

    def close(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(RuntimeError, ConnectionError):
                self.writer.write(b"</stream:stream>")
            self.writer.close()
