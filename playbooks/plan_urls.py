from django.urls import path

from . import plan_views

app_name = "plans"

# Mounted at /plans/. The approval inbox, /plans/approvals/, keeps its name `playbooks:approvals`.
urlpatterns = [
    path("new/", plan_views.create, name="create"),
    path("save-rate/", plan_views.save_rate, name="save_rate"),
    path("approval-limits/", plan_views.approval_policy, name="approval_policy"),
    path("<int:pk>/", plan_views.detail, name="detail"),
    path("<int:pk>/edit/", plan_views.edit, name="edit"),
    path("<int:pk>/submit/", plan_views.submit, name="submit"),
    path("<int:pk>/activate/", plan_views.activate, name="activate"),
    path("<int:pk>/close/", plan_views.close, name="close"),
    path("<int:pk>/decide/", plan_views.decide, name="decide"),
]
