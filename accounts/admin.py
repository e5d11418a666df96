from django.contrib import admin

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
