from django.urls import path

from . import views

app_name = "playbooks"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("plans/approvals/", views.approvals, name="approvals"),
]
