from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from csworkbench.shell import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("no-role/", views.no_role, name="no_role"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("accounts/", include("csworkbench.shell.account_urls")),
    path("health/", include("csworkbench.shell.account_health_urls")),
    path("", include("playbooks.urls")),
    path("plans/", include("playbooks.plan_urls")),
    path("rules/", include("playbooks.rule_urls")),
    path("notifications/", include("playbooks.notification_urls")),
    path("interviews/", include("interviews.urls")),
    path("reports/", include("interviews.report_urls")),
    path("survey/", include("interviews.survey_urls")),
    path("imports/", include("ingest.urls")),
    path("api/v1/", include("ingest.api_urls")),
    path("health-models/", include("health.editor_urls")),
    path("audit/", include("csworkbench.shell.audit_urls")),
    # One login page for the whole app, the admin included.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
]
