from django import forms
from django.utils.translation import gettext_lazy as _

from portal.audit.labels import action_label


class AuditFilterForm(forms.Form):
    """Narrow the log down; every field is optional and matched exactly (dates inclusive)."""

    action = forms.ChoiceField(label=_("action"), required=False)
    actor = forms.CharField(label=_("who"), max_length=255, required=False)
    target = forms.CharField(label=_("target"), max_length=255, required=False)
    room = forms.CharField(label=_("room"), max_length=48, required=False)
    since = forms.DateField(
        label=_("from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, entries, **kwargs):
        super().__init__(*args, **kwargs)
        actions = entries.order_by("action").values_list("action", flat=True).distinct()
        labelled = ((action, action_label(action)) for action in actions)
        self.fields["action"].choices = [("", _("any")), *labelled]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned

    def filter(self, entries):
        """The entries matching the form; all of them when it is not valid."""
        if not self.is_valid():
            return entries
        data = self.cleaned_data
        lookups = {
            "action": data["action"],
            "actor_name__iexact": data["actor"].strip(),
            "target__iexact": data["target"].strip(),
            "room_slug": data["room"].strip(),
            "created_at__date__gte": data["since"],
            "created_at__date__lte": data["until"],
        }
        return entries.filter(**{key: value for key, value in lookups.items() if value})
