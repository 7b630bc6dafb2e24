from django.urls import path

from .views import audit, auth, bulk, dashboard, memories, sessions, workers

app_name = "console"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("sessions/", sessions.session_list, name="sessions"),
    path("sessions/<str:namespace>/<str:session_id>/", sessions.session_detail, name="session-detail"),
    path("sessions/<str:namespace>/<str:session_id>/delete/", sessions.session_delete, name="session-delete"),
    path("memories/", memories.memory_search, name="memories"),
    path("memories/bulk-delete/", bulk.bulk_delete, name="memory-bulk-delete"),
    path("memories/topics/", memories.topic_list, name="memory-topics"),
    path("memories/<str:namespace>/<str:memory_id>/", memories.memory_detail, name="memory-detail"),
    path("memories/<str:namespace>/<str:memory_id>/edit/", memories.memory_edit, name="memory-edit"),
    path("memories/<str:namespace>/<str:memory_id>/delete/", memories.memory_delete, name="memory-delete"),
    path("workers/", workers.workers, name="workers"),
    path("workers/compact/", workers.enqueue_compaction, name="enqueue-compaction"),
    path("workers/<str:queue>/failed/<str:job_id>/retry/", workers.retry_job, name="job-retry"),
    path("workers/<str:queue>/failed/<str:job_id>/delete/", workers.delete_job, name="job-delete"),
    path("audit/", audit.audit, name="audit"),
]
