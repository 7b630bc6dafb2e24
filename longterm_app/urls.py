from django.urls import path

from longterm_app.views import (
    MemoryCollectionView,
    MemoryCompactView,
    MemoryDetailView,
    MemoryForgetView,
    MemorySearchView,
)

urlpatterns = [
    path("long-term-memory", MemoryCollectionView.as_view(), name="long-term-memory"),
    path("long-term-memory/search", MemorySearchView.as_view(), name="long-term-memory-search"),
    path("long-term-memory/compact", MemoryCompactView.as_view(), name="long-term-memory-compact"),
    path("long-term-memory/forget", MemoryForgetView.as_view(), name="long-term-memory-forget"),
    path("long-term-memory/<str:memory_id>", MemoryDetailView.as_view(), name="long-term-memory-detail"),
]
