from django.urls import path

from . import notification_views as views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.read, name="read"),
    path("read-all/", views.read_all, name="read_all"),
    path("deliveries/", views.deliveries, name="deliveries"),
    path("deliveries/<int:pk>/retry/", views.retry, name="retry"),
    path("email-templates/", views.template_list, name="templates"),
    path("email-templates/new/", views.template_create, name="template_create"),
    path("email-templates/preview/", views.template_preview, name="template_preview"),
    path("email-templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("accounts/<int:account_pk>/email/", views.compose, name="compose"),
]
