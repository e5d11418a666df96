from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from csworkbench.core.models import record_audit

from .models import Account, ApiToken, Contact, ImportJob, MrrMovement, Touchpoint
from .tokens import create_api_token, revoke_api_token


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "value_tier", "industry", "mrr", "owner", "status"]
    list_filter = ["status", "value_tier", "industry", "acquisition_channel"]
    search_fields = ["name", "external_id"]
    list_select_related = ["owner"]
    raw_id_fields = ["owner"]
    inlines = [ContactInline]


@admin.register(Touchpoint)
class TouchpointAdmin(admin.ModelAdmin):
    list_display = ["subject", "account", "kind", "occurred_at", "author", "sentiment"]
    list_filter = ["kind", "sentiment"]
    search_fields = ["subject", "account__name"]
    list_select_related = ["account", "author"]
    raw_id_fields = ["account", "author", "contact"]


@admin.register(MrrMovement)
class MrrMovementAdmin(admin.ModelAdmin):
    list_display = ["account", "kind", "amount", "occurred_on"]
    list_filter = ["kind"]
    search_fields = ["account__name"]
    list_select_related = ["account"]
    raw_id_fields = ["account"]


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


# Roles are group memberships, changed here in the admin: each change is audited with the
# acting administrator as the actor (the admin's own LogEntry does not say which groups).
User = get_user_model()


class AuditedUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change):
        if change and obj.pk:
            before = User.objects.filter(pk=obj.pk).values("is_superuser", "is_staff", "is_active").first()
            request._role_audit_before = {
                "groups": set(obj.groups.values_list("name", flat=True)),
                "flags": before or {},
            }
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_role_audit_before", {"groups": set(), "flags": {}})
        obj = form.instance
        after_groups = set(obj.groups.values_list("name", flat=True))
        added, removed = sorted(after_groups - before["groups"]), sorted(before["groups"] - after_groups)
        flags = {
            name: getattr(obj, name)
            for name in ("is_superuser", "is_staff", "is_active")
            if name in before["flags"] and before["flags"][name] != getattr(obj, name)
        }
        # The add form has no groups or flags: a new user's roles are given on the change form.
        if not change or not (added or removed or flags):
            return
        record_audit(
            actor=request.user,
            action="role.change",
            target=obj.get_username(),
            added=added,
            removed=removed,
            **flags,
        )


admin.site.unregister(User)
admin.site.register(User, AuditedUserAdmin)
