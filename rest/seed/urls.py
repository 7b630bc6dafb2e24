"""Routes of the server's own API (working memory, long-term memory, memory prompt), mounted at /."""

from django.urls import path

from rest.hot import HotRoute
from rest.seed import memories, sessions
from rest.seed.memories import (
    MemoryCollectionView,
    MemoryCompactView,
    MemoryDetailView,
    MemoryForgetView,
    MemorySearchView,
)
from rest.seed.prompt import MemoryPromptView, UnifiedSearchView
from rest.seed.sessions import MessagesView, SessionListView, WorkingMemoryView

urlpatterns = [
    path("sessions/", SessionListView.as_view(), name="session-list"),
    path("sessions/<str:session_id>/memory", WorkingMemoryView.as_view(), name="working-memory"),
    path("sessions/<str:session_id>/messages", MessagesView.as_view(), name="session-messages"),
    path("memory-prompt", MemoryPromptView.as_view(), name="memory-prompt"),
    path("memory-search", UnifiedSearchView.as_view(), name="memory-search"),
    path("long-term-memory", MemoryCollectionView.as_view(), name="long-term-memory"),
    path("long-term-memory/search", MemorySearchView.as_view(), name="long-term-memory-search"),
    path("long-term-memory/compact", MemoryCompactView.as_view(), name="long-term-memory-compact"),
    path("long-term-memory/forget", MemoryForgetView.as_view(), name="long-term-memory-forget"),
    path("long-term-memory/<str:memory_id>", MemoryDetailView.as_view(), name="long-term-memory-detail"),
]

# The operations every agent turn calls, also served straight from ASGI (see rest.hot);
# names and scopes are their views' (tests/server/test_hot_routes.py checks).
hot_routes = [
    HotRoute(
        "GET",
        "/sessions/{session_id}/memory",
        "working-memory",
        WorkingMemoryView,
        sessions.get_working_memory,
    ),
    HotRoute(
        "PUT",
        "/sessions/{session_id}/memory",
        "working-memory",
        WorkingMemoryView,
        sessions.put_working_memory,
    ),
    HotRoute("POST", "/long-term-memory", "long-term-memory", MemoryCollectionView, memories.create_memories),
    HotRoute(
        "POST",
        "/long-term-memory/search",
        "long-term-memory-search",
        MemorySearchView,
        memories.search_memories,
    ),
]
