from django import forms
from django.utils.translation import gettext_lazy as _

from portal.core.text import clean_text
from portal.invites.actions import rooms_user_may_invite_to

MAX_DAYS = 90
MAX_USES = 1000


class InviteForm(forms.Form):
    note = forms.CharField(
        label=_("Note"),
        max_length=100,
        required=False,
        help_text=_("Who the invite is for: shown to you and to staff only."),
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=MAX_DAYS, initial=7
    )
    max_uses = forms.IntegerField(
        label=_("Number of people who can use it"), min_value=1, max_value=MAX_USES, initial=1
    )
    rooms = forms.ModelMultipleChoiceField(
        label=_("Rooms they join"),
        queryset=None,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rooms"].queryset = rooms_user_may_invite_to(user).order_by("slug").distinct()

    def clean_note(self):
        return clean_text(self.cleaned_data["note"], multiline=False, max_length=100)
