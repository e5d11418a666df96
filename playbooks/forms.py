from datetime import datetime, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import TouchpointKind
from csworkbench.core.roles import Role

from .business_time import BusinessCalendar, add_business_days, next_working_moment
from .models import MatrixRow, Outcome, Playbook, PlaybookStep

User = get_user_model()


class CompleteTaskForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)
    note = forms.CharField(label=_("Notes"), required=False, max_length=2000)


class SnoozeChoice:
    LATER = "later"
    TOMORROW = "tomorrow"
    THREE_DAYS = "3d"
    NEXT_WEEK = "week"

    CHOICES = (
        (LATER, _("3 hours")),
        (TOMORROW, _("Next working morning")),
        (THREE_DAYS, _("3 business days")),
        (NEXT_WEEK, _("5 business days")),
    )


def snooze_until(choice: str, *, now: datetime, calendar: BusinessCalendar) -> datetime:
    """When a snooze ends, on the assignee's working calendar."""
    if choice == SnoozeChoice.LATER:
        return now + timedelta(hours=3)
    local = now.astimezone(calendar.zone)
    if choice == SnoozeChoice.TOMORROW:
        midnight = datetime.combine(
            local.date() + timedelta(days=1), datetime.min.time(), tzinfo=calendar.zone
        )
        return next_working_moment(midnight, calendar)
    days = 3 if choice == SnoozeChoice.THREE_DAYS else 5
    return add_business_days(now, days, calendar)


class SnoozeForm(forms.Form):
    until = forms.ChoiceField(label=_("Snooze for"), choices=SnoozeChoice.CHOICES)


class QuickTouchpointForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=TouchpointKind.choices, initial=TouchpointKind.CALL)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Notes"), required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class StartPlaybookForm(forms.Form):
    playbook = forms.ModelChoiceField(label=_("Playbook"), queryset=Playbook.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["playbook"].queryset = Playbook.objects.filter(is_active=True).order_by("name")


class ReassignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Reassign to"), queryset=User.objects.none())

    def __init__(self, *args, assignees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if assignees is None:
            assignees = User.objects.filter(
                groups__name__in=[Role.CSM, Role.MANAGER], is_active=True
            ).distinct()
        self.fields["assignee"].queryset = assignees.order_by("first_name", "username")
        self.fields["assignee"].label_from_instance = lambda u: u.get_full_name() or u.get_username()


class MatrixRowForm(forms.ModelForm):
    wide_fields = ("signals", "actions")

    class Meta:
        model = MatrixRow
        fields = ["signals", "actions", "owner", "response_amount", "response_unit", "playbook"]
        widgets = {
            "signals": forms.Textarea(attrs={"rows": 3}),
            "actions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The row's playbook is its level's response: one of this level (or of none, whose steps
        # all carry their own due times), so its steps that follow the matrix follow this row.
        level = Q(risk_level__in=[self.instance.risk_level, ""]) & Q(is_active=True)
        self.fields["playbook"].queryset = Playbook.objects.filter(
            level | Q(pk=self.instance.playbook_id)
        ).order_by("name")
        # The table's check constraint would report 0 as a form-wide error; say it by the field.
        amount = self.fields["response_amount"]
        amount.min_value = 1
        amount.validators.append(MinValueValidator(1))
        amount.widget.attrs["min"] = 1


class PlaybookForm(forms.ModelForm):
    wide_fields = ("description",)

    class Meta:
        model = Playbook
        fields = ["name", "risk_level", "is_active", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class StepForm(forms.ModelForm):
    class Meta:
        model = PlaybookStep
        fields = [
            "position",
            "title",
            "kind",
            "owner_role",
            "due_offset_hours",
            "email_template",
            "needs_approval",
            "guidance",
        ]
        widgets = {"guidance": forms.Textarea(attrs={"rows": 2})}
        help_texts = {"due_offset_hours": _("Empty: as the intervention matrix says for the risk level.")}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == "email" and not cleaned.get("email_template"):
            self.add_error("email_template", _("An email step needs a template."))
        return cleaned


class BaseStepFormSet(forms.BaseInlineFormSet):
    def check_due_times(self, risk_level: str) -> bool:
        """A step left without a due time follows the matrix row of its playbook's risk level; a
        playbook without a level has no row to follow, so each of its steps needs its own."""
        if risk_level:
            return True
        ok = True
        for form in self.forms:
            data = getattr(form, "cleaned_data", {})
            if not data or data.get("DELETE") or data.get("due_offset_hours") is not None:
                continue
            form.add_error(
                "due_offset_hours",
                _(
                    "This playbook has no risk level, so there is no matrix row to follow: give the "
                    "step its own due time, or give the playbook a risk level."
                ),
            )
            ok = False
        return ok


StepFormSet = forms.inlineformset_factory(
    Playbook,
    PlaybookStep,
    form=StepForm,
    formset=BaseStepFormSet,
    extra=1,
    can_delete=True,
    min_num=1,
    validate_min=True,
)
