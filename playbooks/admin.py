from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import (
    Delivery,
    DeliveryStatus,
    EmailTemplate,
    Holiday,
    Notification,
    SentEmail,
    Team,
    WebhookChannel,
)
from .notifications import retry_delivery


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


class WebhookChannelForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    class Meta:
        model = WebhookChannel
        fields = ["name", "flavor", "url", "secret", "is_active"]
        # The signing secret is a credential: keep it off screens and screenshots.
        widgets = {"secret": forms.PasswordInput(render_value=True)}


class WebhookChannelInline(admin.TabularInline):
    model = WebhookChannel
    form = WebhookChannelForm
    extra = 0


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "working_days", "work_starts", "work_ends"]
    search_fields = ["name"]
    filter_horizontal = ["members", "managers"]
    inlines = [HolidayInline, WebhookChannelInline]


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "subject", "updated_at"]
    search_fields = ["name", "key", "subject"]
    prepopulated_fields = {"key": ["name"]}


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "recipient", "kind", "created_at", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "recipient__username"]
    list_select_related = ["recipient"]
    raw_id_fields = ["recipient", "account"]
    date_hierarchy = "created_at"


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "channel", "to", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel"]
    search_fields = ["to", "subject", "last_error"]
    raw_id_fields = ["notification", "webhook"]
    readonly_fields = ["attempts", "last_error", "sent_at", "created_at"]
    date_hierarchy = "created_at"
    actions = ["retry_failed"]

    @admin.action(description=_("Retry the selected failed deliveries"))
    def retry_failed(self, request, queryset):
        retried = 0
        for delivery in queryset.filter(status=DeliveryStatus.FAILED):
            try:
                retry_delivery(delivery=delivery, user=request.user)
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return
            retried += 1
        self.message_user(
            request,
            ngettext("%(count)d delivery sent again.", "%(count)d deliveries sent again.", retried)
            % {"count": retried},
            messages.SUCCESS,
        )


@admin.register(SentEmail)
class SentEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "account", "to_address", "sent_by", "rule", "created_at"]
    search_fields = ["subject", "to_address", "account__name"]
    list_select_related = ["account", "sent_by", "rule"]
    raw_id_fields = ["account", "contact", "touchpoint", "delivery", "task", "rule", "sent_by", "template"]
    date_hierarchy = "created_at"
