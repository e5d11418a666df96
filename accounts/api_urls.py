from django.urls import path

from . import api

app_name = "api"

urlpatterns = [
    path("metrics", api.metrics, name="metrics"),
]
