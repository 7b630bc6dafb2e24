"""What the dashboard shows: counts per namespace, the index, the queues, the models."""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from longterm_app.index import index_status
from memoryserver.config import ConfigError
from memoryserver.embeddings import get_embedder
from memoryserver.errors import MemoryServerError
from memoryserver.redis import get_redis
from sessions_app.repository import session_counts

from . import jobs
from .runner import with_memory_store

CHAT_MODEL_MISSING = "chat model: not available in this version"


@dataclass(frozen=True)
class NamespaceCounts:
    namespace: str
    memories: int
    sessions: int


def namespace_counts() -> list[NamespaceCounts]:
    sessions = session_counts(get_redis("working"))
    try:
        memories = with_memory_store(lambda store: store.count_by_namespace())
    except ResponseError:  # no index (yet): the index panel says so
        memories = {}
    names = sorted(set(sessions) | set(memories))
    return [NamespaceCounts(name, memories.get(name, 0), sessions.get(name, 0)) for name in names]


def _as_rows(status: Any) -> list[tuple[str, str]]:
    """Whatever shape chat_model_status() returns, as (name, value) rows."""
    if hasattr(status, "model_dump"):
        status = status.model_dump()
    elif dataclasses.is_dataclass(status) and not isinstance(status, type):
        status = dataclasses.asdict(status)
    if isinstance(status, dict):
        return [(str(key), str(value)) for key, value in status.items()]
    return [("status", str(status))]


def chat_model() -> tuple[bool, list[tuple[str, str]]]:
    """(available, rows): the chat-model features, from `memoryserver.llm` when this version has it."""
    try:
        module = importlib.import_module("memoryserver.llm")
    except ModuleNotFoundError as error:
        if error.name not in ("memoryserver.llm", "memoryserver"):
            return True, [("error", f"memoryserver.llm could not be imported: {error}")]
        return False, [("chat model", CHAT_MODEL_MISSING)]
    status_of = getattr(module, "chat_model_status", None)
    if status_of is None:
        return False, [("chat model", CHAT_MODEL_MISSING)]
    try:
        return True, _as_rows(status_of())
    except (ConfigError, MemoryServerError) as error:
        return True, [("error", str(error))]


def embedding() -> tuple[str, str | None]:
    """(identity, error) of the configured embedding provider."""
    try:
        return get_embedder().identity, None
    except (ConfigError, MemoryServerError) as error:
        return "", str(error)


def dashboard() -> dict[str, Any]:
    queues = jobs.all_counts()
    chat_available, chat_rows = chat_model()
    embedding_identity, embedding_error = embedding()
    return {
        "namespaces": namespace_counts(),
        "index": index_status(get_redis("long_term")),
        "queues": queues,
        "failed_total": sum(queue.failed for queue in queues),
        "chat_available": chat_available,
        "chat_rows": chat_rows,
        "embedding_identity": embedding_identity,
        "embedding_error": embedding_error,
    }
