from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Account

from .emails import CONTACT_PREFERENCE, reachable_contacts
from .models import DeliveryStatus, EmailTemplate

PLACEHOLDER_HELP = _(
    "Placeholders: {contact_name}, {account_name}, {csm_name}, {usage_highlights}. "
    "Any other text in braces is sent as typed."
)


class EmailTemplateForm(forms.ModelForm):
    wide_fields = ("subject", "body")

    class Meta:
        model = EmailTemplate
        fields = ["name", "key", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        help_texts = {
            "key": _("A short identifier used by rules and playbooks, e.g. activity-dropped."),
            "body": PLACEHOLDER_HELP,
        }


class PreviewAccountForm(forms.Form):
    """The account a template preview is rendered for, among those the user may see."""

    preview_account = forms.ChoiceField(label=_("Preview for account"))

    def __init__(self, *args: Any, accounts: list[Account], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["preview_account"].choices = [(a.pk, a.name) for a in accounts]


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *DeliveryStatus.choices]
    )


class TemplatePickForm(forms.Form):
    """The compose page's choices, read from the query string so they work without JavaScript."""

    template = forms.ModelChoiceField(
        label=_("Template"),
        queryset=EmailTemplate.objects.order_by("name"),
        required=False,
        empty_label=_("(write from scratch)"),
    )
    contact = forms.ModelChoiceField(label=_("To"), queryset=Account.objects.none(), required=False)

    def __init__(self, *args: Any, account: Account, **kwargs: Any):
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        contact.queryset = reachable_contacts([account.pk]).order_by(*CONTACT_PREFERENCE)
        contact.empty_label = None
        contact.label_from_instance = lambda c: f"{c.name} <{c.email}>"


class ComposeForm(forms.Form):
    wide_fields = ("subject", "body")

    template = forms.ModelChoiceField(
        queryset=EmailTemplate.objects.all(), required=False, widget=forms.HiddenInput
    )
    contact = forms.ModelChoiceField(
        label=_("To"),
        queryset=Account.objects.none(),
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Choose whom to write to."),
            "invalid_choice": _("Choose whom to write to."),
        },
    )
    task = forms.IntegerField(required=False, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(label=_("Message"), max_length=20000, widget=forms.Textarea(attrs={"rows": 14}))

    def __init__(self, *args: Any, account: Account, **kwargs: Any):
        super().__init__(*args, **kwargs)
        contact = self.fields["contact"]
        contact.queryset = reachable_contacts([account.pk]).order_by(*CONTACT_PREFERENCE)
        contact.empty_label = None
        contact.label_from_instance = lambda c: f"{c.name} <{c.email}>"
