from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from portal.core.text import clean_text
from portal.profiles.avatars import AvatarError, check_size, encode_avatar
from portal.profiles.models import ABOUT_MAX_LENGTH, NAME_MAX_LENGTH


class ProfileForm(forms.Form):
    name = forms.CharField(
        label=_("Display name"), max_length=NAME_MAX_LENGTH, required=False, strip=True
    )
    about = forms.CharField(
        label=_("About you"),
        max_length=ABOUT_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    avatar = forms.FileField(
        label=_("Avatar"),
        required=False,
        allow_empty_file=True,  # refused below, with the pipeline's own message
        help_text=_("JPEG, PNG, GIF or WebP. It is cropped to a square."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(label=_("Remove my avatar"), required=False)

    def clean_name(self):
        return clean_text(self.cleaned_data["name"], multiline=False)

    def clean_about(self):
        return clean_text(self.cleaned_data["about"], multiline=True)

    def clean_avatar(self):
        upload = self.cleaned_data.get("avatar")
        if upload is None or upload is False:
            return None
        try:
            check_size(upload.size)  # before reading a huge file into memory
            return encode_avatar(upload.read())
        except AvatarError as error:
            raise ValidationError(str(error), code="bad_avatar") from None

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("avatar") and cleaned.get("remove_avatar"):
            raise ValidationError(_("Upload a new avatar or remove it, not both."))
        return cleaned
