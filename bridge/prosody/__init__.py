"""The one package that talks to Prosody on the bridge's behalf.

Every operation is idempotent (create-if-missing, set-to-value): replaying an
outbox row or reconciling twice does no harm.
"""

from bridge.prosody.accounts import ACCOUNTS_NS, AccountRecord, ProsodyAccounts
from bridge.prosody.channel import ProsodyError
from bridge.prosody.profiles import InnerIqError, ProfileRecord, ProsodyProfiles
from bridge.prosody.rooms import ROOMS_NS, ProsodyRoom, ProsodyRooms, parse_occupants, parse_room

__all__ = [
    "ACCOUNTS_NS",
    "ROOMS_NS",
    "AccountRecord",
    "InnerIqError",
    "ProfileRecord",
    "ProsodyAccounts",
    "ProsodyError",
    "ProsodyProfiles",
    "ProsodyRoom",
    "ProsodyRooms",
    "parse_occupants",
    "parse_room",
]
