from django.contrib import admin

from .models import ActionItem, ExitInterview, ReasonCategory, SubReason, SurveyInvitation


class SubReasonInline(admin.TabularInline):
    model = SubReason
    extra = 0
    fields = ["key", "name", "name_zh_hant", "name_zh_hans", "position", "is_active"]


@admin.register(ReasonCategory)
class ReasonCategoryAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "name_zh_hant", "name_zh_hans", "avoidable", "position", "is_active"]
    list_editable = ["position", "is_active"]
    inlines = [SubReasonInline]


class SurveyInvitationInline(admin.TabularInline):
    model = SurveyInvitation
    extra = 0
    fields = ["email", "language", "sent_by", "created_at", "expires_at", "used_at"]
    readonly_fields = fields
    can_delete = False


@admin.register(ExitInterview)
class ExitInterviewAdmin(admin.ModelAdmin):
    """For looking things up; interviews are written through the interview page (its rules
    live in interviews.services)."""

    list_display = ["account", "interviewer", "status", "primary_category", "avoidable", "completed_at"]
    list_filter = ["status", "primary_category", "avoidable", "channel"]
    search_fields = ["account__name", "account__external_id"]
    list_select_related = ["account", "interviewer", "primary_category"]
    inlines = [SurveyInvitationInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ActionItem)
class ActionItemAdmin(admin.ModelAdmin):
    list_display = ["title", "team", "owner", "status", "due_on", "category"]
    list_filter = ["team", "status", "category"]
    search_fields = ["title", "description"]
    raw_id_fields = ["interview", "owner"]
