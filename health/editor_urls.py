from django.urls import path

from . import editor_views as views

app_name = "health_models"

urlpatterns = [
    path("", views.model_list, name="list"),
    path("draft/", views.draft_start, name="start_draft"),
    path("<int:version>/", views.model_detail, name="detail"),
    path("<int:version>/edit/", views.model_edit, name="edit"),
    path("<int:version>/preview/", views.model_preview, name="preview"),
    path("<int:version>/publish/", views.model_publish, name="publish"),
    path("<int:version>/discard/", views.model_discard, name="discard"),
]
