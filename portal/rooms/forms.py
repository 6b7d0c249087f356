from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.accounts.models import User
from portal.core.text import clean_text
from portal.rooms.models import SLUG_MAX_LENGTH, Affiliation, Room, validate_remote_jid

ROOM_FIELDS = ["name", "description", "visibility", "password", "persistent", "history"]


class RoomSettingsForm(forms.ModelForm):
    """Edit an existing room: everything but its address."""

    class Meta:
        model = Room
        fields = [*ROOM_FIELDS, "real_jids_visible_to"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4, "maxlength": 500}),
            "visibility": forms.RadioSelect,
            "password": forms.PasswordInput(render_value=True),
        }
        help_texts = {"password": _("Optional; public rooms only. Empty means no password.")}

    # Names show in every client's room list: no bidi overrides or control
    # characters (which XML cannot even carry to Prosody).
    def clean_name(self):
        name = clean_text(self.cleaned_data["name"], multiline=False)
        if not name:
            raise forms.ValidationError(_("The room needs a name."), code="required")
        return name

    def clean_description(self):
        return clean_text(self.cleaned_data["description"], multiline=True)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("visibility") == Room.Visibility.PRIVATE and cleaned.get("password"):
            self.add_error(
                "password",
                _("Private rooms are members-only; a password applies to public rooms only."),
            )
        return cleaned


class NewRoomForm(RoomSettingsForm):
    class Meta(RoomSettingsForm.Meta):
        fields = ["slug", *ROOM_FIELDS]
        error_messages = {
            "slug": {
                "max_length": _(
                    "The address can have at most %(limit_value)d characters "
                    "(it has %(show_value)d)."
                ),
                "min_length": _("The address needs at least 2 characters."),
            }
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].widget.attrs.update(
            {"pattern": "[a-z0-9][a-z0-9._-]{1,47}", "maxlength": SLUG_MAX_LENGTH}
        )

    def clean_slug(self):
        # "." and ".." would be path segments no browser sends as they are.
        slug = self.cleaned_data["slug"]
        if not slug[:1].isalnum():
            raise forms.ValidationError(
                _("The address must start with a letter or a digit."), code="invalid_slug"
            )
        return slug


class AffiliationForm(forms.Form):
    """Set an affiliation by username, or by address for someone on another
    server (federation); "none" removes it. `username` cleans to a User, or to
    the bare JID (a str) of another server."""

    CHOICES = [*Affiliation.Kind.choices, ("none", _("none (remove)"))]

    username = forms.CharField(
        max_length=255, help_text=_("A username, or name@server for someone on another server.")
    )
    affiliation = forms.ChoiceField(choices=CHOICES)

    def clean_username(self):
        username = self.cleaned_data["username"].strip().lower()
        if "@" in username:
            local, _at, domain = username.partition("@")
            if domain != settings.XMPP_DOMAIN:
                try:
                    validate_remote_jid(username)
                except ValidationError:
                    raise forms.ValidationError(
                        _("%(jid)s is not an address like name@server."), params={"jid": username}
                    ) from None
                return username
            username = local
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(
                _("There is no user called %(name)s."), params={"name": username}
            )
        return user

    @property
    def new_kind(self) -> str | None:
        value = self.cleaned_data["affiliation"]
        return None if value == "none" else value


class OccupantActionForm(forms.Form):
    """What a moderator does to someone in the room, from the room's page."""

    ACTIONS = [
        ("kick", _("Kick")),
        ("ban", _("Ban")),
        ("voice", _("Give voice")),
        ("mute", _("Take voice")),
        ("op", _("Make moderator")),
        ("deop", _("Take moderator")),
    ]

    jid = forms.CharField(max_length=255)
    action = forms.ChoiceField(choices=ACTIONS)
    reason = forms.CharField(max_length=500, required=False)

    def clean_jid(self):
        return self.cleaned_data["jid"].strip().lower()

    def clean_reason(self):
        return clean_text(self.cleaned_data["reason"], multiline=False, max_length=500)
