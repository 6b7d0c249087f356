"""What makes a valid ChatBoard username: an XMPP localpart that people can read,
type and say, and that can never be taken over once it was someone's."""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_LENGTH, MAX_LENGTH = 2, 32

BUILTIN_RESERVED = frozenset(
    {
        "admin",
        "administrator",
        "root",
        "bridge",
        "postmaster",
        "abuse",
        "support",
        "webmaster",
        "xmpp",
        "prosody",
        "conference",
        "hostmaster",
        "security",
        "noreply",
        "upload",
    }
)


def normalize_username(raw: str) -> str:
    return raw.strip().lower()


def reserved_usernames() -> frozenset[str]:
    return BUILTIN_RESERVED | {name.lower() for name in settings.RESERVED_USERNAMES}


def validate_username_format(username: str) -> None:
    if not MIN_LENGTH <= len(username) <= MAX_LENGTH:
        raise ValidationError(
            _("A username has %(min)d to %(max)d characters."),
            code="length",
            params={"min": MIN_LENGTH, "max": MAX_LENGTH},
        )
    if not USERNAME_PATTERN.match(username):
        raise ValidationError(
            _(
                "Use only lowercase letters a-z, digits and . _ - "
                "and start with a letter or a digit."
            ),
            code="invalid",
        )


def validate_username_available(username: str) -> None:
    """Refuse reserved names and names that belonged to a deleted account."""
    from portal.accounts.models import RetiredUsername

    if username in reserved_usernames():
        raise ValidationError(_("This username is reserved."), code="reserved")
    if RetiredUsername.objects.filter(username=username).exists():
        raise ValidationError(_("This username is not available."), code="retired")
