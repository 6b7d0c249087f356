"""Occupants: the kicks, voice and moderator roles staff and room moderators give
in the portal, applied in Prosody's rooms.

Roles are transient, so there is no state to converge on and nothing to
reconcile: a change is sent while it is pending and not too old, then marked
applied; a replayed row finds nothing pending. Prosody's side is idempotent too
(a role already held is no change); only a bridge that dies between the two
sends the change again, within seconds, when the row is retried.
"""

from bridge.portal import Portal, Topic
from bridge.prosody import ProsodyRooms


class OccupantSync:
    topic = Topic.OCCUPANT

    def __init__(self, portal: Portal, prosody: ProsodyRooms):
        self.portal = portal
        self.prosody = prosody

    async def apply(self, key: str) -> None:
        """Apply an outbox row of this topic: the RoleChange whose id is `key`, once."""
        request = await self.portal.pending_role_change(int(key))
        if request is None:
            return
        await self.prosody.set_role(request)
        await self.portal.role_change_applied(request.change_id)
