"""How much of a session fits the client: message count and the client model's token budget."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from memoryserver.errors import InvalidInput
from memoryserver.tokens import MODELS, Family, count_message, count_text, resolve_model
from sessions_app.schemas import Message, WindowQuery


@dataclass(frozen=True)
class MessageBudget:
    max_messages: int
    max_tokens: int | None
    family: Family


def message_budget(query: WindowQuery) -> MessageBudget:
    """Resolve window_size, model_name and context_window_max (which wins over the model)."""
    family: Family = "openai"
    max_tokens = None
    if query.model_name:
        spec = resolve_model(query.model_name)
        if spec is None:
            known = ", ".join(sorted(MODELS))
            raise InvalidInput("model_name", f"unknown model '{query.model_name}'. Known models: {known}")
        family, max_tokens = spec.family, spec.context_window
    if query.context_window_max:
        max_tokens = query.context_window_max
    return MessageBudget(query.window_size or settings.WINDOW_SIZE, max_tokens, family)


def fit_messages(
    messages: list[Message], budget: MessageBudget, context: str | None
) -> tuple[list[Message], int]:
    """Keep the most recent messages within the budget; return them and the tokens they use.

    The context summary is sent along with the messages, so it counts against the budget.
    """
    kept = messages[-budget.max_messages :]
    used = count_text(context or "", budget.family)
    if budget.max_tokens is None:
        return kept, used + sum(count_message(m.content, budget.family) for m in kept)
    fitted: list[Message] = []
    for message in reversed(kept):
        cost = count_message(message.content, budget.family)
        if used + cost > budget.max_tokens:
            break
        used += cost
        fitted.append(message)
    fitted.reverse()
    return fitted, used


def summary_reason(messages: list[Message], context: str | None, budget: MessageBudget) -> str | None:
    """Why the session should be summarised now, or None when it fits its window."""
    if len(messages) > budget.max_messages:
        return f"{len(messages)} messages exceed the window of {budget.max_messages}"
    if budget.max_tokens is not None:
        threshold = int(budget.max_tokens * settings.SUMMARIZATION_THRESHOLD)
        tokens = count_text(context or "", budget.family) + sum(
            count_message(m.content, budget.family) for m in messages
        )
        if tokens > threshold:
            share = f"{settings.SUMMARIZATION_THRESHOLD:.0%} of {budget.max_tokens}"
            return f"{tokens} tokens exceed {threshold} ({share})"
    return None
