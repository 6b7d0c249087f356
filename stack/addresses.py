"""The XMPP addresses of one ChatBoard deployment, derived from the environment here only.

The portal's settings, the bridge's config and Prosody's config all take them
from `Addresses.from_env`, so a setting such as CHATBOARD_MUC_DOMAIN cannot
reach one component and miss another (rooms made in the portal would then live
on a service Prosody does not run).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DOMAIN = "localhost"
# A DNS name as XMPP domains use them (RFC 7622 allows more; certificates and DNS don't).
_HOSTNAME = re.compile(
    r"^(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\Z"
)


class AddressError(ValueError):
    """A domain setting that cannot name an XMPP service."""


def default_muc_domain(domain: str) -> str:
    return f"conference.{domain}"


@dataclass(frozen=True)
class Addresses:
    domain: str
    muc: str

    def __post_init__(self):
        for name, value in (("CHATBOARD_DOMAIN", self.domain), ("CHATBOARD_MUC_DOMAIN", self.muc)):
            if not _HOSTNAME.match(value):
                raise AddressError(f"{name}={value!r} is not a valid domain name")
        taken = {self.domain, self.upload, self.bridge}
        if self.muc in taken:
            raise AddressError(
                f"CHATBOARD_MUC_DOMAIN={self.muc!r} is already the address of another "
                "service; use a name of its own, such as " + default_muc_domain(self.domain)
            )

    @property
    def upload(self) -> str:
        """File sharing (XEP-0363)."""
        return f"upload.{self.domain}"

    @property
    def bridge(self) -> str:
        """The bridge's component address (XEP-0114)."""
        return f"bridge.{self.domain}"

    @property
    def served(self) -> list[str]:
        """The names other servers and clients connect to: the certificate's names."""
        return [self.domain, self.muc, self.upload]

    def person(self, username: str) -> str:
        """The bare JID of someone of this server."""
        return f"{username}@{self.domain}"

    def room(self, slug: str) -> str:
        """The bare JID of one of this server's rooms."""
        return f"{slug}@{self.muc}"

    def local_username(self, jid: str) -> str | None:
        """The username when `jid` is a bare JID of this server, else None."""
        username, at, domain = jid.rpartition("@")
        if not at or domain != self.domain or not username or "/" in jid:
            return None
        return username

    @classmethod
    def for_domain(cls, domain: str, muc: str | None = None) -> "Addresses":
        return cls(domain=domain, muc=muc or default_muc_domain(domain))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Addresses":
        domain = (env.get("CHATBOARD_DOMAIN") or DEFAULT_DOMAIN).strip().lower()
        muc = (env.get("CHATBOARD_MUC_DOMAIN") or "").strip().lower()
        return cls.for_domain(domain, muc or None)
