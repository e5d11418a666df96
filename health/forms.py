from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csworkbench.core.widgets import IsoDateInput

from .services import OVERRIDE_MAX_DAYS, REASON_MAX_LENGTH, override_errors


class OverrideForm(forms.Form):
    wide_fields = ("reason",)
    """Parses the override and shows every broken rule at once; the rules themselves live in
    `services.override_errors`, which `services.set_override` enforces again."""

    prefix = "override"

    score = forms.IntegerField(
        label=_("Score"), widget=forms.NumberInput(attrs={"min": 0, "max": 100, "inputmode": "numeric"})
    )
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": REASON_MAX_LENGTH}),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        widget=IsoDateInput(),
        input_formats=["%Y-%m-%d"],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        attrs = self.fields["expires_on"].widget.attrs
        attrs["min"] = (today + timedelta(days=1)).isoformat()
        attrs["max"] = (today + timedelta(days=OVERRIDE_MAX_DAYS)).isoformat()
        if not self.is_bound:
            self.initial.setdefault("expires_on", today + timedelta(days=30))

    def clean(self):
        cleaned = super().clean()
        rules = override_errors(
            score=cleaned.get("score"),
            reason=cleaned.get("reason"),
            expires_on=cleaned.get("expires_on"),
            today=timezone.localdate(),
        )
        for name, messages in rules.items():
            if name not in self.errors:  # a field that did not parse already says what is wrong
                for message in messages:
                    self.add_error(name, message)
        return cleaned
