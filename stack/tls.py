"""Prosody's TLS certificates, managed in one place: the proxy (Caddy) obtains and
renews them over ACME for the web host and the XMPP names, or the operator puts
files in a directory; Prosody gets a copy under its own certificate directory."""

from pathlib import Path


class CertificateStore:
    """Copies `<name>.crt`/`<name>.key` for each of Prosody's names from the source
    directories (searched at any depth: Caddy's `certificates/<issuer>/<name>/<name>.crt`,
    a flat directory, or certbot's `<name>/fullchain.pem` + `privkey.pem`; the newest
    wins) into `target`, the layout Prosody's `certificates` option discovers."""

    def __init__(self, sources: list[Path], target: Path, names: list[str]):
        self.sources = sources
        self.target = target
        self.names = names

    def find(self, name: str) -> tuple[Path, Path] | None:
        """The newest certificate and key for `name` in the sources, if any."""
        pairs = []
        for source in (s for s in self.sources if s.is_dir()):
            pairs += [(crt, crt.with_suffix(".key")) for crt in source.rglob(f"{name}.crt")]
            pairs += [
                (chain, chain.with_name("privkey.pem"))
                for chain in source.rglob("fullchain.pem")
                if chain.parent.name == name
            ]
        pairs = [(crt, key) for crt, key in pairs if key.is_file()]
        return max(pairs, key=lambda pair: pair[0].stat().st_mtime, default=None)

    def complete(self) -> bool:
        """Every name has a certificate in the sources (trivially, without sources)."""
        return not self.sources or all(self.find(name) is not None for name in self.names)

    def install(self) -> bool:
        """Copy what changed; True when Prosody must reload its certificates."""
        changed = False
        self.target.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            found = self.find(name)
            if found is None:
                continue
            for source, suffix, mode in ((found[0], ".crt", 0o644), (found[1], ".key", 0o600)):
                destination = self.target / f"{name}{suffix}"
                content = source.read_bytes()
                if destination.exists() and destination.read_bytes() == content:
                    continue
                destination.touch(mode=mode)
                destination.write_bytes(content)
                changed = True
        return changed
