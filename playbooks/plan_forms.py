"""Forms of the retention-plan pages. They parse and check input; the services in plans.py write."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csworkbench.core.widgets import IsoDateInput
from interviews.models import ReasonCategory, SubReason

from .models import ApprovalPolicy, OfferKind, OwnerRole, PlanOutcome


class SubReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SubReason) -> str:
        return f"{obj.category.label} › {obj.label}"


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ReasonCategory) -> str:
        return obj.label


class PlanForm(forms.Form):
    wide_fields = ("diagnosis", "objectives")

    root_cause = CategoryChoiceField(label=_("Root cause"), queryset=ReasonCategory.objects.none())
    root_cause_detail = SubReasonChoiceField(
        label=_("Sub-reason"), queryset=SubReason.objects.none(), required=False
    )
    target_date = forms.DateField(label=_("Target date"), widget=IsoDateInput())
    diagnosis = forms.CharField(
        label=_("What we know"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    objectives = forms.CharField(
        label=_("Objectives"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["root_cause"].queryset = ReasonCategory.objects.filter(is_active=True)
        self.fields["root_cause_detail"].queryset = SubReason.objects.filter(is_active=True).select_related(
            "category"
        )

    def clean_target_date(self):
        target = self.cleaned_data["target_date"]
        if target <= timezone.localdate():
            raise forms.ValidationError(_("Choose a date in the future."))
        return target

    def clean(self):
        cleaned = super().clean()
        cause, detail = cleaned.get("root_cause"), cleaned.get("root_cause_detail")
        if cause is not None and detail is not None and detail.category_id != cause.pk:
            self.add_error("root_cause_detail", _("Choose a sub-reason of the root cause you picked."))
        return cleaned


class OfferForm(forms.Form):
    kind = forms.ChoiceField(label=_("Offer"), choices=[("", "—"), *OfferKind.choices])
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    discount_percent = forms.DecimalField(
        label=_("Discount (%)"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
    )
    cost = forms.DecimalField(
        label=_("Cost"), min_value=Decimal(0), max_digits=12, decimal_places=2, initial=Decimal(0)
    )
    duration_months = forms.IntegerField(label=_("Months"), min_value=1, max_value=120, initial=1)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == OfferKind.DISCOUNT and cleaned.get("discount_percent") is None:
            self.add_error("discount_percent", _("A discount needs its percentage."))
        return cleaned


class StepForm(forms.Form):
    title = forms.CharField(label=_("Next step"), max_length=200)
    owner_role = forms.ChoiceField(label=_("Owner"), choices=OwnerRole.choices, initial=OwnerRole.CSM)
    due_offset_hours = forms.IntegerField(
        label=_("Due after (business hours)"), min_value=1, max_value=2000, initial=24
    )


OfferFormSet = forms.formset_factory(
    OfferForm, extra=2, can_delete=True, can_delete_extra=False, max_num=20, validate_max=True
)
StepFormSet = forms.formset_factory(
    StepForm, extra=2, can_delete=True, can_delete_extra=False, max_num=20, validate_max=True
)


def rows_of(formset) -> list[dict]:
    """The filled-in rows of a valid formset, without the removed ones."""
    rows = []
    for form in formset.forms:
        data = getattr(form, "cleaned_data", None)
        if not data or data.get("DELETE"):
            continue
        rows.append({name: value for name, value in data.items() if name != "DELETE"})
    return rows


class VersionForm(forms.Form):
    """Submit or activate: the version the page showed, so a stale page changes nothing."""

    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    comment = forms.CharField(label=_("Comment"), max_length=2000, required=False)


class CloseForm(VersionForm):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=PlanOutcome.choices)


class DecisionForm(forms.Form):
    APPROVE, CHANGES, REJECT = "approve", "changes", "reject"

    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(APPROVE, _("Approve")), (CHANGES, _("Request changes")), (REJECT, _("Reject"))],
    )
    comment = forms.CharField(label=_("Comment"), max_length=2000, required=False)
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") in (self.CHANGES, self.REJECT) and not cleaned.get("comment", "").strip():
            self.add_error("comment", _("Say why, so the author knows what to do."))
        return cleaned


class ApprovalPolicyForm(forms.ModelForm):
    class Meta:
        model = ApprovalPolicy
        fields = [
            "manager_cost_limit",
            "manager_discount_limit",
            "second_cost_limit",
            "second_discount_limit",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].validators.append(MinValueValidator(Decimal(0)))
            self.fields[name].widget.attrs["min"] = "0"
        for name in ("manager_discount_limit", "second_discount_limit"):
            self.fields[name].validators.append(MaxValueValidator(Decimal(100)))
            self.fields[name].widget.attrs["max"] = "100"

    def clean(self):
        cleaned = super().clean()
        pairs = (
            ("manager_cost_limit", "second_cost_limit"),
            ("manager_discount_limit", "second_discount_limit"),
        )
        for first, second in pairs:
            if (
                cleaned.get(first) is not None
                and cleaned.get(second) is not None
                and cleaned[second] < cleaned[first]
            ):
                self.add_error(second, _("Set the second limit at or above the first."))
        return cleaned
