"""The action-item form: raise one from an interview or a churn review, or move it along."""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from csworkbench.core.roles import ALL_ROLES
from csworkbench.core.widgets import IsoDateInput

from .models import ActionItem, ReasonCategory


class ActionItemForm(forms.ModelForm):
    class Meta:
        model = ActionItem
        fields = ["title", "description", "team", "owner", "due_on", "category", "status"]
        widgets = {
            "due_on": IsoDateInput(),
            "description": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=ALL_ROLES)
            .distinct()
            .order_by("first_name", "last_name", "username")
        )
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name() or user.get_username()
        self.fields["category"].queryset = ReasonCategory.objects.filter(is_active=True)
        self.fields["category"].label_from_instance = lambda category: category.label
        self.fields["category"].help_text = _(
            "The reason it should make rarer: the churn review tracks its effect."
        )
        if creating:
            del self.fields["status"]

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.fields}
