import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from portal.accounts.scram import derive_scram_sha1
from portal.accounts.usernames import normalize_username, validate_username_format


class ChatBoardUserManager(UserManager):
    def get_by_natural_key(self, username):
        return self.get(**{self.model.USERNAME_FIELD: normalize_username(username)})

    def _create_user_object(self, username, email, password, **extra_fields):
        # Django assigns the hash directly here; going through set_password()
        # derives the XMPP credentials too (createsuperuser, create_user).
        user = super()._create_user_object(username, email, None, **extra_fields)
        user.set_password(password)
        return user


class User(AbstractUser):
    """A person. Their XMPP account is <username>@<domain>, provisioned by the bridge."""

    username = models.CharField(
        _("username"),
        max_length=32,
        unique=True,
        validators=[validate_username_format],
        help_text=_("2 to 32 characters: lowercase letters, digits and . _ -"),
        error_messages={"unique": _("This username is already taken.")},
    )
    # SCRAM-SHA-1 keys derived when the password was set; what Prosody checks.
    scram_salt = models.CharField(max_length=64, blank=True, editable=False)
    scram_iterations = models.PositiveIntegerField(default=0, editable=False)
    scram_stored_key = models.CharField(max_length=40, blank=True, editable=False)
    scram_server_key = models.CharField(max_length=40, blank=True, editable=False)

    objects = ChatBoardUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def jid(self) -> str:
        return settings.XMPP_ADDRESSES.person(self.username)

    def set_password(self, raw_password):
        super().set_password(raw_password)
        # No password (None) is Django's unusable password: random keys, as below.
        self._set_scram_credentials(raw_password or secrets.token_urlsafe(32))

    def set_unusable_password(self):
        super().set_unusable_password()
        # Keys from a random secret nobody knows: password logins fail, while the
        # account still exists for web-chat tokens.
        self._set_scram_credentials(secrets.token_urlsafe(32))

    def _set_scram_credentials(self, raw_password: str) -> None:
        credentials = derive_scram_sha1(raw_password, settings.XMPP_SCRAM_ITERATIONS)
        self.scram_salt = credentials.salt
        self.scram_iterations = credentials.iterations
        self.scram_stored_key = credentials.stored_key
        self.scram_server_key = credentials.server_key

    def save(self, *args, **kwargs):
        # The outbox row for Prosody is written by a post_save receiver; wrapping
        # the save makes the change and its row commit (or roll back) together.
        self.username = normalize_username(self.username)
        with transaction.atomic():
            super().save(*args, **kwargs)


class RetiredUsername(models.Model):
    """The username of a deleted account: never given out again."""

    username = models.CharField(max_length=32, unique=True)
    retired_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.username


class XmppPresence(models.Model):
    """What Prosody reported about a person's XMPP sessions, for staff to see.

    Written only by the bridge from Prosody's reports (mod_chatboard_accounts),
    never sent back: the portal learns it without asking Prosody from a request.
    """

    user = models.OneToOneField(
        User, on_delete=models.CASCADE, primary_key=True, related_name="xmpp_presence"
    )
    last_login_at = models.DateTimeField(_("last XMPP login"), null=True, blank=True)
    sessions = models.PositiveIntegerField(_("XMPP sessions now"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("XMPP presence")
        verbose_name_plural = _("XMPP presence")

    def __str__(self):
        return f"{self.user_id}: {self.sessions}"
