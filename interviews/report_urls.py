from django.urls import path

from health import backtest_views

from . import action_views, report_views

app_name = "reports"

urlpatterns = [
    path("", report_views.index, name="index"),
    path("csv/<slug:table>/", report_views.export_csv, name="csv"),
    path("interviews/", report_views.interviews, name="interviews"),
    path("churned/", report_views.churned, name="churned"),
    path("backtest/", backtest_views.backtest_page, name="backtest"),
    path("backtest/draft/", backtest_views.backtest_draft, name="backtest_draft"),
    path("review/", report_views.review, name="review"),
    path("actions/", action_views.action_list, name="actions"),
    path("actions/new/", action_views.action_create, name="action_create"),
    path("actions/<int:pk>/", action_views.action_edit, name="action_edit"),
]
