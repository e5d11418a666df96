from django.urls import path

from . import rule_views

app_name = "rules"

urlpatterns = [
    path("", rule_views.rule_list, name="list"),
    path("new/", rule_views.rule_create, name="create"),
    path("dry-run/", rule_views.rule_dry_run_form, name="dry_run_form"),
    path("<int:pk>/", rule_views.rule_edit, name="edit"),
    # The same page: the rule's form with its firing history.
    path("<int:pk>/", rule_views.rule_edit, name="detail"),
    path("<int:pk>/toggle/", rule_views.rule_toggle, name="toggle"),
    path("<int:pk>/delete/", rule_views.rule_delete, name="delete"),
    path("<int:pk>/dry-run/", rule_views.rule_dry_run, name="dry_run"),
]
