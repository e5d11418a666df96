from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/load/", views.import_confirm, name="confirm"),
    path("<int:pk>/errors.csv", views.import_errors, name="errors"),
]
