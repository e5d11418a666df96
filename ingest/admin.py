"""The admin of API tokens and import jobs (their models live in accounts; their services here)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import ApiToken, ImportJob

from .tokens import create_api_token, revoke_api_token


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created through the service, which shows the token once; after that a token
    can only be looked at or revoked."""

    list_display = ["name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    list_select_related = ["created_by"]
    actions = ["revoke_tokens"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name"]
        return ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return
        token, raw = create_api_token(name=form.cleaned_data["name"], created_by=request.user)
        obj.pk = token.pk
        obj.prefix = token.prefix
        messages.warning(
            request,
            _("The API token for “%(name)s” is %(token)s — copy it now: it will not be shown again.")
            % {"name": token.name, "token": raw},
        )

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke_tokens(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            revoke_api_token(token=token, revoked_by=request.user)
        count = len(tokens)
        messages.success(
            request,
            ngettext("%(count)s token revoked.", "%(count)s tokens revoked.", count) % {"count": count},
        )


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """Read-only: jobs are created and run by the upload page and its task."""

    list_display = [
        "original_name",
        "kind",
        "status",
        "total_rows",
        "loaded_rows",
        "error_count",
        "attempt",
        "worker",
        "created_by",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status"]
    search_fields = ["original_name"]
    list_select_related = ["created_by"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
