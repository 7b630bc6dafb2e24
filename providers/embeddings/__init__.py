"""Embeddings: the `Embedder` interface and the `get_embedder()` factory.

Settings read (all optional):

- EMBEDDING_PROVIDER: "auto" (default), "local" or "openai". "auto" is "openai" when
  OPENAI_API_KEY or EMBEDDING_BASE_URL is set, else "local".
- EMBEDDING_MODEL: default "multilingual-e5-small" (local; "all-MiniLM-L6-v2" is the other
  local model) or "text-embedding-3-small" (openai).
- EMBEDDING_BASE_URL: an OpenAI-compatible API (Ollama, vLLM, ...); default OPENAI_API_BASE.
- EMBEDDING_DIMENSIONS: asks the API for this many dimensions (text-embedding-3 models).
- EMBEDDING_BATCH_SIZE (64), EMBEDDING_TIMEOUT_SECONDS (30), EMBEDDING_THREADS (local model).

Providers are created on first use and cached per combination of these values, so a test
that overrides settings gets its own embedder; `reset_embedders()` closes and forgets them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from memoryserver.config import ConfigError
from memoryserver.errors import FeatureDisabled
from providers.embeddings.base import Embedder, EmbeddingMismatch

__all__ = ["Embedder", "EmbeddingConfig", "EmbeddingMismatch", "get_embedder", "reset_embedders"]

LOCAL_DEFAULT_MODEL = "multilingual-e5-small"
OPENAI_DEFAULT_MODEL = "text-embedding-3-small"
PROVIDERS = ("auto", "local", "openai")

_embedders: dict[EmbeddingConfig, Embedder] = {}
_lock = threading.Lock()


def _secret(value: Any) -> str | None:
    """The plain text of a SecretStr (or a str), or None when unset or empty."""
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return plain or None


def _positive(name: str, default: Any, kind: type[int] | type[float] = int) -> Any:
    """The setting as a positive int (or float), None if it is None, else ConfigError naming it."""
    value = getattr(settings, name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | kind) or value <= 0:
        rule = "a positive integer" if kind is int else "a positive number"
        raise ConfigError(f"Config '{name}' has value {value!r}. It must be {rule}.")
    return kind(value)


def _provider(api_key: str | None, base_url: str | None) -> str:
    provider = getattr(settings, "EMBEDDING_PROVIDER", "auto") or "auto"
    if provider not in PROVIDERS:
        raise ConfigError(f"Config 'EMBEDDING_PROVIDER' has value {provider!r}. Use one of {PROVIDERS}.")
    if provider == "auto":
        return "openai" if api_key or base_url else "local"
    return str(provider)


@dataclass(frozen=True)
class EmbeddingConfig:
    """Every settings value that shapes an embedder; equal configs share one embedder."""

    provider: str
    model: str
    dimensions: int | None
    batch_size: int
    threads: int | None = None
    base_url: str | None = None
    timeout: float = 30.0
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls) -> EmbeddingConfig:
        api_key = _secret(getattr(settings, "OPENAI_API_KEY", None))
        embedding_url = getattr(settings, "EMBEDDING_BASE_URL", None) or None
        provider = _provider(api_key, embedding_url)
        default_model = OPENAI_DEFAULT_MODEL if provider == "openai" else LOCAL_DEFAULT_MODEL
        common = {
            "provider": provider,
            "model": getattr(settings, "EMBEDDING_MODEL", None) or default_model,
            "dimensions": _positive("EMBEDDING_DIMENSIONS", None),
            "batch_size": _positive("EMBEDDING_BATCH_SIZE", 64) or 64,
        }
        if provider == "local":
            return cls(**common, threads=_positive("EMBEDDING_THREADS", None))
        return cls(
            **common,
            base_url=embedding_url or getattr(settings, "OPENAI_API_BASE", None) or None,
            timeout=_positive("EMBEDDING_TIMEOUT_SECONDS", 30.0, float) or 30.0,
            api_key=api_key,
        )


def _create(config: EmbeddingConfig) -> Embedder:
    if config.provider == "local":
        from providers.embeddings.local import DIMS, LocalOnnxEmbedder

        if config.dimensions not in (None, DIMS):
            raise ConfigError(
                f"Config 'EMBEDDING_DIMENSIONS' has value {config.dimensions}. "
                f"The local models have {DIMS} dimensions."
            )
        return LocalOnnxEmbedder(config.model, batch_size=config.batch_size, threads=config.threads)

    from providers.embeddings.openai import OpenAIEmbedder

    if not config.api_key and not config.base_url:
        raise FeatureDisabled(
            "EMBEDDING_PROVIDER is 'openai' but neither OPENAI_API_KEY nor EMBEDDING_BASE_URL is set."
        )
    return OpenAIEmbedder(
        config.model,
        api_key=config.api_key,
        base_url=config.base_url,
        dimensions=config.dimensions,
        batch_size=config.batch_size,
        timeout=config.timeout,
    )


def get_embedder() -> Embedder:
    """The embedder the current settings ask for, created on first use."""
    config = EmbeddingConfig.from_settings()
    with _lock:
        embedder = _embedders.get(config)
        if embedder is None:
            embedder = _embedders[config] = _create(config)
        return embedder


def reset_embedders() -> None:
    """Close and forget every cached embedder (for tests)."""
    with _lock:
        embedders = list(_embedders.values())
        _embedders.clear()
    for embedder in embedders:
        embedder.close()
