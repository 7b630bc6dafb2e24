"""Embeddings: the `Embedder` interface and the `get_embedder()` factory.

Settings read (all optional):

- EMBEDDING_PROVIDER: "auto" (default), "local" or "openai". "auto" is "openai" when
  OPENAI_API_KEY or EMBEDDING_BASE_URL is set, else "local".
- EMBEDDING_MODEL: default "all-MiniLM-L6-v2" (local) or "text-embedding-3-small" (openai).
- EMBEDDING_BASE_URL: an OpenAI-compatible API (Ollama, vLLM, ...); default OPENAI_API_BASE.
- EMBEDDING_DIMENSIONS: asks the API for this many dimensions (text-embedding-3 models).
- EMBEDDING_BATCH_SIZE (64), EMBEDDING_TIMEOUT_SECONDS (30), EMBEDDING_THREADS (local model).

Providers are created on first use and cached per combination of these values, so a test
that overrides settings gets its own embedder; `reset_embedders()` closes and forgets them.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from django.conf import settings

from memoryserver.config import ConfigError
from memoryserver.embeddings.base import Embedder, EmbeddingMismatch
from memoryserver.errors import FeatureDisabled

__all__ = ["Embedder", "EmbeddingMismatch", "get_embedder", "reset_embedders"]

LOCAL_DEFAULT_MODEL = "all-MiniLM-L6-v2"
OPENAI_DEFAULT_MODEL = "text-embedding-3-small"
PROVIDERS = ("auto", "local", "openai")

_embedders: dict[tuple[Any, ...], Embedder] = {}
_lock = threading.Lock()


def _secret(value: Any) -> str | None:
    """The plain text of a SecretStr (or a str), or None when unset or empty."""
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return plain or None


def _positive_int(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"Config '{name}' has value {value!r}. It must be a positive integer.")
    return value


def _provider(api_key: str | None, base_url: str | None) -> str:
    provider = getattr(settings, "EMBEDDING_PROVIDER", "auto") or "auto"
    if provider not in PROVIDERS:
        raise ConfigError(f"Config 'EMBEDDING_PROVIDER' has value {provider!r}. Use one of {PROVIDERS}.")
    if provider == "auto":
        return "openai" if api_key or base_url else "local"
    return str(provider)


def _config() -> tuple[Any, ...]:
    """Every settings value that shapes an embedder, as a hashable key."""
    api_key = _secret(getattr(settings, "OPENAI_API_KEY", None))
    embedding_url = getattr(settings, "EMBEDDING_BASE_URL", None) or None
    provider = _provider(api_key, embedding_url)
    default_model = OPENAI_DEFAULT_MODEL if provider == "openai" else LOCAL_DEFAULT_MODEL
    model = getattr(settings, "EMBEDDING_MODEL", None) or default_model
    dimensions = getattr(settings, "EMBEDDING_DIMENSIONS", None)
    if dimensions is not None:
        dimensions = _positive_int("EMBEDDING_DIMENSIONS", 1)
    batch_size = _positive_int("EMBEDDING_BATCH_SIZE", 64)
    if provider == "local":
        threads = getattr(settings, "EMBEDDING_THREADS", None)
        return ("local", model, dimensions, batch_size, threads)
    base_url = embedding_url or getattr(settings, "OPENAI_API_BASE", None) or None
    timeout = float(getattr(settings, "EMBEDDING_TIMEOUT_SECONDS", 30))
    return ("openai", model, dimensions, batch_size, base_url, timeout, api_key)


def _create(config: tuple[Any, ...]) -> Embedder:
    if config[0] == "local":
        from memoryserver.embeddings.local import DIMS, LocalOnnxEmbedder

        _, model, dimensions, batch_size, threads = config
        if dimensions not in (None, DIMS):
            raise ConfigError(
                f"Config 'EMBEDDING_DIMENSIONS' has value {dimensions}. "
                f"The local model {LOCAL_DEFAULT_MODEL} has {DIMS} dimensions."
            )
        return LocalOnnxEmbedder(model, batch_size=batch_size, threads=threads)

    from memoryserver.embeddings.openai import OpenAIEmbedder

    _, model, dimensions, batch_size, base_url, timeout, api_key = config
    if not api_key and not base_url:
        raise FeatureDisabled(
            "EMBEDDING_PROVIDER is 'openai' but neither OPENAI_API_KEY nor EMBEDDING_BASE_URL is set."
        )
    return OpenAIEmbedder(
        model,
        api_key=api_key,
        base_url=base_url,
        dimensions=dimensions,
        batch_size=batch_size,
        timeout=timeout,
    )


def _cache_key(config: tuple[Any, ...]) -> tuple[Any, ...]:
    # Keep a digest of the API key in the cache, not the key itself.
    if config[0] == "openai" and config[-1]:
        return (*config[:-1], hashlib.sha256(config[-1].encode()).hexdigest())
    return config


def get_embedder() -> Embedder:
    """The embedder the current settings ask for, created on first use."""
    config = _config()
    key = _cache_key(config)
    with _lock:
        embedder = _embedders.get(key)
        if embedder is None:
            embedder = _embedders[key] = _create(config)
        return embedder


def reset_embedders() -> None:
    """Close and forget every cached embedder (for tests)."""
    with _lock:
        embedders = list(_embedders.values())
        _embedders.clear()
    for embedder in embedders:
        embedder.close()
