"""Messages for failed model calls: what went wrong and what to check, never the API key.

Providers hand their SDK's exceptions to a `FailureReporter` (`sdk_error`), which classifies
them (timeout, connection, HTTP status) into the `ModelUnavailable` to raise, so both SDKs
fail with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from urllib.parse import urlsplit

from providers.llm.base import ModelUnavailable

_MAX_DETAIL = 200
_RETRIED_REASONS = {408: "request timeout", 409: "conflict", 429: "rate limited", 529: "overloaded"}


@dataclass(frozen=True)
class FailureReporter:
    """Builds the ModelUnavailable errors of one model object."""

    label: str  # "Chat model 'gpt-4o-mini' (openai)"
    model: str
    base_url: str
    key_setting: str  # the setting that holds the key, e.g. "OPENAI_API_KEY"
    max_retries: int
    timeout: float
    secret: str | None = field(default=None, repr=False)

    @property
    def _after_retries(self) -> str:
        attempts = self.max_retries + 1
        return f"{self.label} failed after retries ({attempts} attempt{'s' if attempts != 1 else ''})"

    def timeout_error(self) -> ModelUnavailable:
        return self._error(
            f"{self._after_retries}: no answer within {self.timeout:g} s (LLM_TIMEOUT_SECONDS)."
        )

    def connection_error(self) -> ModelUnavailable:
        return self._error(f"{self._after_retries}: cannot connect to {server_of(self.base_url)}.")

    def status_error(self, status: int, body: object, fallback: str) -> ModelUnavailable:
        """The error for an HTTP error answer, after the SDK's retries where it retries."""
        detail = error_detail(body, fallback)
        if status == 401:
            message = (
                f"{self.label}: authentication failed (401): {self.key_setting} is missing, wrong or revoked."
            )
        elif status == 403:
            message = f"{self.label}: permission denied (403): the key in {self.key_setting} may not use it."
        elif status == 404:
            message = (
                f"{self.label}: not found (404): unknown model '{self.model}' or wrong base URL "
                f"{server_of(self.base_url)}: {detail}"
            )
        elif status == 400:
            message = f"{self.label} rejected the request (400 bad request): {detail}"
        elif status in _RETRIED_REASONS or status >= 500:
            reason = _RETRIED_REASONS.get(status, "server error")
            message = f"{self._after_retries}: {status} {reason}: {detail}"
        else:
            message = f"{self.label} answered {status}: {detail}"
        return self._error(message)

    def sdk_error(self, error: Exception, sdk: ModuleType) -> ModelUnavailable:
        """The error for an exception of the `openai` or `anthropic` SDK (both name their
        timeout, connection and HTTP status errors alike)."""
        if isinstance(error, sdk.APITimeoutError):
            return self.timeout_error()
        if isinstance(error, sdk.APIConnectionError):
            return self.connection_error()
        if isinstance(error, sdk.APIStatusError):
            return self.status_error(error.status_code, error.body, error.message)
        return self.unexpected_error(error)

    def malformed_answer(self, expected: str) -> ModelUnavailable:
        """A success status whose body is not what the API answers (a proxy's page, a server
        that only claims compatibility)."""
        return self._error(f"{self.label} answered with something that is not {expected}.")

    def unexpected_error(self, error: Exception) -> ModelUnavailable:
        return self._error(f"{self.label} failed: {type(error).__name__}: {str(error)[:_MAX_DETAIL]}")

    def _error(self, message: str) -> ModelUnavailable:
        if self.secret:
            message = message.replace(self.secret, "***")
        return ModelUnavailable(message)


def error_detail(body: object, fallback: str, limit: int = _MAX_DETAIL) -> str:
    """The API's own error message (OpenAI and Anthropic bodies), shortened."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])[:limit]
    return fallback[:limit]


def server_of(url: str) -> str:
    """scheme://host[:port] of a URL, leaving out any credentials and path."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"
