"""Embeddings from the OpenAI API or any OpenAI-compatible server (Ollama, vLLM, ...).

One API call per batch through the official SDK, which retries connection errors, 429
and 5xx answers twice with back-off. Failures become `BackendUnavailable` with a message
that names the server and the model but never the API key.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping

import numpy as np
import openai

from memoryserver.errors import BackendUnavailable
from providers.embeddings.base import Embedder, EmbeddingMismatch, Vectors
from providers.llm.failures import error_detail, server_of

KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
_PROBE_TEXT = "dimension probe"


class OpenAIEmbedder(Embedder):
    """An embedding model behind the OpenAI `/embeddings` endpoint."""

    provider = "openai"

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout: float = 30.0,
        max_retries: int = 2,
    ) -> None:
        super().__init__(model, batch_size)
        self.dimensions = dimensions
        self.timeout = timeout
        self._api_key = api_key
        # Servers without authentication (a local Ollama) still need some bearer token for the SDK.
        self._client = openai.OpenAI(
            api_key=api_key or "unused",
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )
        self._server = server_of(str(self._client.base_url))
        self._dims: int | None = dimensions or KNOWN_DIMS.get(model)
        self._dims_lock = threading.Lock()

    @property
    def dims(self) -> int:
        """Known from EMBEDDING_DIMENSIONS or the model table; otherwise asked of the server once."""
        if self._dims is None:
            with self._dims_lock:
                if self._dims is None:
                    probe = self._request([_PROBE_TEXT])
                    if probe.ndim != 2 or probe.shape[0] != 1:
                        raise EmbeddingMismatch(
                            f"Embedding model '{self.model}' answered a probe text with an array of "
                            f"shape {probe.shape}; expected one vector."
                        )
                    self._dims = int(probe.shape[1])
        return self._dims

    def close(self) -> None:
        super().close()
        self._client.close()

    def _embed_batch(self, texts: list[str]) -> Vectors:
        vectors = self._request(texts)
        if self._dims is None and vectors.ndim == 2:
            # The first answer tells the dimensions; no separate probe needed.
            with self._dims_lock:
                self._dims = self._dims or int(vectors.shape[1])
        return vectors

    def _request(self, texts: list[str]) -> Vectors:
        try:
            # Plain floats: every OpenAI-compatible server supports them, not all support base64.
            if self.dimensions is None:
                response = self._client.embeddings.create(
                    model=self.model, input=texts, encoding_format="float"
                )
            else:
                response = self._client.embeddings.create(
                    model=self.model, input=texts, encoding_format="float", dimensions=self.dimensions
                )
        except openai.OpenAIError as error:
            raise self._translated(error) from None
        # Order by `index`: the API does not promise to answer in input order.
        rows = sorted(response.data, key=lambda item: item.index)
        try:
            return np.array([row.embedding for row in rows], dtype=np.float32)
        except ValueError:  # ragged rows: let the base class report the shapes
            return np.array([np.asarray(row.embedding, dtype=np.float32) for row in rows], dtype=object)

    def _translated(self, error: openai.OpenAIError) -> BackendUnavailable:
        where = f"The embedding API at {self._server} (model '{self.model}')"
        retry_after = None
        if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
            return BackendUnavailable("embedding API refused the credentials")
        if isinstance(error, openai.APITimeoutError):
            message = f"{where} did not answer within {self.timeout:g} s."
        elif isinstance(error, openai.APIConnectionError):
            message = f"{where} cannot be reached."
        elif isinstance(error, openai.RateLimitError):
            message = f"{where} is rate-limiting requests (429); try again later."
            retry_after = retry_after_seconds(error.response.headers)
        elif isinstance(error, openai.APIStatusError):
            message = (
                f"{where} answered {error.status_code}: {error_detail(error.body, error.message, limit=300)}"
            )
        else:
            message = f"{where} failed: {type(error).__name__}."
        return BackendUnavailable(self._scrubbed(message), retry_after=retry_after)

    def _scrubbed(self, message: str) -> str:
        return message.replace(self._api_key, "***") if self._api_key else message


# The longest wait passed on to clients: an API's own figure beyond it is not believed.
MAX_RETRY_AFTER = 3600


def retry_after_seconds(headers: Mapping[str, str]) -> int | None:
    """The whole seconds (1 to MAX_RETRY_AFTER) an API's answer asks to wait before a retry,
    from its `retry-after-ms` or `retry-after` (seconds) header; None when it names no wait."""
    for name, per_second in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            seconds = float(headers.get(name, "")) / per_second
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return min(MAX_RETRY_AFTER, max(1, math.ceil(seconds)))
    return None
