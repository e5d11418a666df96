import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, AccountStatus, Industry, ValueTier
from accounts.querysets import LifecycleStage
from csworkbench.core.roles import Role, sees_health_and_revenue
from health.models import Tier

INSUFFICIENT_DATA = "insufficient"


def account_owners(request):
    """Anyone who owns accounts or holds the CSM role, for the owner filter."""
    User = get_user_model()
    # Two probes per user (an index each) rather than a DISTINCT over a join with every account:
    # the join grew with the accounts (116 ms at 50,000), the probes with the users.
    is_csm = User.groups.through.objects.filter(user=OuterRef("pk"), group__name=Role.CSM)
    owns = Account.objects.filter(owner=OuterRef("pk"))
    return User.objects.filter(Exists(is_csm) | Exists(owns)).order_by("first_name", "username")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username()


class OwnerFilter(django_filters.ModelChoiceFilter):
    field_class = UserChoiceField


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        field_name="name",
        lookup_expr="icontains",
        label=_("Search by name"),
        widget=django_filters.widgets.forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    owner = OwnerFilter(queryset=account_owners, label=_("Owner"), empty_label=_("Any owner"))
    value_tier = django_filters.ChoiceFilter(
        choices=ValueTier.choices, label=_("Value tier"), empty_label=_("Any tier")
    )
    industry = django_filters.ChoiceFilter(
        choices=Industry.choices, label=_("Industry"), empty_label=_("Any industry")
    )
    lifecycle = django_filters.ChoiceFilter(
        choices=LifecycleStage.choices,
        label=_("Lifecycle stage"),
        empty_label=_("Any stage"),
        method="filter_lifecycle",
    )
    status = django_filters.ChoiceFilter(
        choices=AccountStatus.choices, label=_("Status"), empty_label=_("Any status")
    )
    health_tier = django_filters.ChoiceFilter(
        choices=[*Tier.choices, (INSUFFICIENT_DATA, _("Insufficient data"))],
        label=_("Health tier"),
        empty_label=_("Any health tier"),
        method="filter_health_tier",
    )

    class Meta:
        model = Account
        fields = ["q", "owner", "value_tier", "industry", "lifecycle", "status", "health_tier"]

    # Filters that would tell an interviewer an account's health through the rows they leave.
    HEALTH_FILTERS = ("health_tier",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not sees_health_and_revenue(getattr(self.request, "user", None)):
            # Gone from the form and from the query: ?health_tier=… is ignored, not applied.
            for name in self.HEALTH_FILTERS:
                del self.filters[name]

    def filter_health_tier(self, queryset, name, value):
        if value == INSUFFICIENT_DATA:
            return queryset.filter(health_score__isnull=True, health_tier="")
        return queryset.filter(health_tier=value)

    def filter_lifecycle(self, queryset, name, value):
        return queryset.in_lifecycle_stage(value)
