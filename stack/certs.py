"""A self-signed development certificate for the XMPP domain and its components."""

import subprocess
from pathlib import Path

from stack.addresses import Addresses


def ensure_dev_certificate(certs_dir: Path, addresses: Addresses | str) -> tuple[Path, Path]:
    """The certificate for the domain, its room and upload services and the bridge."""
    if isinstance(addresses, str):
        addresses = Addresses.for_domain(addresses)
    domain = addresses.domain
    certs_dir.mkdir(parents=True, exist_ok=True)
    cert, key = certs_dir / f"{domain}.crt", certs_dir / f"{domain}.key"
    if cert.exists() and key.exists():
        return cert, key
    names = [*addresses.served, addresses.bridge]
    # An ECDSA P-256 key, as Caddy's ACME certificates have in production, so
    # that every TLS handshake here costs what it costs there: with RSA-2048 the
    # server's signature was about two fifths of Prosody's instructions per
    # login (callgrind, bench/README.md).
    san = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-sha256",
            "-days", "825", "-subj", f"/CN={domain}", "-addext", f"subjectAltName={san}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key
