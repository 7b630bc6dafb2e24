"""The chat-model interface: one `ChatModel.complete()` for every provider.

Providers (OpenAI and any OpenAI-compatible base URL, Anthropic) implement `_call()`; the
base class owns what must be the same everywhere: structured output validated against a
pydantic model with one corrective retry, and token accounting per task.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel

from memoryserver.errors import BackendUnavailable, FeatureDisabled
from providers.llm.structured import StructuredOutputError, corrective_prompt, parse_structured
from providers.llm.usage import Usage, record_usage

Role = Literal["system", "user", "assistant"]
Schema = TypeVar("Schema", bound=BaseModel)


class ModelNotConfigured(FeatureDisabled):
    """No chat model is configured (no API key or base URL): the feature is off."""


class ModelUnavailable(BackendUnavailable):
    """The model API failed after the SDK's retries (timeouts, 429, 5xx, refused connection)."""


class ModelOutputInvalid(BackendUnavailable):
    """The model's structured output stayed malformed after one corrective retry."""


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class RawReply:
    """What a provider returns for one call: text, or tool-call arguments when a schema was asked."""

    text: str
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True)
class ChatResult:
    text: str
    usage: Usage
    model: str
    data: Any = None  # the validated pydantic object when a schema was requested


class ChatModel(ABC):
    """A configured chat model. Synchronous: it runs in workers, never on the request path."""

    provider: ClassVar[str]

    def __init__(self, model: str) -> None:
        self.model = model

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model!r}>"

    @property
    def label(self) -> str:
        """How messages name this model: Chat model 'gpt-4o-mini' (openai)."""
        return f"Chat model '{self.model}' ({self.provider})"

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: type[BaseModel] | None = None,
        task: str = "chat",
        max_tokens: int = 2048,
        temperature: float = 0.0,
    ) -> ChatResult:
        """The assistant's answer; with `schema`, also the answer validated as that pydantic model.

        Raises ModelUnavailable when the API fails after the SDK's retries and
        ModelOutputInvalid when structured output is still invalid after one corrective retry.
        `temperature` is ignored by providers whose API refuses it (Anthropic since 2026-10-21).
        """
        if not messages:
            raise ValueError("complete() needs at least one message.")
        reply = self._accounted_call(task, messages, schema, max_tokens, temperature)
        if schema is None:
            return ChatResult(text=reply.text, usage=reply.usage, model=self.model)
        usage = reply.usage
        try:
            data, text = parse_structured(reply.text, schema)
        except StructuredOutputError as problem:
            bad_output, correction = corrective_prompt(reply.text, problem, schema)
            retry = [*messages, ChatMessage("assistant", bad_output), ChatMessage("user", correction)]
            reply = self._accounted_call(task, retry, schema, max_tokens, temperature)
            usage += reply.usage
            try:
                data, text = parse_structured(reply.text, schema)
            except StructuredOutputError as again:
                raise ModelOutputInvalid(
                    f"{self.label} gave invalid structured output for task '{task}' twice "
                    f"(schema {schema.__name__}): {again}"
                ) from None
        return ChatResult(text=text, usage=usage, model=self.model, data=data)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the SDK client; the model must not be used afterwards."""

    def _accounted_call(
        self,
        task: str,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None,
        max_tokens: int,
        temperature: float,
    ) -> RawReply:
        reply = self._call(messages, schema, max_tokens, temperature)
        record_usage(task, self.model, self.provider, reply.usage)
        return reply

    @abstractmethod
    def _call(
        self,
        messages: list[ChatMessage],
        schema: type[BaseModel] | None,
        max_tokens: int,
        temperature: float,
    ) -> RawReply:
        """One API call. With `schema`, force a tool/function call whose parameters are
        `schema.model_json_schema()` and return its arguments as JSON text."""
