"""Profiles: each person's vCard, XEP-0084 avatar and XEP-0172 nickname in
Prosody match their portal profile, and changes they make from an XMPP client
reach the portal.

Portal -> Prosody: outbox rows ("profile", username) run apply(); the
reconciler runs reconcile(). Both compare what Prosody holds with the portal's
profile and write only what differs, on the person's behalf (mod_privilege):
one vcard-temp set (FN, NICKNAME, DESC, PHOTO; mod_vcard_legacy turns it into
the vCard4 and XEP-0084 data and metadata nodes), the nickname node, and
access_model "open" on the avatar and nickname nodes so everyone on the server
can read them.

Prosody -> portal: mod_chatboard_profiles sends <profile-changed/> when a
client changes a watched PEP node. The bridge reads the new values and stores
them with profiles.actions.import_from_xmpp, which writes no outbox row; then
it runs apply() itself, so Prosody holds the portal's normalised version (the
avatar re-encoded by the portal's pipeline, or the portal's avatar again if
the client's image was refused). The bridge's own writes are made with the
person's bare JID as actor, which the Lua module does not report: no loop.

Which side wins on conflict: the latest edit to reach the portal's database,
field by field (see profiles/actions.py). A client change the portal never
hears of (made while the bridge was down) is overwritten by the reconciler.
"""

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from bridge import portal
from bridge.prosody import ProsodyError
from bridge.prosody.profiles import (
    AVATAR_DATA_NODE,
    AVATAR_METADATA_NODE,
    NICK_NODE,
    VCARD4_NODE,
    AvatarRecord,
    ProfileRecord,
    ProsodyProfiles,
)
from bridge.reconciler import for_each

log = logging.getLogger(__name__)

NOTIFY_NS = "urn:chatboard:profiles:0"
# A client's single edit arrives as a burst of notifications (a vcard-temp set
# purges and republishes the avatar, then publishes the vCard): read once.
COALESCE_SECONDS = 0.05


@dataclass
class ProfilesReport:
    checked: int = 0
    repaired: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class ProfileSync:
    def __init__(self, prosody: ProsodyProfiles, component):
        self.prosody = prosody
        self.domain = component.config.domain
        self._changes: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        path = f"{{{component.default_ns}}}message/{{{NOTIFY_NS}}}profile-changed"
        component.register_handler(Callback("profile changed", MatchXPath(path), self._notified))

    async def apply(self, username: str) -> None:
        """The outbox handler for topic "profile"."""
        from portal.profiles.xmpp_state import desired_profile

        state = await portal.call(desired_profile, username)
        if state is not None:
            await self._converge(state, await self.prosody.read_profile(username))

    async def reconcile(self) -> ProfilesReport:
        from portal.profiles.xmpp_state import desired_profile, desired_profiles

        report = ProfilesReport()

        async def check(item) -> None:
            username, state = item
            report.checked += 1
            try:
                actual = await self.prosody.read_profile(username)
                if _differs(state, actual):
                    # Re-read: the snapshot may predate an edit applied meanwhile.
                    fresh = await portal.call(desired_profile, username)
                    if fresh is not None and await self._converge(fresh, actual):
                        report.repaired.append(username)
            except (ProsodyError, OSError) as error:
                log.warning("profile of %s not reconciled: %s", username, error)
                report.failed.append(username)

        await for_each((await portal.call(desired_profiles)).items(), check)
        return report

    async def _converge(self, state, actual: ProfileRecord) -> bool:
        """Write what differs between the portal's `state` and Prosody's `actual`."""
        wrote_vcard = _vcard_differs(state, actual)
        if wrote_vcard:
            avatar = None
            if state.avatar:
                avatar = AvatarRecord(await portal.call(state.read_avatar), state.avatar_type)
            await self.prosody.set_vcard(
                state.username, name=state.name, about=state.about, avatar=avatar
            )
            # A node a client created first may be contacts-only: open it to everyone.
            nodes = [VCARD4_NODE, *((AVATAR_DATA_NODE, AVATAR_METADATA_NODE) if avatar else ())]
            for node in nodes:
                await self.prosody.open_node(state.username, node)
        wrote_nick = actual.nick != state.name
        if wrote_nick:
            await self.prosody.set_nick(state.username, state.name)
            if state.name:
                await self.prosody.open_node(state.username, NICK_NODE)
        return wrote_vcard or wrote_nick

    # ---------- changes made from XMPP clients ----------

    def _notified(self, message) -> None:
        if message["from"].full != self.domain:
            return  # only Prosody itself reports profile changes
        element = message.xml.find(f"{{{NOTIFY_NS}}}profile-changed")
        username, node = element.get("username"), element.get("node")
        if username and node:
            self._changes.put_nowait((username, node))

    async def listen(self) -> None:
        """Import client changes into the portal, one person at a time."""
        while True:
            first = await self._changes.get()
            await asyncio.sleep(COALESCE_SECONDS)
            pending: dict[str, set[str]] = {first[0]: {first[1]}}
            while not self._changes.empty():
                username, node = self._changes.get_nowait()
                pending.setdefault(username, set()).add(node)
            for username, nodes in pending.items():
                try:
                    await self.import_change(username, nodes)
                except ProsodyError as error:
                    log.warning("profile change of %s not imported: %s", username, error)
                except Exception:
                    log.exception("profile change of %s not imported", username)

    async def import_change(self, username: str, nodes: set[str]) -> list[str]:
        from portal.profiles.actions import import_from_xmpp
        from portal.profiles.xmpp_state import desired_profile

        state = await portal.call(desired_profile, username)
        if state is None:
            return []
        actual = await self.prosody.read_profile(username)
        fields = {}
        if VCARD4_NODE in nodes:
            fields["name"] = actual.name or actual.nickname
            fields["about"] = actual.about
        if NICK_NODE in nodes and actual.nick:
            fields["name"] = actual.nick
        if AVATAR_METADATA_NODE in nodes and actual.avatar_id != state.avatar_sha1:
            if not actual.avatar_id:
                fields["avatar_data"] = None  # removed
            elif (data := await self._client_avatar(username, actual.avatar_id)) is not None:
                fields["avatar_data"] = data
        changed = await portal.call(import_from_xmpp, username, **fields) if fields else []
        log.info("profile of %s changed from a client: %s", username, changed or "nothing new")
        await self.apply(username)  # Prosody gets the portal's normalised profile
        return changed

    async def _client_avatar(self, username: str, avatar_id: str) -> bytes | None:
        avatar = await self.prosody.read_avatar(username, avatar_id)
        if avatar is None or hashlib.sha1(avatar.data).hexdigest() != avatar_id.lower():
            # e.g. an avatar published only as a URL: the portal's one goes back.
            log.warning("avatar %s of %s has no matching data; not imported", avatar_id, username)
            return None
        return avatar.data


def _vcard_differs(state, actual: ProfileRecord) -> bool:
    wanted = (state.name, state.name, state.about, state.avatar_sha1)
    return (actual.name, actual.nickname, actual.about, actual.avatar_id) != wanted


def _differs(state, actual: ProfileRecord) -> bool:
    return _vcard_differs(state, actual) or actual.nick != state.name
