"""The desired state of profiles in XMPP, as the bridge reads it from the portal."""

from portal.accounts.models import User
from portal.outbox.payloads import ProfileState
from portal.profiles import avatars
from portal.profiles.models import Profile


def _profile_state(username: str, profile: Profile | None) -> ProfileState:
    if profile is None:
        return ProfileState(username=username, avatar_type=avatars.AVATAR_CONTENT_TYPE)
    return ProfileState(
        username=username,
        name=profile.name,
        about=profile.about,
        avatar=profile.avatar,
        avatar_sha1=profile.avatar_sha1,
        avatar_type=avatars.AVATAR_CONTENT_TYPE,
    )


def desired_profile(username: str) -> ProfileState | None:
    """None when there is no such account (nothing to publish)."""
    user = User.objects.filter(username=username).select_related("profile").first()
    if user is None:
        return None
    return _profile_state(username, getattr(user, "profile", None))


def desired_profiles() -> dict[str, ProfileState]:
    """Every profile the reconciler checks: active accounts that have one."""
    profiles = (
        Profile.objects.filter(user__is_active=True)
        .select_related("user")
        .only("name", "about", "avatar", "avatar_sha1", "user__username")
        .iterator(chunk_size=2000)
    )
    return {p.user.username: _profile_state(p.user.username, p) for p in profiles}


def avatar_data(state: ProfileState) -> bytes | None:
    """The image `state` names, as Prosody must publish it."""
    return avatars.read(state.avatar) if state.avatar else None
