"""SCRAM-SHA-1 credentials in Prosody's internal_hashed format.

The portal derives these from a password at the moment it is set, so that only
the derived keys (never the password) are stored and sent to Prosody.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class ScramCredentials:
    salt: str
    iterations: int
    stored_key: str  # hex
    server_key: str  # hex


def derive_scram_sha1(password: str, iterations: int, salt: str | None = None) -> ScramCredentials:
    # Prosody uses the salt *text* as the PBKDF2 salt; any printable string works.
    salt = salt or secrets.token_hex(16)
    salted = hashlib.pbkdf2_hmac("sha1", password.encode(), salt.encode(), iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha1).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha1).digest()
    return ScramCredentials(
        salt=salt,
        iterations=iterations,
        stored_key=hashlib.sha1(client_key).hexdigest(),
        server_key=server_key.hex(),
    )
