"""The rule form: scope, condition, actions and cool-down, with per-kind validation by the field."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Industry, ValueTier
from accounts.querysets import LifecycleStage
from health.models import HealthMeasure, MeasureKey, ModelStatus

from .models import ConditionKind, EmailTemplate, Playbook, Rule
from .rules import MEASURE_KINDS, THRESHOLD_KINDS

MAX_DAYS = 365

# The fields each condition kind reads; the others are cleared on save so a rule never keeps a
# stale measure or tier from a kind it no longer has.
CONDITION_FIELDS = {
    ConditionKind.SCORE_BELOW: {"threshold", "days"},
    ConditionKind.SCORE_ABOVE: {"threshold", "days"},
    ConditionKind.TIER_IS: {"tier", "days"},
    ConditionKind.MEASURE_BELOW: {"measure", "threshold", "days"},
    ConditionKind.MEASURE_ABOVE: {"measure", "threshold", "days"},
    ConditionKind.ALERT_RAISED: {"alert_kind"},
    ConditionKind.EVENT: {"event_kind", "days"},
}
CLEARED = {"threshold": None, "measure": "", "tier": "", "alert_kind": "", "event_kind": ""}
ACTION_FIELDS = (
    "set_risk_level",
    "start_playbook",
    "task_title",
    "notify_owner",
    "notify_manager",
    "email_template",
    "add_tag",
)


def published_measure_choices(current: str = "") -> list[tuple[str, str]]:
    """The measures of the published health model with their labels (every known measure when
    nothing is published yet), plus the rule's current one if the model has since dropped it."""
    keys = list(
        HealthMeasure.objects.filter(dimension__model__status=ModelStatus.PUBLISHED)
        .order_by("dimension__position", "position")
        .values_list("key", flat=True)
    ) or list(MeasureKey.values)
    if current and current not in keys:
        keys.append(current)
    labels = dict(MeasureKey.choices)
    return [("", "—"), *((key, labels.get(key, key)) for key in keys)]


