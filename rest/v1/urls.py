"""Routes of the upstream-compatible API, mounted at /v1/ (see upstream-openapi.json)."""

from django.urls import path

from rest.hot import HotRoute
from rest.v1.views import longterm, summaries, working

urlpatterns = [
    path("health", working.HealthView.as_view(), name="v1-health"),
    path("working-memory/", working.SessionListView.as_view(), name="v1-sessions"),
    path("working-memory", working.SessionListAlias.as_view()),
    path("working-memory/<str:session_id>", working.WorkingMemoryView.as_view(), name="v1-working-memory"),
    path(
        "working-memory/<str:session_id>/messages", working.MessagesView.as_view(), name="v1-session-messages"
    ),
    path("long-term-memory/", longterm.MemoryCreateView.as_view(), name="v1-long-term-memory-create"),
    path("long-term-memory", longterm.MemoryCollectionView.as_view(), name="v1-long-term-memory"),
    path("long-term-memory/search", longterm.MemorySearchView.as_view(), name="v1-long-term-memory-search"),
    path("long-term-memory/forget", longterm.MemoryForgetView.as_view(), name="v1-long-term-memory-forget"),
    path(
        "long-term-memory/compact", longterm.MemoryCompactView.as_view(), name="v1-long-term-memory-compact"
    ),
    path(
        "long-term-memory/<str:memory_id>",
        longterm.MemoryDetailView.as_view(),
        name="v1-long-term-memory-detail",
    ),
    path("memory/prompt", working.MemoryPromptView.as_view(), name="v1-memory-prompt"),
    path("tasks/<str:task_id>", working.TaskView.as_view(), name="v1-task"),
    path("summary-views", summaries.SummaryViewsView.as_view(), name="v1-summary-views"),
    path("summary-views/", summaries.SummaryViewsAlias.as_view()),
    path("summary-views/<str:view_id>", summaries.SummaryViewView.as_view(), name="v1-summary-view"),
    path(
        "summary-views/<str:view_id>/partitions",
        summaries.PartitionsView.as_view(),
        name="v1-summary-view-partitions",
    ),
    path(
        "summary-views/<str:view_id>/partitions/run",
        summaries.RunPartitionView.as_view(),
        name="v1-summary-view-partition-run",
    ),
    path("summary-views/<str:view_id>/run", summaries.RunViewView.as_view(), name="v1-summary-view-run"),
]

# The operations every agent turn calls, also served straight from ASGI (see rest.hot);
# names and scopes are their views' (tests/server/test_hot_routes.py checks).
hot_routes = [
    HotRoute(
        "GET",
        "/v1/working-memory/{session_id}",
        "v1-working-memory",
        working.WorkingMemoryView,
        working.get_working_memory,
    ),
    HotRoute(
        "PUT",
        "/v1/working-memory/{session_id}",
        "v1-working-memory",
        working.WorkingMemoryView,
        working.put_working_memory,
    ),
    HotRoute(
        "POST",
        "/v1/long-term-memory/search",
        "v1-long-term-memory-search",
        longterm.MemorySearchView,
        longterm.search_memories,
    ),
]
