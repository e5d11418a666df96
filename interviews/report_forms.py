"""Query-string forms of the report pages. Unknown values fall back to the defaults: a report
link that has gone stale still opens a report."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .periods import DEFAULT_UNIT, UNITS, Span, parse_span
from .reasons import CUTS, DEFAULT_CUT

AVOIDABLE_CHOICES = (("", _("Either")), ("yes", _("Avoidable")), ("no", _("Unavoidable")))


class ReportForm(forms.Form):
    unit = forms.ChoiceField(label=_("Periods"), choices=list(UNITS.items()), required=False)
    cut = forms.ChoiceField(
        label=_("Cut by"), choices=[(key, cut.label) for key, cut in CUTS.items()], required=False
    )

    def value(self, name: str, default: str) -> str:
        if self.is_valid():
            return self.cleaned_data.get(name) or default
        return default

    @property
    def chosen_unit(self) -> str:
        return self.value("unit", DEFAULT_UNIT)

    @property
    def chosen_cut(self) -> str:
        return self.value("cut", DEFAULT_CUT)


class DrillDownForm(forms.Form):
    """The interviews behind one number: `?category=..&period=..&cut=..&value=..&avoidable=..`."""

    category = forms.SlugField(required=False)
    period = forms.CharField(required=False)
    cut = forms.ChoiceField(choices=[("", "")] + [(key, key) for key in CUTS], required=False)
    value = forms.CharField(required=False, max_length=200)
    avoidable = forms.ChoiceField(choices=AVOIDABLE_CHOICES, required=False)

    def clean_period(self) -> Span | None:
        text = self.cleaned_data.get("period")
        if not text:
            return None
        span = parse_span(text)
        if span is None:
            raise forms.ValidationError(_("Give a period such as 2026-10, 2026-Q4 or 2026."))
        return span

    def filters(self) -> dict:
        data = self.cleaned_data
        return {
            "span": data.get("period"),
            "category": data.get("category") or "",
            "cut": data.get("cut") or "",
            # "value" present but empty means "not recorded"; absent means no cut filter.
            "value": data.get("value") if "value" in self.data and data.get("cut") else None,
            "avoidable": {"yes": True, "no": False}.get(data.get("avoidable") or ""),
        }
