"""The memory-prompt service (sessions_app.prompt), on the real Redis and embedding model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from longterm_app.repository import MemoryStore
from longterm_app.schemas import SearchRequest
from memoryserver.auth.principal import ANONYMOUS_DEVELOPER, Principal
from memoryserver.errors import Forbidden, InvalidInput
from memoryserver.redis import close_async_clients, get_async_redis
from memoryserver.tokens import count_message
from providers.embeddings import get_embedder
from sessions_app.prompt import MemoryPromptRequest, MemoryPromptResponse, PromptSession, memory_prompt
from sessions_app.repository import WorkingMemoryStore

pytestmark = pytest.mark.anyio

HISTORY = [
    {"role": "user", "content": f"message {i} " + "about the garden and its roses " * 5} for i in range(6)
] + [{"role": "tool", "content": "weather: sunny"}]


@pytest.fixture
async def stores(api) -> AsyncIterator[tuple[WorkingMemoryStore, MemoryStore]]:
    """Stores on this test's event loop, over a Redis holding one session and two memories."""
    api.put("/sessions/garden/memory", json={"messages": HISTORY, "context": "We talked about roses."})
    memories = [
        {"id": "roses", "text": "User grows red roses on the balcony"},
        {"id": "cats", "text": "User has two cats"},
    ]
    api.post("/long-term-memory", json={"memories": memories})
    yield WorkingMemoryStore(get_async_redis("working")), MemoryStore(get_async_redis("long_term"))
    await close_async_clients()


async def prompt(stores, request: dict, principal: Principal = ANONYMOUS_DEVELOPER) -> MemoryPromptResponse:
    sessions, memories = stores
    return await memory_prompt(
        sessions, memories, get_embedder(), principal, MemoryPromptRequest.model_validate(request)
    )


def texts(response: MemoryPromptResponse) -> list[tuple[str, str]]:
    return [(m.role, m.content.text) for m in response.messages]


async def test_system_context_then_history_then_the_query(stores):
    response = await prompt(
        stores,
        {"query": "How are my roses?", "session": {"session_id": "garden"}, "long_term_search": {"limit": 1}},
    )
    (role, system), *history, last = texts(response)
    assert role == "system"
    assert system == (
        "## Summary of the conversation so far\nWe talked about roses.\n\n"
        "## Long-term memories relevant to the user's query\n- User grows red roses on the balcony"
    )
    assert [m.id for m in response.long_term_memories] == ["roses"]
    assert history[:-1] == [("user", m["content"]) for m in HISTORY[:-1]]
    assert history[-1] == ("assistant", "Tool output: weather: sunny")
    assert last == ("user", "How are my roses?")


async def test_history_fits_the_budget_left_by_memories_and_query(stores):
    budget = 120
    response = await prompt(
        stores,
        {
            "query": "How are my roses?",
            "session": {"session_id": "garden", "context_window_max": budget},
            "long_term_search": True,
        },
    )
    (_, system), *history, _ = texts(response)
    assert 0 < len(history) < len(HISTORY)
    assert history[-1][1].startswith("Tool output")  # the newest are kept
    used = sum(count_message(text) for text in (system, *(text for _, text in history), "How are my roses?"))
    assert budget - count_message(history[0][1]) < used <= budget


async def test_a_missing_session_adds_nothing(stores):
    response = await prompt(stores, {"query": "Hello", "session": {"session_id": "never"}})
    assert texts(response) == [("user", "Hello")]


async def test_the_search_text_defaults_to_the_query(stores):
    search = SearchRequest(text="", limit=1)
    response = await prompt(stores, {"query": "pets at home", "long_term_search": search.model_dump()})
    assert [m.id for m in response.long_term_memories] == ["cats"]


async def test_tenant_checks_and_unknown_models_fail(stores):
    bound = Principal(subject="t", method="token", namespaces=frozenset({"other"}))
    with pytest.raises(Forbidden):
        await prompt(
            stores, {"query": "q", "session": {"session_id": "garden", "namespace": "default"}}, bound
        )
    with pytest.raises(InvalidInput, match="unknown model"):
        await prompt(
            stores, {"query": "q", "session": PromptSession(session_id="garden", model_name="gpt-99")}
        )
