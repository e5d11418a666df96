import django_tables2 as tables
from django.db.models import F
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from accounts.querysets import LifecycleStage
from csworkbench.core.tables import BaseTable
from health.words import delta_badge, tier_badge


def _nulls_last(queryset, field_name, is_descending):
    order = F(field_name).desc(nulls_last=True) if is_descending else F(field_name).asc(nulls_last=True)
    return queryset.order_by(order, "name", "pk")


class AccountTable(BaseTable):
    htmx_target = "account-results"
    # Left out (neither shown nor sortable) for users who may not see health or revenue.
    HEALTH_AND_REVENUE = ("mrr", "health_score", "health_delta_7d")

    name = tables.Column(verbose_name=_("Account"), linkify=False)
    value_tier = tables.Column(verbose_name=_("Tier"))
    # Copied from the latest snapshot onto the account by each scoring run: no query per row.
    health_score = tables.Column(verbose_name=_("Health score"), empty_values=())
    health_delta_7d = tables.Column(
        verbose_name=_("7-day change"), attrs={"td": {"class": "num"}, "th": {"class": "num"}}
    )
    industry = tables.Column(verbose_name=_("Industry"))
    lifecycle = tables.Column(verbose_name=_("Lifecycle"), order_by=("-contract_start",))
    mrr = tables.Column(verbose_name=_("MRR"), attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    renewal_date = tables.DateColumn(verbose_name=_("Renewal"), short=True)
    owner = tables.Column(
        verbose_name=_("Owner"), order_by=("owner__first_name", "owner__username"), default=_("Unassigned")
    )
    status = tables.Column(verbose_name=_("Status"))

    class Meta(BaseTable.Meta):
        model = Account
        fields = [
            "name",
            "value_tier",
            "health_score",
            "health_delta_7d",
            "industry",
            "lifecycle",
            "mrr",
            "renewal_date",
            "owner",
            "status",
        ]
        order_by = ("name",)
        empty_text = _("No accounts match these filters.")

    def render_name(self, record):
        return format_html(
            '<a href="{}">{}</a> <span class="muted small">{}</span>',
            reverse("accounts:detail", args=[record.pk]),
            record.name,
            record.external_id,
        )

    def render_value_tier(self, record):
        return format_html(
            '<span class="badge tier-{}">{}</span>',
            record.value_tier.lower(),
            record.get_value_tier_display(),
        )

    def render_health_score(self, record):
        badge = tier_badge(record.health_tier)
        if record.health_score is None:
            return format_html('{} <span class="muted small">{}</span>', badge, _("insufficient data"))
        return format_html('<span class="health-score">{}</span> {}', record.health_score, badge)

    def order_health_score(self, queryset, is_descending):
        # Unscored accounts (no data) go last both ways: they are not the least at risk.
        return _nulls_last(queryset, "health_score", is_descending), True

    def render_health_delta_7d(self, value):
        return delta_badge(value)

    def order_health_delta_7d(self, queryset, is_descending):
        return _nulls_last(queryset, "health_delta_7d", is_descending), True

    def render_industry(self, record):
        return record.get_industry_display()

    def render_lifecycle(self, value):
        return LifecycleStage(value).label

    def render_mrr(self, value):
        return f"{value:,.0f}"

    def render_owner(self, record):
        return record.owner.get_full_name() or record.owner.get_username()

    def render_status(self, record):
        return format_html(
            '<span class="status status-{}">{}</span>', record.status, record.get_status_display()
        )