class RuleForm(forms.ModelForm):
    scope_value_tiers = forms.MultipleChoiceField(
        label=_("Value tiers"),
        choices=ValueTier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every tier."),
    )
    scope_industries = forms.MultipleChoiceField(
        label=_("Industries"),
        choices=Industry.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: every industry."),
    )
    scope_lifecycle_stages = forms.MultipleChoiceField(
        label=_("Lifecycle stages"),
        choices=LifecycleStage.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Onboarding is the first 30 days of the contract, adoption days 31–180, mature after that."
        ),
    )
    threshold = forms.DecimalField(
        label=_("Threshold"),
        required=False,
        min_value=0,
        max_value=100,
        decimal_places=2,
        help_text=_("For score and measure conditions: a number from 0 to 100."),
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "any"}),
    )
    measure = forms.ChoiceField(
        label=_("Measure"), required=False, help_text=_("For measure conditions: whose sub-score to compare.")
    )
    days = forms.IntegerField(
        label=_("For days"),
        min_value=1,
        max_value=MAX_DAYS,
        initial=1,
        help_text=_(
            "Score, tier and measure conditions: consecutive days it must hold. Events: how recent they "
            "must be. Alerts ignore it."
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    task_due_amount = forms.IntegerField(
        label=_("Task due within"),
        required=False,
        min_value=1,
        max_value=1000,
        help_text=_(
            "Leave empty to follow the intervention matrix's “respond within” for the account's risk "
            "level (needs a risk level set by this rule)."
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    cooldown_days = forms.IntegerField(
        label=_("Cool-down (days)"),
        min_value=0,
        max_value=MAX_DAYS,
        initial=7,
        help_text=_(
            "After firing, the rule stays quiet for this account while its tasks are open and for these days."
        ),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    class Meta:
        model = Rule
        fields = [
            "name",
            "description",
            "is_enabled",
            "scope_value_tiers",
            "scope_industries",
            "scope_lifecycle_stages",
            "scope_tag",
            "condition_kind",
            "threshold",
            "measure",
            "tier",
            "alert_kind",
            "event_kind",
            "days",
            "set_risk_level",
            "start_playbook",
            "task_title",
            "task_due_amount",
            "task_due_unit",
            "notify_owner",
            "notify_manager",
            "email_template",
            "add_tag",
            "cooldown_days",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}
        help_texts = {
            "scope_tag": _("Only accounts with this tag; leave empty for any."),
            "tier": _("For tier conditions."),
            "alert_kind": _("For alert conditions: an open alert of this kind."),
            "event_kind": _("For event conditions."),
            "task_title": _("Leave empty to create no task. The task goes to the account's owner."),
            "add_tag": _("Leave empty to add no tag."),
        }

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = published_measure_choices(self.instance.measure)
        playbooks = Playbook.objects.filter(is_active=True)
        if self.instance.start_playbook_id:
            playbooks = Playbook.objects.filter(pk=self.instance.start_playbook_id) | playbooks
        self.fields["start_playbook"].queryset = playbooks.order_by("name")
        self.fields["email_template"].queryset = EmailTemplate.objects.order_by("name")
        self.fields["task_due_unit"].required = False

    def clean(self) -> dict:
        cleaned = super().clean()
        kind = cleaned.get("condition_kind")
        if kind in THRESHOLD_KINDS and cleaned.get("threshold") is None and "threshold" not in self.errors:
            self.add_error("threshold", _("Give the threshold, a number from 0 to 100."))
        if kind in MEASURE_KINDS and not cleaned.get("measure"):
            self.add_error("measure", _("Choose the measure to compare."))
        if kind == ConditionKind.TIER_IS and not cleaned.get("tier"):
            self.add_error("tier", _("Choose the health tier."))
        if kind == ConditionKind.ALERT_RAISED and not cleaned.get("alert_kind"):
            self.add_error("alert_kind", _("Choose the alert."))
        if kind == ConditionKind.EVENT and not cleaned.get("event_kind"):
            self.add_error("event_kind", _("Choose the event."))
        if kind in CONDITION_FIELDS:
            for name, empty in CLEARED.items():
                if name not in CONDITION_FIELDS[kind]:
                    # Every condition field is on the page; what this kind ignores can't be wrong.
                    self._errors.pop(name, None)
                    cleaned[name] = empty
        title, amount = cleaned.get("task_title"), cleaned.get("task_due_amount")
        if (
            title
            and not amount
            and not cleaned.get("set_risk_level")
            and "task_due_amount" not in self.errors
        ):
            self.add_error(
                "task_due_amount",
                _("Say when the task is due, or set a risk level so it follows the intervention matrix."),
            )
        if amount and not title:
            self.add_error("task_title", _("Give the task a title, or leave its due time empty."))
        if title and not cleaned.get("task_due_unit"):
            self.add_error("task_due_unit", _("Choose the unit of the due time."))
        if not title:
            cleaned["task_due_amount"] = None
        if not any(cleaned.get(name) for name in ACTION_FIELDS) and not self._action_errors():
            raise forms.ValidationError(
                _("Choose at least one action: a rule that does nothing would only fill the history."),
                code="no_action",
            )
        return cleaned

    def _action_errors(self) -> bool:
        return any(name in self.errors for name in ACTION_FIELDS)

    def fieldsets(self) -> list[dict]:
        """The bound fields grouped the way the page shows them."""
        groups = [
            (_("About the rule"), ["name", "description", "is_enabled"], ""),
            (
                _("Scope: which accounts"),
                ["scope_value_tiers", "scope_industries", "scope_lifecycle_stages", "scope_tag"],
                _("Only active accounts are checked. Leave a list unticked to include all."),
            ),
            (
                _("Condition: when it fires"),
                ["condition_kind", "threshold", "measure", "tier", "alert_kind", "event_kind", "days"],
                _("Fill the fields the chosen condition uses; the others are ignored."),
            ),
            (
                _("Actions: what it does"),
                [
                    "set_risk_level",
                    "start_playbook",
                    "task_title",
                    "task_due_amount",
                    "task_due_unit",
                    "notify_owner",
                    "notify_manager",
                    "email_template",
                    "add_tag",
                ],
                _("At least one. Notifications go in the app, by email and to the team's chat."),
            ),
            (_("Cool-down"), ["cooldown_days"], ""),
        ]
        return [
            {
                "legend": legend,
                "help": help_text,
                "slug": f"group-{index}",
                "fields": [self[name] for name in names],
            }
            for index, (legend, names, help_text) in enumerate(groups)
        ]
