from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from csworkbench.core.models import record_audit

from .models import Account, Contact, MrrMovement, Touchpoint


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
