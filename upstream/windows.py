"""The client model of a /v1 request: any name is accepted, and how full its window is.

Upstream clients send model names from their own list (and new ones as they appear), so an
unknown name is not an error here: it gets a default window of DEFAULT_CONTEXT_WINDOW tokens
(the upstream server's default) and the response says so in a `Warning` header.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from memoryserver.tokens import count_message, count_text, resolve_model
from sessions_app.schemas import Message
from sessions_app.windows import MessageBudget

DEFAULT_CONTEXT_WINDOW = 16_000


@dataclass(frozen=True)
class ClientWindow:
    model_name: str | None  # a name the token registry knows, or None
    context_window_max: int | None
    warning: str | None = None

    @property
    def given(self) -> bool:
        """Whether the client named a model or a budget (upstream reports percentages only then)."""
        return self.model_name is not None or self.context_window_max is not None


def client_window(model_name: str | None, context_window_max: int | None) -> ClientWindow:
    if model_name and resolve_model(model_name) is None:
        warning = (
            f"Unknown model_name '{model_name}': using a context window of "
            f"{context_window_max or DEFAULT_CONTEXT_WINDOW} tokens"
        )
        return ClientWindow(None, context_window_max or DEFAULT_CONTEXT_WINDOW, warning)
    return ClientWindow(model_name or None, context_window_max)


def context_percentages(
    messages: list[Message], context: str | None, budget: MessageBudget
) -> tuple[float, float] | tuple[None, None]:
    """(share of the window used, progress towards the summarisation threshold), both 0-100."""
    if budget.max_tokens is None:
        return None, None
    used = count_text(context or "", budget.family) + sum(
        count_message(message.content, budget.family) for message in messages
    )
    threshold = budget.max_tokens * settings.SUMMARIZATION_THRESHOLD
    total = min(100.0, 100.0 * used / budget.max_tokens)
    until = min(100.0, 100.0 * used / threshold) if threshold > 0 else 100.0
    return round(total, 2), round(until, 2)
