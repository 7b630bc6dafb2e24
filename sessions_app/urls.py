from django.urls import path

from sessions_app.prompt_views import MemoryPromptView, UnifiedSearchView
from sessions_app.views import MessagesView, SessionListView, WorkingMemoryView

urlpatterns = [
    path("sessions/", SessionListView.as_view(), name="session-list"),
    path("sessions/<str:session_id>/memory", WorkingMemoryView.as_view(), name="working-memory"),
    path("sessions/<str:session_id>/messages", MessagesView.as_view(), name="session-messages"),
    path("memory-prompt", MemoryPromptView.as_view(), name="memory-prompt"),
    path("memory-search", UnifiedSearchView.as_view(), name="memory-search"),
]
