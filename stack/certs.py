"""A self-signed development certificate for the XMPP domain and its components."""

import subprocess
from pathlib import Path


def ensure_dev_certificate(certs_dir: Path, domain: str) -> tuple[Path, Path]:
    certs_dir.mkdir(parents=True, exist_ok=True)
    cert, key = certs_dir / f"{domain}.crt", certs_dir / f"{domain}.key"
    if cert.exists() and key.exists():
        return cert, key
    names = [domain, f"conference.{domain}", f"upload.{domain}", f"bridge.{domain}"]
    san = ",".join(f"DNS:{name}" for name in names)
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
            "-days", "825", "-subj", f"/CN={domain}", "-addext", f"subjectAltName={san}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key
