"""Pure window logic: budgets and trimming."""

from __future__ import annotations

import pytest

from memoryserver.errors import InvalidInput
from sessions_app.schemas import Message, WindowQuery
from sessions_app.windows import MessageBudget, fit_messages, message_budget, summary_reason


def messages(count: int) -> list[Message]:
    return [Message(role="user", content=f"message number {i}") for i in range(count)]


def test_budget_defaults_to_the_window_size_setting(settings):
    settings.WINDOW_SIZE = 7
    assert message_budget(WindowQuery()) == MessageBudget(7, None, "openai")


def test_budget_from_an_anthropic_model_and_an_explicit_override():
    assert message_budget(WindowQuery(model_name="claude-3-opus-20240229")) == MessageBudget(
        20, 200_000, "anthropic"
    )
    budget = message_budget(WindowQuery(model_name="claude-3-opus", context_window_max=1000, window_size=5))
    assert budget == MessageBudget(5, 1000, "anthropic")


def test_unknown_model_is_invalid_input():
    with pytest.raises(InvalidInput) as caught:
        message_budget(WindowQuery(model_name="llama-9"))
    assert caught.value.problems[0].field == "model_name"


def test_fit_keeps_order_and_the_newest():
    kept, used = fit_messages(messages(10), MessageBudget(4, None, "openai"), None)
    assert [m.content for m in kept] == [f"message number {i}" for i in range(6, 10)]
    assert used == 4 * (3 + 1 + 4)  # "message number N" is 4 tokens (+4 framing)


def test_fit_stops_at_the_first_message_that_does_not_fit():
    kept, used = fit_messages(messages(10), MessageBudget(10, 20, "openai"), None)
    assert len(kept) == 2 and used == 16


def test_summary_reason_for_count_and_tokens(settings):
    settings.SUMMARIZATION_THRESHOLD = 0.5
    assert summary_reason(messages(3), None, MessageBudget(3, None, "openai")) is None
    assert summary_reason(messages(4), None, MessageBudget(3, None, "openai")) == (
        "4 messages exceed the window of 3"
    )
    assert summary_reason(messages(3), None, MessageBudget(10, 48, "openai")) is None
    assert summary_reason(messages(4), None, MessageBudget(10, 48, "openai")) == (
        "32 tokens exceed 24 (50% of 48)"
    )
