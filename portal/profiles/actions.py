"""Every change to a profile goes through here. There are two doors:

- update_profile(): a change made in the portal. It writes the outbox row
  ("profile", username) in the change's transaction; the bridge then publishes
  the profile to Prosody (vcard-temp, XEP-0084 avatar, XEP-0172 nickname).
- import_from_xmpp(): a change a person made from an XMPP client, which the
  bridge read from Prosody. It writes NO outbox row, so it cannot come back as
  a publication that would be reported again: no loop.

Which side wins: the portal is the source of truth, and a client's change is
accepted into it as an ordinary edit, field by field; the latest edit to reach
the portal's database wins. Prosody is then made to match the portal. So a
client's change is lost only when the portal never hears of it (made while the
bridge was down: the reconciler puts the portal's profile back) or when it is
refused (an avatar the pipeline rejects: the portal's avatar is republished).
"""

import logging

from django.db import transaction

from portal.accounts.models import User
from portal.core.text import clean_text
from portal.outbox.actions import enqueue
from portal.outbox.payloads import ProfileFromClient, Topic
from portal.profiles import avatars
from portal.profiles.avatars import AvatarError, EncodedAvatar
from portal.profiles.models import ABOUT_MAX_LENGTH, NAME_MAX_LENGTH, Profile

log = logging.getLogger(__name__)


class _Unchanged:
    def __repr__(self):
        return "UNCHANGED"


UNCHANGED = _Unchanged()


def update_profile(
    user: User,
    *,
    name: str,
    about: str,
    avatar: EncodedAvatar | None = None,
    remove_avatar: bool = False,
) -> list[str]:
    """Apply an edit made in the portal; return the names of the fields that changed."""
    new_avatar = avatar if avatar is not None else (None if remove_avatar else UNCHANGED)
    return _change(user, name=name, about=about, avatar=new_avatar, publish=True)


def import_from_xmpp(change: ProfileFromClient) -> list[str]:
    """Take in a change made from an XMPP client; return the changed fields."""
    user = User.objects.filter(username=change.username, is_active=True).first()
    if user is None:
        return []
    name = about = avatar = UNCHANGED
    if change.name is not None:
        name = clean_text(change.name, multiline=False, max_length=NAME_MAX_LENGTH)
    if change.about is not None:
        about = clean_text(change.about, multiline=True, max_length=ABOUT_MAX_LENGTH)
    if change.avatar_removed:
        avatar = None
    elif change.avatar_data is not None:
        try:
            avatar = avatars.encode_avatar(change.avatar_data)
        except AvatarError as error:
            log.warning("avatar of %s from an XMPP client refused: %s", change.username, error)
    return _change(user, name=name, about=about, avatar=avatar, publish=False)


def profile_deleted(profile: Profile) -> None:
    if profile.avatar:
        _delete_avatar_on_commit(profile.avatar)


def _change(user: User, *, name, about, avatar, publish: bool) -> list[str]:
    with transaction.atomic():
        Profile.objects.get_or_create(user=user)
        profile = Profile.objects.select_for_update().get(user=user)
        previous_avatar = profile.avatar
        changed = []
        if name is not UNCHANGED and name != profile.name:
            profile.name = name
            changed.append("name")
        if about is not UNCHANGED and about != profile.about:
            profile.about = about
            changed.append("about")
        if avatar is not UNCHANGED:
            file_name = avatars.store(avatar) if avatar else ""
            if file_name != profile.avatar:
                profile.avatar = file_name
                profile.avatar_sha1 = avatar.sha1 if avatar else ""
                changed += ["avatar", "avatar_sha1"]
        if not changed:
            return []
        profile.save(update_fields=[*changed, "updated_at"])
        if publish:
            enqueue(Topic.PROFILE, user.username)
        if previous_avatar and previous_avatar != profile.avatar:
            _delete_avatar_on_commit(previous_avatar)
    return changed


def _delete_avatar_on_commit(file_name: str) -> None:
    def delete_if_unused():
        # Content-addressed: another profile may hold the very same image.
        if not Profile.objects.filter(avatar=file_name).exists():
            avatars.delete(file_name)

    transaction.on_commit(delete_if_unused)
