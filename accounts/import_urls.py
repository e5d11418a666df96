from django.urls import path

from . import import_views

app_name = "imports"

urlpatterns = [
    path("", import_views.import_list, name="list"),
    path("<int:pk>/", import_views.import_detail, name="detail"),
    path("<int:pk>/load/", import_views.import_confirm, name="confirm"),
    path("<int:pk>/errors.csv", import_views.import_errors, name="errors"),
]
