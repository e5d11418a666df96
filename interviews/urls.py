from django.urls import path

from . import views

app_name = "interviews"

urlpatterns = [
    path("", views.workspace, name="workspace"),
    path("accounts/<int:account_pk>/", views.interview_page, name="interview"),
    path("accounts/<int:account_pk>/autosave/", views.autosave, name="autosave"),
    path("accounts/<int:account_pk>/reason-options/", views.reason_options, name="reason_options"),
    path("accounts/<int:account_pk>/survey/", views.send_survey, name="send_survey"),
    path("reasons/", views.reason_list, name="reasons"),
    path("reasons/new/", views.category_form, name="category_create"),
    path("reasons/<int:pk>/", views.category_form, name="category_edit"),
    path("reasons/<int:pk>/remove/", views.category_remove, name="category_remove"),
    path("reasons/<int:category_pk>/sub-reasons/new/", views.sub_reason_form, name="sub_reason_create"),
    path("reasons/sub-reasons/<int:pk>/", views.sub_reason_form, name="sub_reason_edit"),
    path("reasons/sub-reasons/<int:pk>/remove/", views.sub_reason_remove, name="sub_reason_remove"),
]
