"""Small builders shared by tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def conversation(count: int, words: int = 8, prefix: str = "message") -> list[dict[str, Any]]:
    """`count` alternating user/assistant messages with distinct, ordered contents."""
    roles = ("user", "assistant")
    return [
        {"role": roles[i % 2], "content": f"{prefix} {i} " + " ".join(["word"] * words)} for i in range(count)
    ]


def documented_embedding_settings(settings: Any) -> Iterator[Any]:
    """The embedding settings at their documented defaults for one test (pytest-django's
    `settings`), with the embedders built under them forgotten afterwards."""
    from providers.embeddings import reset_embedders

    settings.EMBEDDING_PROVIDER = "auto"
    settings.EMBEDDING_MODEL = None
    settings.EMBEDDING_BASE_URL = None
    settings.EMBEDDING_DIMENSIONS = None
    settings.EMBEDDING_BATCH_SIZE = 64
    settings.EMBEDDING_TIMEOUT_SECONDS = 30
    settings.EMBEDDING_THREADS = None
    settings.OPENAI_API_KEY = None
    settings.OPENAI_API_BASE = None
    yield settings
    reset_embedders()
