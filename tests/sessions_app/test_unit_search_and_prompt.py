"""Unified search and the memory prompt, called as services on the real Redis and embedder:
how a session's items are matched and ranked, and what a prompt is built from (the HTTP and
MCP tests cover the common shapes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from longterm_app.services import index_records, prepare
from memoryserver.auth.principal import ADMIN, SYSTEM, Principal
from memoryserver.errors import Forbidden
from memoryserver.fields import now
from memoryserver.redis import close_async_clients, get_async_redis
from providers.embeddings import get_embedder
from sessions_app.prompt import MEMORIES_HEADING, MemoryPromptRequest, memory_prompt
from sessions_app.repository import WorkingMemoryStore
from sessions_app.schemas import WindowQuery, WorkingMemoryInput
from sessions_app.services import BackgroundWork, put_working_memory
from sessions_app.unified import UnifiedSearchRequest, unified_search

pytestmark = pytest.mark.anyio

TRIP = {
    "messages": [
        {"id": "m1", "role": "user", "content": "My train to Porto leaves at nine"},
        {"id": "m2", "role": "assistant", "content": "Good evening"},
        {"id": "m3", "role": "user", "content": "Buy tickets for the train to Porto"},
    ],
    "memories": [{"id": "r1", "text": "Alice always takes the train"}],
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the Redis clients are asyncio clients


@dataclass
class Stores:
    sessions: WorkingMemoryStore
    memories: MemoryStore


async def not_queued(*_: Any) -> str:
    raise AssertionError("no chat model is configured, so no summary or extraction may be queued")


async def promotion_not_run(*_: Any) -> str:
    return "not-run"  # promoting structured memories is not what these tests are about


WORK = BackgroundWork(summary=not_queued, promotion=promotion_not_run, extraction=not_queued)


@pytest.fixture
async def stores(redis_client: redis.Redis) -> AsyncIterator[Stores]:
    yield Stores(WorkingMemoryStore(get_async_redis("working")), MemoryStore(get_async_redis("long_term")))
    await close_async_clients()


async def save(stores: Stores, body: dict[str, Any], session_id: str = "trip", **scope: Any) -> None:
    """A session written through the service, as a client's PUT writes it."""
    await put_working_memory(
        stores.sessions,
        SYSTEM,
        session_id,
        WorkingMemoryInput.model_validate(body),
        WindowQuery.model_validate({"window_size": 100, **scope}),
        WORK,
    )


async def remember(stores: Stores, text: str) -> None:
    """A long-term memory, stored as the API stores one."""
    record = prepare(MemoryRecord(text=text), now(), SYSTEM)
    await index_records(stores.memories, get_embedder(), [record])


async def search(stores: Stores, request: dict[str, Any], principal: Principal = SYSTEM):
    return await unified_search(
        stores.sessions,
        stores.memories,
        get_embedder(),
        principal,
        UnifiedSearchRequest.model_validate(request),
    )


async def test_session_items_rank_by_the_share_of_query_words_they_contain(stores):
    await save(stores, TRIP)
    result = await search(stores, {"text": "train Porto tickets", "session": {"session_id": "trip"}})
    ranked = [(hit.kind, hit.id, round(hit.score, 2)) for hit in result.working_memory]
    assert ranked == [("message", "m3", 1.0), ("message", "m1", 0.67), ("memory", "r1", 0.33)]


async def test_session_hits_are_cut_to_the_requests_limit(stores):
    await save(stores, TRIP)
    result = await search(
        stores, {"text": "train Porto tickets", "limit": 2, "session": {"session_id": "trip"}}
    )
    assert [hit.id for hit in result.working_memory] == ["m3", "m1"]


async def test_a_query_of_function_words_alone_matches_no_session_item(stores):
    await save(stores, TRIP)
    result = await search(stores, {"text": "the to for", "session": {"session_id": "trip"}})
    assert result.working_memory == []


async def test_unified_search_never_reads_another_users_session(stores):
    await save(stores, TRIP, user_id="bob")
    ann = Principal(subject="ann", method="token", scopes=frozenset({ADMIN}), user_id="ann")
    with pytest.raises(Forbidden):
        await search(stores, {"text": "train", "session": {"session_id": "trip", "user_id": "bob"}}, ann)
    own = await search(stores, {"text": "train", "session": {"session_id": "trip"}}, ann)
    assert own.working_memory == []  # ann has no session 'trip'; bob's is not hers


async def prompt(stores: Stores, request: dict[str, Any]) -> list[tuple[str, str]]:
    response = await memory_prompt(
        stores.sessions, stores.memories, get_embedder(), SYSTEM, MemoryPromptRequest.model_validate(request)
    )
    return [(message.role, message.content.text) for message in response.messages]


async def test_a_prompt_without_context_or_memories_has_no_system_message(stores):
    await save(stores, {"messages": TRIP["messages"][:2]})
    messages = await prompt(stores, {"query": "When is my train?", "session": {"session_id": "trip"}})
    assert messages == [
        ("user", "My train to Porto leaves at nine"),
        ("assistant", "Good evening"),
        ("user", "When is my train?"),
    ]


async def test_a_prompt_takes_only_the_sessions_window_of_history(stores):
    await save(stores, {"messages": TRIP["messages"], "context": "Alice is travelling."})
    messages = await prompt(
        stores, {"query": "Anything else?", "session": {"session_id": "trip", "window_size": 1}}
    )
    assert messages == [
        ("system", "## Summary of the conversation so far\nAlice is travelling."),
        ("user", "Buy tickets for the train to Porto"),
        ("user", "Anything else?"),
    ]


async def test_a_prompt_with_long_term_search_switched_off_adds_no_memories(stores):
    await remember(stores, "Alice prefers the night train")
    searched = await prompt(stores, {"query": "night train", "long_term_search": True})
    assert searched[0] == ("system", f"{MEMORIES_HEADING}\n- Alice prefers the night train")
    assert await prompt(stores, {"query": "night train", "long_term_search": False}) == [
        ("user", "night train")
    ]
