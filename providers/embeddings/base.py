"""The embedder interface: the base class batches, checks and normalises; providers embed one batch.

Like redisvl's `BaseVectorizer`, `Embedder.embed_many()` is a template method. A provider
implements only `_embed_batch()` (and `dims`), so every provider returns the same thing:
a float32 array of shape (n, dims) whose rows have unit length, in the order of the input.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
from asgiref.sync import sync_to_async

from memoryserver.errors import BackendUnavailable
from memoryserver.observability.metrics import get_metrics
from providers.embeddings.coalescing import Coalescer

Vectors = np.ndarray
# Calls of up to this many texts are coalesced with concurrent ones.
COALESCE_MAX_TEXTS = 16
# Query vectors kept per embedder and process: agents often ask the same question again
# (the same prompt each turn). 1,024 vectors of 384 floats are 1.5 MB.
QUERY_CACHE_SIZE = 1024
_coalescer_lock = threading.Lock()
# What a text is for: a search's question, or something stored to be found.
TextKind = Literal["query", "passage"]


class EmbeddingMismatch(BackendUnavailable):
    """The model answered with the wrong number of vectors or dimensions, or non-finite values."""


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors."""

    provider: ClassVar[str]
    # Sorting a call's texts by length puts similar lengths in one batch: less padding.
    sort_by_length: ClassVar[bool] = False
    # Text put before each query or passage, for models trained with such prefixes (e5).
    query_prefix: str = ""
    passage_prefix: str = ""
    # Cosine distance under which two texts say the same thing. Models spread distances
    # differently: all-MiniLM-L6-v2 puts paraphrases near 0.1 and unrelated texts near 0.9,
    # multilingual-e5-small near 0.02 and 0.25.
    near_duplicate_distance: float = 0.12

    def __init__(self, model: str, batch_size: int = 64) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size has value {batch_size!r}. It must be at least 1.")
        self.model = model
        self.batch_size = batch_size
        self._coalescing: Coalescer | None = None
        self._query_cache: OrderedDict[str, Vectors] = OrderedDict()
        self._query_cache_lock = threading.Lock()

    @property
    @abstractmethod
    def dims(self) -> int:
        """The number of dimensions of every vector."""

    @abstractmethod
    def _embed_batch(self, texts: list[str]) -> Vectors:
        """Embed at most `batch_size` texts: one row per text, in order, not necessarily normalised."""

    @property
    def identity(self) -> str:
        """'provider:model:dims', stored with an index to notice when the model changes."""
        return f"{self.provider}:{self.model}:{self.dims}"

    def embed(self, text: str, kind: TextKind = "passage") -> Vectors:
        """One text as a vector of shape (dims,)."""
        return self.embed_many([text], kind)[0]

    def embed_many(self, texts: Sequence[str], kind: TextKind = "passage") -> Vectors:
        """Texts as an array of shape (len(texts), dims), in the order given."""
        return self._embed_prepared(self._prepared(texts, kind))

    async def aembed_many(self, texts: Sequence[str], kind: TextKind = "passage") -> Vectors:
        """`embed_many` off the event loop. Small calls (queries, small writes) made at the same
        time share batched model calls (see coalescing.py); large ones run in a thread of their own."""
        items = self._prepared(texts, kind)
        if 0 < len(items) <= COALESCE_MAX_TEXTS:
            return await self._coalescer().embed(items)
        return await sync_to_async(self._embed_prepared, thread_sensitive=False)(items)

    async def aembed(self, text: str, kind: TextKind = "passage") -> Vectors:
        return (await self.aembed_many([text], kind))[0]

    async def aembed_query(self, text: str) -> Vectors:
        """A search query's vector, from a small per-process cache when the same text (after
        trimming and collapsing whitespace) was embedded recently."""
        key = " ".join(text.split())
        with self._query_cache_lock:
            cached = self._query_cache.get(key)
            if cached is not None:
                self._query_cache.move_to_end(key)
        get_metrics().query_embedding_cache.labels("miss" if cached is None else "hit").inc()
        if cached is not None:
            return cached
        vector = (await self.aembed_many([key], "query"))[0]
        vector.setflags(write=False)  # shared by every caller that hits the cache
        with self._query_cache_lock:
            self._query_cache[key] = vector
            if len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)
        return vector

    def _prepared(self, texts: Sequence[str], kind: TextKind) -> list[str]:
        """The texts checked and given the model's prefix for their kind."""
        items = list(texts)
        for position, text in enumerate(items):
            if not isinstance(text, str):
                raise TypeError(f"texts[{position}] is a {type(text).__name__}, not a str.")
        prefix = self.query_prefix if kind == "query" else self.passage_prefix
        return [prefix + text for text in items] if prefix else items

    def _embed_prepared(self, items: list[str]) -> Vectors:
        if not items:
            return np.zeros((0, self.dims), dtype=np.float32)
        order = sorted(range(len(items)), key=lambda i: len(items[i])) if self.sort_by_length else None
        queue = [items[i] for i in order] if order is not None else items
        parts = []
        for start in range(0, len(queue), self.batch_size):
            batch = queue[start : start + self.batch_size]
            parts.append(self._checked(self._embed_batch(batch), len(batch)))
        vectors = _normalised(np.concatenate(parts))
        get_metrics().embedded_texts.labels(self.provider).inc(len(items))
        if order is None:
            return vectors
        restored = np.empty_like(vectors)
        restored[order] = vectors
        return restored

    def _coalescer(self) -> Coalescer:
        with _coalescer_lock:
            if self._coalescing is None or self._coalescing.pid != os.getpid():
                self._coalescing = Coalescer(self._embed_prepared, self.provider)
            return self._coalescing

    def close(self) -> None:
        """Release network clients and the coalescing thread; the embedder must not be used afterwards."""
        if self._coalescing is not None:
            self._coalescing.close()
            self._coalescing = None

    def _checked(self, result: Vectors, count: int) -> Vectors:
        try:
            vectors = np.asarray(result, dtype=np.float32)
        except ValueError as error:  # ragged rows
            raise EmbeddingMismatch(
                f"Embedding model '{self.model}' returned vectors of unequal length: {error}"
            ) from None
        if vectors.ndim != 2 or vectors.shape[0] != count:
            raise EmbeddingMismatch(
                f"Embedding model '{self.model}' returned an array of shape {vectors.shape} "
                f"for {count} texts; expected ({count}, {self.dims})."
            )
        if vectors.shape[1] != self.dims:
            raise EmbeddingMismatch(
                f"Embedding model '{self.model}' returned {vectors.shape[1]}-dimensional vectors; "
                f"expected {self.dims} dimensions."
            )
        if not np.isfinite(vectors).all():
            raise EmbeddingMismatch(f"Embedding model '{self.model}' returned non-finite values.")
        return vectors


def _normalised(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # A zero vector stays zero rather than becoming NaN.
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
