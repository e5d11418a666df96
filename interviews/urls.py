from django.urls import path

from . import views

app_name = "interviews"

urlpatterns = [
    path("", views.workspace, name="workspace"),
]
