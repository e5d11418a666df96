from django.contrib import admin

from .models import OutboxTask


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    """Read-only: the tasks written while the broker was down, until they are sent
    (`manage.py send_outbox` sends them by hand)."""

    list_display = ["task_name", "key", "created_at", "attempts", "last_tried_at", "last_error"]
    search_fields = ["task_name", "key"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
