from django.urls import path

from . import plan_views, views

app_name = "playbooks"

urlpatterns = [
    path("queue/", views.my_queue, name="queue"),
    path("queue/team/", views.team_queue, name="team_queue"),
    path("queue/tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("queue/tasks/<int:pk>/snooze/", views.task_snooze, name="task_snooze"),
    path("queue/tasks/<int:pk>/touchpoint/", views.task_touchpoint, name="task_touchpoint"),
    path("queue/tasks/<int:pk>/signoff/", views.task_signoff, name="task_signoff"),
    path("queue/tasks/<int:pk>/reassign/", views.task_reassign, name="task_reassign"),
    path("queue/tasks/<int:pk>/sign-off/", views.task_signoff_done, name="task_signoff_done"),
    path("queue/accounts/<int:pk>/start/", views.start_playbook, name="start_playbook"),
    path("plans/approvals/", plan_views.approvals, name="approvals"),
    path("playbooks/matrix/", views.matrix, name="matrix"),
    path("playbooks/matrix/<str:risk_level>/", views.matrix_edit, name="matrix_edit"),
    path("playbooks/new/", views.playbook_edit, name="playbook_create"),
    path("playbooks/<int:pk>/", views.playbook_edit, name="playbook_edit"),
]
