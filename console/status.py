"""What the dashboard shows: counts per namespace, the index, the queues, the models, charts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from longterm_app.index import index_status
from memoryserver.config import ConfigError
from memoryserver.errors import MemoryServerError
from memoryserver.redis import get_redis
from providers.embeddings import get_embedder
from providers.features import Feature, feature_status, needs_chat_model
from sessions_app.repository import session_counts

from . import jobs, panels
from .latency import latencies
from .runner import with_memory_store


@dataclass(frozen=True)
class NamespaceCounts:
    namespace: str
    memories: int
    sessions: int


def namespace_counts() -> list[NamespaceCounts]:
    sessions = session_counts(get_redis("working"))
    # No index (yet): no counts; the index panel says so.
    memories = with_memory_store(lambda store: store.count_by_namespace_if_indexed()) or {}
    names = sorted(set(sessions) | set(memories))
    return [NamespaceCounts(name, memories.get(name, 0), sessions.get(name, 0)) for name in names]


def features() -> list[tuple[str, Feature]]:
    """Each model-backed feature: on or off, and why (the same report as GET /info). The missing
    chat model is explained once, on its own row; the features it turns off point there."""
    return [
        (name, Feature(enabled=False, detail="needs a chat model (see chat_model)"))
        if needs_chat_model(feature)
        else (name, feature)
        for name, feature in feature_status().items()
    ]


def embedding() -> tuple[str, str | None]:
    """(identity, error) of the configured embedding provider."""
    try:
        return get_embedder().identity, None
    except (ConfigError, MemoryServerError) as error:
        return "", str(error)


def charts(namespaces: list[NamespaceCounts], queues: list[jobs.QueueCounts]) -> list[panels.Figure]:
    """The dashboard's pictures: per namespace, the queues' last hour, search and write latency."""
    return [
        *panels.namespace_figures(
            {row.namespace: row.memories for row in namespaces},
            {row.namespace: row.sessions for row in namespaces},
        ),
        *panels.job_figures(jobs.history(queues)),
        panels.latency_figure(latencies()),
    ]


def dashboard() -> dict[str, Any]:
    queues = jobs.all_counts()
    namespaces = namespace_counts()
    embedding_identity, embedding_error = embedding()
    return {
        "charts": charts(namespaces, queues),
        "namespaces": namespaces,
        "index": index_status(get_redis("long_term")),
        "queues": queues,
        "failed_total": sum(queue.failed for queue in queues),
        "features": features(),
        "embedding_identity": embedding_identity,
        "embedding_error": embedding_error,
    }
