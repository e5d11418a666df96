"""Mounted at /survey/: the one public page of the app, reached by a signed one-time link."""

from django.urls import path

from . import survey_views

app_name = "survey"

urlpatterns = [
    path("<str:token>/", survey_views.answer, name="answer"),
]
