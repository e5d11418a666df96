import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from csworkbench.tables import BaseTable

from .models import Account
from .querysets import LifecycleStage


class AccountTable(BaseTable):
    htmx_target = "account-results"

    name = tables.Column(verbose_name=_("Account"), linkify=False)
    value_tier = tables.Column(verbose_name=_("Tier"))
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
        fields = ["name", "value_tier", "industry", "lifecycle", "mrr", "renewal_date", "owner", "status"]
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
