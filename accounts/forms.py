from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csworkbench.core.widgets import IsoDateTimeInput

from .models import Account, Contact, Touchpoint, TouchpointKind


class TouchpointForm(forms.ModelForm):
    wide_fields = ("subject", "body")
    kind = forms.ChoiceField(label=_("Kind"), choices=TouchpointKind.choices, initial=TouchpointKind.CALL)
    occurred_at = forms.DateTimeField(
        label=_("When"),
        widget=IsoDateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )

    class Meta:
        model = Touchpoint
        fields = ["kind", "occurred_at", "contact", "subject", "body", "sentiment"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"].queryset = Contact.objects.filter(account=account)
        self.fields["contact"].required = False
        self.fields["contact"].empty_label = _("(nobody in particular)")
        if not self.is_bound:
            self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))

    def clean_occurred_at(self):
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now() + timedelta(minutes=5):
            raise forms.ValidationError(_("A touchpoint cannot be in the future."))
        return occurred_at
