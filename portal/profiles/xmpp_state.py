"""The desired state of profiles in XMPP, as the bridge reads it from the portal."""

from dataclasses import dataclass

from portal.accounts.models import User
from portal.profiles import avatars
from portal.profiles.models import Profile


@dataclass(frozen=True)
class ProfileState:
    """What <username>'s vCard, avatar and nickname must say."""

    username: str
    name: str = ""
    about: str = ""
    avatar: str = ""  # file name; "" for no avatar
    avatar_sha1: str = ""
    avatar_type: str = avatars.AVATAR_CONTENT_TYPE

    @classmethod
    def from_profile(cls, username: str, profile: Profile) -> "ProfileState":
        return cls(
            username=username,
            name=profile.name,
            about=profile.about,
            avatar=profile.avatar,
            avatar_sha1=profile.avatar_sha1,
        )

    def read_avatar(self) -> bytes | None:
        return avatars.read(self.avatar) if self.avatar else None


def desired_profile(username: str) -> ProfileState | None:
    """None when there is no such account (nothing to publish)."""
    user = User.objects.filter(username=username).select_related("profile").first()
    if user is None:
        return None
    profile = getattr(user, "profile", None)
    if profile is None:
        return ProfileState(username=username)
    return ProfileState.from_profile(username, profile)


def desired_profiles() -> dict[str, ProfileState]:
    """Every profile the reconciler checks: active accounts that have one."""
    profiles = (
        Profile.objects.filter(user__is_active=True)
        .select_related("user")
        .only("name", "about", "avatar", "avatar_sha1", "user__username")
        .iterator(chunk_size=2000)
    )
    return {p.user.username: ProfileState.from_profile(p.user.username, p) for p in profiles}
