"""A certificate authority for tests: servers verify each other's certificates
(s2s_secure_auth) exactly as in production, with this CA in place of the public ones."""

import subprocess
from pathlib import Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class TestCA:
    __test__ = False

    def __init__(self, directory: Path):
        self.directory = directory
        self.cert = directory / "ca.crt"
        self.key = directory / "ca.key"
        if not self.cert.exists():
            directory.mkdir(parents=True, exist_ok=True)
            _openssl(
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-sha256", "-days", "2", "-subj", "/CN=ChatBoard test CA",
                "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout", str(self.key), "-out", str(self.cert),
            )  # fmt: skip

    def issue(self, certs_dir: Path, domain: str) -> tuple[Path, Path]:
        """<domain>.crt/.key in certs_dir, valid for the domain and its components."""
        certs_dir.mkdir(parents=True, exist_ok=True)
        cert, key, request = (certs_dir / f"{domain}.{ext}" for ext in ("crt", "key", "csr"))
        names = [domain, *(f"{c}.{domain}" for c in ("conference", "upload", "bridge"))]
        extensions = certs_dir / f"{domain}.ext"
        extensions.write_text(
            "basicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth,clientAuth\n"
            f"subjectAltName={','.join(f'DNS:{name}' for name in names)}\n"
        )
        _openssl(
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", f"/CN={domain}", "-keyout", str(key), "-out", str(request),
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", str(request), "-CA", str(self.cert), "-CAkey", str(self.key),
            "-CAcreateserial", "-days", "2", "-sha256", "-extfile", str(extensions),
            "-out", str(cert),
        )  # fmt: skip
        key.chmod(0o600)
        return cert, key
