"""The bridge's one door into the portal: its database, through the portal's own code.

This is the only bridge module that imports portal code. What crosses is the
portal's payload types (outbox.payloads, free of Django), re-exported here for
the rest of the bridge; the portal's functions behind them are imported in the
methods, since they load Django models and Django is set up only when a Portal
is made.

The Django ORM is synchronous; every call runs on one dedicated thread so the
event loop never blocks and the bridge holds a single database connection.
"""

import asyncio
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from portal.outbox.payloads import (
    AccountState,
    AffiliationChange,
    Claim,
    MessageModeration,
    ProfileFromClient,
    ProfileState,
    RoleRequest,
    RoomOccupant,
    RoomState,
    RoomSyncState,
    SessionReport,
    Topic,
)

__all__ = [
    "AccountState",
    "AffiliationChange",
    "Claim",
    "MessageModeration",
    "Portal",
    "ProfileFromClient",
    "ProfileState",
    "RoleRequest",
    "RoomOccupant",
    "RoomState",
    "RoomSyncState",
    "SessionReport",
    "Topic",
]

T = TypeVar("T")


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.config.settings")
    import django
    from django.apps import apps

    if not apps.ready:  # a process that runs the portal too (benchmarks) has set it up
        django.setup()


def _closing_stale(fn: Callable[..., T], *args) -> T:
    from django.db import close_old_connections

    close_old_connections()
    return fn(*args)


class Portal:
    def __init__(self) -> None:
        _setup_django()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-db")

    async def _call(self, fn: Callable[..., T], *args) -> T:
        """Run a portal function on the database thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(_closing_stale, fn, *args))

    # ---------- the outbox ----------

    async def claim_outbox(self, worker: str, topics: Collection[Topic]) -> Claim | None:
        from portal.outbox.actions import claim_next

        return await self._call(claim_next, worker, set(topics))

    async def finish_claim(self, claim: Claim) -> None:
        from portal.outbox.actions import complete

        await self._call(complete, claim)

    async def fail_claim(self, claim: Claim, error: str) -> str:
        """Count a failed attempt; return the row's state now (pending: retried later)."""
        from portal.outbox.actions import fail

        return str(await self._call(fail, claim, error))

    async def release_claim(self, claim: Claim) -> None:
        """Give a claim back untouched, no attempt counted."""
        from portal.outbox.actions import release

        await self._call(release, claim)

    # ---------- accounts ----------

    async def desired_account(self, username: str) -> AccountState | None:
        from portal.accounts.xmpp_state import desired_account

        return await self._call(desired_account, username)

    async def desired_accounts(self) -> dict[str, AccountState]:
        from portal.accounts.xmpp_state import desired_accounts

        return await self._call(desired_accounts)

    async def retired_usernames(self) -> frozenset[str]:
        from portal.accounts.xmpp_state import retired_usernames

        return await self._call(retired_usernames)

    async def record_sessions(self, reports: Sequence[SessionReport]) -> None:
        from portal.accounts.actions import xmpp_sessions_reported

        await self._call(xmpp_sessions_reported, reports)

    async def correct_session_counts(self, counts: Mapping[str, int]) -> int:
        """Every account's live sessions, as Prosody lists them; return how many were wrong."""
        from portal.accounts.actions import xmpp_sessions_listed

        return await self._call(xmpp_sessions_listed, counts)

    # ---------- profiles ----------

    async def desired_profile(self, username: str) -> ProfileState | None:
        from portal.profiles.xmpp_state import desired_profile

        return await self._call(desired_profile, username)

    async def desired_profiles(self) -> dict[str, ProfileState]:
        from portal.profiles.xmpp_state import desired_profiles

        return await self._call(desired_profiles)

    async def avatar_data(self, state: ProfileState) -> bytes | None:
        from portal.profiles.xmpp_state import avatar_data

        return await self._call(avatar_data, state)

    async def import_profile(self, change: ProfileFromClient) -> list[str]:
        """Take in a change made from a client; return the fields that changed."""
        from portal.profiles.actions import import_from_xmpp

        return await self._call(import_from_xmpp, change)

    # ---------- rooms ----------

    async def desired_room(self, slug: str) -> RoomState | None:
        from portal.rooms.xmpp_state import desired_room

        return await self._call(desired_room, slug)

    async def desired_rooms(self) -> dict[str, RoomState]:
        from portal.rooms.xmpp_state import desired_rooms

        return await self._call(desired_rooms)

    async def room_sync_states(self) -> dict[str, RoomSyncState]:
        from portal.rooms.xmpp_state import room_sync_states

        return await self._call(room_sync_states)

    async def room_changed_in_prosody(
        self, state: RoomState, changes: Iterable[AffiliationChange] = ()
    ) -> str:
        """Mirror a room as Prosody has it; return "created", "updated" or "skipped"."""
        from portal.rooms.actions import room_changed_in_prosody

        return await self._call(room_changed_in_prosody, state, tuple(changes))

    async def room_gone_from_prosody(self, slug: str) -> bool:
        """True if the portal removed the room."""
        from portal.rooms.actions import room_gone_from_prosody

        return await self._call(room_gone_from_prosody, slug)

    async def set_occupants(self, present: Mapping[str, Sequence[RoomOccupant]]) -> None:
        from portal.rooms.actions import set_occupants

        await self._call(set_occupants, present)

    async def message_moderated(self, report: MessageModeration) -> None:
        from portal.rooms.actions import message_moderated_in_prosody

        await self._call(message_moderated_in_prosody, report)

    # ---------- role changes (kicks, voice, moderators) ----------

    async def pending_role_change(self, change_id: int) -> RoleRequest | None:
        from portal.rooms.xmpp_state import pending_role_change

        return await self._call(pending_role_change, change_id)

    async def role_change_applied(self, change_id: int) -> None:
        from portal.rooms.actions import role_change_applied

        await self._call(role_change_applied, change_id)
