from django.urls import path

from . import api_views

app_name = "api"

urlpatterns = [
    path("metrics", api_views.metrics, name="metrics"),
]
