from django.urls import path

from . import account_health_views as views

app_name = "health"

urlpatterns = [
    path("accounts/<int:pk>/chart/", views.account_chart, name="chart"),
    path("accounts/<int:pk>/override/", views.override_set, name="set_override"),
    path("overrides/<int:pk>/revoke/", views.override_revoke, name="revoke_override"),
]
