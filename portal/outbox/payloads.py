"""What crosses between the portal and the bridge: the outbox topics, the desired
state the bridge reads, and the reports it brings back from Prosody.

One module, in the outbox app because the outbox is the portal's side of the
sync to Prosody, and free of Django (plain dataclasses, standard library and
stack.addresses only): the bridge imports it before Django is set up, and the
portal never imports the bridge. The portal's xmpp_state modules build these
from models; its actions take the reports. Both sides compare the same types,
so desired and actual state compare field by field.
"""

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from stack.addresses import Addresses


class Topic(StrEnum):
    """What an outbox row names; the value is what the row stores."""

    ACCOUNT = "account"  # key: username
    PROFILE = "profile"  # key: username
    ROOM = "room"  # key: slug
    OCCUPANT = "occupant"  # key: a RoleChange's id


# A remote JID's affiliation once removed: Prosody clears only what it is told to.
RELEASED = "none"


@dataclass(frozen=True, slots=True)
class Claim:
    """One object to bring up to date, covering every pending row up to `up_to_id`."""

    entry_id: int
    topic: str
    key: str
    up_to_id: int
    attempts: int


# ---------- accounts ----------


@dataclass(frozen=True, slots=True)
class AccountState:
    """An XMPP account's credentials (SCRAM keys only) and whether it may log in."""

    username: str
    salt: str
    iterations: int
    stored_key: str
    server_key: str
    active: bool

    @property
    def fingerprint(self) -> str:
        """The same digest mod_chatboard_accounts computes for what it stores."""
        parts = [
            self.salt,
            str(self.iterations),
            self.stored_key,
            self.server_key,
            "active" if self.active else "disabled",
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SessionReport:
    """A person's live XMPP sessions as Prosody counts them, and when they last logged in."""

    username: str
    sessions: int
    login_at: datetime | None = None


# ---------- profiles ----------


@dataclass(frozen=True, slots=True)
class ProfileState:
    """What <username>'s vCard, avatar and nickname must say. The image itself is
    read on demand (profiles.xmpp_state.avatar_data): a full listing stays small."""

    username: str
    name: str = ""
    about: str = ""
    avatar: str = ""  # file name; "" for no avatar
    avatar_sha1: str = ""
    avatar_type: str = ""


@dataclass(frozen=True, slots=True)
class ProfileFromClient:
    """A profile change a person made from an XMPP client. None: that field did not change."""

    username: str
    name: str | None = None
    about: str | None = None
    avatar_data: bytes | None = None
    avatar_removed: bool = False


# ---------- rooms ----------


@dataclass(frozen=True, slots=True)
class RoomState:
    """A MUC room's configuration and affiliations: desired (from the portal) or
    actual (parsed from Prosody's answers). Affiliations cover users of our own
    domain and the JIDs of other servers the portal names (RemoteAffiliation);
    other JIDs of other servers are Prosody's business."""

    slug: str
    name: str
    description: str = ""
    public: bool = True
    members_only: bool = False
    password: str = ""
    persistent: bool = True
    archiving: bool = True
    whois: str = "moderators"
    affiliations: frozenset[tuple[str, str]] = frozenset()  # of (bare JID, affiliation)

    def holds(self, desired: "RoomState", addresses: Addresses) -> bool:
        """Whether this room, as Prosody has it, is what `desired` asks for: the same
        configuration and local affiliations, and the remote JIDs the portal names
        at the affiliation it gives them ("none": no affiliation). Other servers'
        JIDs the portal does not name are left to the room's owners."""
        named = {jid for jid, _kind in desired.affiliations}
        is_local = addresses.local_username
        held = {(j, k) for j, k in self.affiliations if j in named or is_local(j)}
        wanted = {(j, k) for j, k in desired.affiliations if k != RELEASED}
        configuration = replace(self, affiliations=frozenset())
        return held == wanted and configuration == replace(desired, affiliations=frozenset())


@dataclass(frozen=True, slots=True)
class RoomSyncState:
    """What the reconciler weighs before touching a room."""

    created_at: datetime
    pending: bool  # the outbox has a room row waiting: the portal's version is on its way


@dataclass(frozen=True, slots=True)
class RoleRequest:
    """A RoleChange as the bridge sends it to Prosody."""

    change_id: int
    room_jid: str
    jid: str
    role: str
    reason: str


@dataclass(frozen=True, slots=True)
class RoomOccupant:
    """Someone in a room now, as Prosody reports them."""

    nick: str
    jid: str  # real bare JID
    role: str = "participant"


@dataclass(frozen=True, slots=True)
class AffiliationChange:
    """An affiliation someone changed from a client, for the audit log."""

    actor_jid: str
    target_jid: str
    previous: str  # "none" for no affiliation
    new: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class MessageModeration:
    """A moderator removed a message in a client (XEP-0425)."""

    room_slug: str
    moderator_jid: str  # real bare JID
    author: str  # the message's author, by nickname
    reason: str = ""
