"""Chat models: the `ChatModel` interface and the `get_chat_model()` factory.

Settings read:

- GENERATION_MODEL ("gpt-4o-mini"), and FAST_MODEL for small tasks (default: GENERATION_MODEL).
- LLM_PROVIDER: "auto" (default), "openai" or "anthropic". "auto" is "anthropic" for model
  names starting with "claude", else "openai" (also any OpenAI-compatible server).
- OPENAI_API_KEY / OPENAI_API_BASE (a base URL alone is enough: Ollama, vLLM, LM Studio),
  ANTHROPIC_API_KEY / ANTHROPIC_API_BASE.
- LLM_TIMEOUT_SECONDS (60) and LLM_MAX_RETRIES (3): the SDKs retry 408/409/429/5xx and
  timeouts with exponential back-off.

Models are created on first use and cached per combination of these values, so a test
that overrides settings gets its own model; `reset_chat_models()` closes and forgets them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings

from memoryserver.config import ConfigError
from providers.llm.base import (
    ChatMessage,
    ChatModel,
    ChatResult,
    ModelNotConfigured,
    ModelOutputInvalid,
    ModelUnavailable,
    RawReply,
)
from providers.llm.usage import Usage, usage_totals

if TYPE_CHECKING:
    from providers.llm.anthropic_chat import AnthropicChatModel
    from providers.llm.openai_chat import OpenAIChatModel

__all__ = [
    "ChatConfig",
    "ChatMessage",
    "ChatModel",
    "ChatResult",
    "ModelNotConfigured",
    "ModelOutputInvalid",
    "ModelUnavailable",
    "Purpose",
    "RawReply",
    "Usage",
    "chat_model_status",
    "get_chat_model",
    "reset_chat_models",
    "usage_totals",
]

Purpose = Literal["generation", "fast"]
PROVIDERS = ("auto", "openai", "anthropic")
DEFAULT_MODEL = "gpt-4o-mini"
NOT_CONFIGURED = (
    "No chat model is configured: set OPENAI_API_KEY (or OPENAI_API_BASE for an OpenAI-compatible "
    "server such as Ollama) or ANTHROPIC_API_KEY for claude-* models."
)

_models: dict[ChatConfig, ChatModel] = {}
_lock = threading.Lock()


def _setting(name: str, default: Any) -> Any:
    """A Django setting; else the validated config field of the same name; else `default`."""
    if hasattr(settings, name):
        return getattr(settings, name)
    config = getattr(settings, "CONFIG", None)
    return getattr(config, name.lower(), default)


def _secret(value: Any) -> str | None:
    """The plain text of a SecretStr (or a str), or None when unset or empty."""
    if value is None:
        return None
    plain = value.get_secret_value() if hasattr(value, "get_secret_value") else str(value)
    return plain or None


def _number(name: str, default: float, *, kind: type[int] | type[float], low: float, high: float) -> Any:
    value = _setting(name, default)
    if isinstance(value, bool) or not isinstance(value, int | kind) or not low <= value <= high:
        rule = "an integer" if kind is int else "a number"
        raise ConfigError(f"Config '{name}' has value {value!r}. It must be {rule} from {low:g} to {high:g}.")
    return kind(value)


@dataclass(frozen=True)
class ChatConfig:
    """Every settings value that shapes a chat model; equal configs share one model object."""

    purpose: Purpose = field(compare=False)  # FAST_MODEL unset: both purposes share one model
    provider: str
    model: str
    base_url: str | None
    timeout: float
    max_retries: int
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, purpose: Purpose = "generation", model: str | None = None) -> ChatConfig:
        """The configured model for `purpose`, or `model` (a name) on the configured provider."""
        if purpose not in ("generation", "fast"):
            raise ValueError(f"purpose has value {purpose!r}. Use 'generation' or 'fast'.")
        generation = _setting("GENERATION_MODEL", DEFAULT_MODEL) or DEFAULT_MODEL
        if not model:
            model = (_setting("FAST_MODEL", None) or generation) if purpose == "fast" else generation
        provider = _setting("LLM_PROVIDER", "auto") or "auto"
        if provider not in PROVIDERS:
            raise ConfigError(f"Config 'LLM_PROVIDER' has value {provider!r}. Use one of {PROVIDERS}.")
        if provider == "auto":
            provider = "anthropic" if model.lower().startswith("claude") else "openai"
        prefix = "ANTHROPIC" if provider == "anthropic" else "OPENAI"
        return cls(
            purpose=purpose,
            provider=provider,
            model=model,
            base_url=_setting(f"{prefix}_API_BASE", None) or None,
            timeout=_number("LLM_TIMEOUT_SECONDS", 60.0, kind=float, low=0.001, high=1800),
            max_retries=_number("LLM_MAX_RETRIES", 3, kind=int, low=0, high=10),
            api_key=_secret(_setting(f"{prefix}_API_KEY", None)),
        )

    @property
    def setting_name(self) -> str:
        return "FAST_MODEL" if self.purpose == "fast" else "GENERATION_MODEL"

    def check(self) -> None:
        """Raise ModelNotConfigured unless the provider has a key or a base URL."""
        if self.api_key or self.base_url:
            return
        needs = (
            "ANTHROPIC_API_KEY (or ANTHROPIC_API_BASE)"
            if self.provider == "anthropic"
            else "OPENAI_API_KEY or OPENAI_API_BASE"
        )
        raise ModelNotConfigured(
            f"{NOT_CONFIGURED} {self.setting_name} is '{self.model}' ({self.provider}), which needs {needs}."
        )


def _create(config: ChatConfig) -> ChatModel:
    # Imported on first use: neither SDK is needed (or imported) until a model is asked for.
    model_class: type[OpenAIChatModel] | type[AnthropicChatModel]
    if config.provider == "anthropic":
        from providers.llm.anthropic_chat import AnthropicChatModel as model_class
    else:
        from providers.llm.openai_chat import OpenAIChatModel as model_class
    return model_class(
        config.model,
        api_key=config.api_key,
        base_url=config.base_url,
        timeout=config.timeout,
        max_retries=config.max_retries,
    )


def get_chat_model(purpose: Purpose = "generation", model: str | None = None) -> ChatModel:
    """The chat model the current settings ask for (or `model` by name, through the same
    provider settings); ModelNotConfigured when there is none."""
    config = ChatConfig.from_settings(purpose, model)
    config.check()
    with _lock:
        chat = _models.get(config)
        if chat is None:
            chat = _models[config] = _create(config)
        return chat


def chat_model_status(purpose: Purpose = "generation") -> tuple[bool, str]:
    """(True, "gpt-4o-mini via openai") or (False, why not), without calling the model."""
    try:
        config = ChatConfig.from_settings(purpose)
        config.check()
    except (ModelNotConfigured, ConfigError) as problem:
        return False, str(problem)
    return True, f"{config.model} via {config.provider}"


def reset_chat_models() -> None:
    """Close and forget every cached chat model (for tests)."""
    with _lock:
        models = list(_models.values())
        _models.clear()
    for model in models:
        model.close()
