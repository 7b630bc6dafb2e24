"""The published `agent-memory-client` (0.14.0, requirements/dev.txt) against this server.

The client runs unchanged over real HTTP: its own URLs, parameters, bodies and models.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from agent_memory_client import MemoryAPIClient, MemoryClientConfig, __version__
from agent_memory_client.exceptions import MemoryNotFoundError, MemoryServerError
from agent_memory_client.filters import CreatedAt, Entities, MemoryType, Namespace, SessionId, Topics, UserId
from agent_memory_client.models import (
    ClientMemoryRecord,
    CreateSummaryViewRequest,
    ForgetPolicy,
    MemoryMessage,
    WorkingMemory,
)

Scenario = Callable[[MemoryAPIClient], Awaitable[Any]]
# The client's own get_or_create_working_memory calls the get_working_memory it deprecates.
pytestmark = pytest.mark.filterwarnings("ignore:get_working_memory is deprecated:DeprecationWarning")


def test_the_pinned_client_version():
    assert __version__ == "0.14.0"


@pytest.fixture
def run(api, live_server_url) -> Callable[[Scenario], Any]:
    """Run a scenario with a client of the live server (default namespace 'app')."""

    async def with_client(scenario: Scenario) -> Any:
        config = MemoryClientConfig(base_url=live_server_url, default_namespace="app", timeout=30)
        async with MemoryAPIClient(config) as client:
            return await scenario(client)

    return lambda scenario: asyncio.run(with_client(scenario))


def message(role: str, content: str) -> MemoryMessage:
    return MemoryMessage(role=role, content=content, created_at=datetime.now(UTC))


def test_health(run):
    health = run(lambda client: client.health_check())
    assert abs(health.now / 1000 - datetime.now(UTC).timestamp()) < 5


def test_working_memory_create_get_put_and_delete(run):
    async def scenario(client: MemoryAPIClient) -> None:
        created, memory = await client.get_or_create_working_memory(
            "chat-1", user_id="ana", model_name="gpt-4o"
        )
        assert created is True and memory.messages == [] and memory.namespace == "app"
        again, _ = await client.get_or_create_working_memory("chat-1", user_id="ana")
        assert again is False

        updated = WorkingMemory(
            session_id="chat-1",
            namespace="app",
            user_id="ana",
            messages=[message("user", "I am planning a trip to Kyoto"), message("assistant", "When?")],
            memories=[ClientMemoryRecord(text="Ana is planning a trip to Kyoto", topics=["travel"])],
            data={"destination": "Kyoto"},
        )
        stored = await client.put_working_memory("chat-1", updated, user_id="ana", model_name="gpt-4o-mini")
        assert [m.content for m in stored.messages] == ["I am planning a trip to Kyoto", "When?"]
        assert stored.context_percentage_total_used is not None and stored.context_percentage_total_used > 0

        await client.append_messages_to_working_memory("chat-1", [message("user", "In April")], user_id="ana")
        _, memory = await client.get_or_create_working_memory("chat-1", user_id="ana")
        assert [m.content for m in memory.messages][-1] == "In April" and len(memory.messages) == 3
        assert memory.data == {"destination": "Kyoto"} and memory.memories[0].topics == ["travel"]

        await client.set_working_memory_data("chat-2", {"theme": "dark"})
        listed = await client.list_sessions(namespace="app")
        assert set(listed.sessions) == {"chat-1", "chat-2"} and listed.total == 2

        assert (await client.delete_working_memory("chat-1", user_id="ana")).status == "ok"
        with pytest.raises(MemoryNotFoundError):
            await client.get_working_memory("chat-1", user_id="ana")

    run(scenario)


def test_long_term_memory_search_with_filters(run):
    async def scenario(client: MemoryAPIClient) -> None:
        kyoto = "Ana loves the temples of Kyoto"
        records = [
            ClientMemoryRecord(id="kyoto", text=kyoto, topics=["travel"], entities=["Kyoto"], user_id="ana",
                               session_id="chat-1", memory_type="semantic"),
            ClientMemoryRecord(id="ramen", text="Ana's favourite food is ramen", topics=["food"],
                               user_id="ana", session_id="chat-2", memory_type="episodic"),
            ClientMemoryRecord(id="bob", text="Bob travels to Kyoto every spring", topics=["travel"],
                               entities=["Kyoto"], user_id="bob", memory_type="semantic"),
        ]  # fmt: skip
        assert (await client.create_long_term_memory(records)).status == "ok"

        found = await client.search_long_term_memory("temples in Japan", user_id=UserId(eq="ana"))
        assert found.memories[0].id == "kyoto" and found.total == 2
        assert all(0 <= m.dist <= 1 for m in found.memories)

        filtered = await client.search_long_term_memory(
            "travel",
            topics=Topics(any=["travel"]),
            entities=Entities(all=["Kyoto"]),
            user_id=UserId(not_in=["bob"]),
            namespace=Namespace(in_=["app", "other"]),
            session_id=SessionId(not_eq="chat-9"),
            memory_type=MemoryType(eq="semantic"),
            created_at=CreatedAt(gte=datetime.now(UTC) - timedelta(hours=1)),
        )
        assert [m.id for m in filtered.memories] == ["kyoto"]
        no_food = await client.search_long_term_memory("Ana", topics=Topics(none=["food"]), limit=5)
        assert {m.id for m in no_food.memories} == {"kyoto", "bob"}
        paged = await client.search_long_term_memory("Kyoto", limit=1, offset=0)
        assert len(paged.memories) == 1 and paged.next_offset == 1

        memory = await client.get_long_term_memory("ramen")
        assert memory.text == "Ana's favourite food is ramen" and memory.namespace == "app"
        edited = await client.edit_long_term_memory("ramen", {"text": "Ana's favourite food is udon"})
        assert edited.text == "Ana's favourite food is udon"

        assert (await client.delete_long_term_memories(["ramen", "bob"])).status == "ok, deleted 2 memories"
        with pytest.raises(MemoryNotFoundError):
            await client.get_long_term_memory("ramen")

    run(scenario)


def test_memory_prompt(run):
    async def scenario(client: MemoryAPIClient) -> dict[str, Any]:
        await client.create_long_term_memory(
            [ClientMemoryRecord(text="Ana is allergic to peanuts", user_id="ana", memory_type="semantic")]
        )
        await client.put_working_memory(
            "chat-3",
            WorkingMemory(session_id="chat-3", messages=[message("user", "Suggest a snack")], user_id="ana"),
            user_id="ana",
        )
        return await client.memory_prompt(
            "What snack should Ana take?",
            session_id="chat-3",
            user_id="ana",
            model_name="gpt-4o",
            context_window_max=8000,
            long_term_search={"limit": 3, "topics": {"none": ["nothing"]}},
        )

    prompt = run(scenario)
    texts = [m["content"]["text"] for m in prompt["messages"]]
    assert (
        "peanuts" in texts[0] and texts[1] == "Suggest a snack" and texts[-1] == "What snack should Ana take?"
    )
    assert [m["content"]["type"] for m in prompt["messages"]] == ["text"] * len(texts)
    assert prompt["long_term_memories"][0]["text"] == "Ana is allergic to peanuts"


def test_forget_and_summary_views(run, chat_model):
    async def scenario(client: MemoryAPIClient) -> None:
        old = datetime.now(UTC) - timedelta(days=90)
        await client.create_long_term_memory(
            [
                ClientMemoryRecord(
                    id="old", text="An old note", user_id="ana", created_at=old, last_accessed=old
                ),
                ClientMemoryRecord(id="new", text="A new note", user_id="ana"),
            ]
        )
        policy = ForgetPolicy(max_age_days=30)
        preview = await client.forget_long_term_memories(policy, namespace="app", dry_run=True)
        assert preview.dry_run is True and preview.deleted_ids == ["old"]
        forgotten = await client.forget_long_term_memories(policy, namespace="app")
        assert forgotten.dry_run is False and forgotten.deleted == 1

        view = await client.create_summary_view(
            CreateSummaryViewRequest(source="long_term", group_by=["user_id"])
        )
        assert [v.id for v in await client.list_summary_views()] == [view.id]
        result = await client.run_summary_view_partition(view.id, {"user_id": "ana"})
        assert result.memory_count == 1 and result.summary == "OK"  # the fake model's default answer
        task = await client.run_summary_view(view.id)
        assert task.type == "summary_view_full_run" and (await client.get_task(task.id)).status == "success"
        partitions = await client.list_summary_view_partitions(view.id, user_id="ana")
        assert [p.group for p in partitions] == [{"user_id": "ana"}]
        assert await client.get_task("unknown") is None
        assert (await client.delete_summary_view(view.id)).status == "ok"
        assert await client.get_summary_view(view.id) is None

    run(scenario)


def test_server_errors_reach_the_client_with_their_message(run):
    async def scenario(client: MemoryAPIClient) -> None:
        with pytest.raises(MemoryServerError, match="pinning"):
            await client.edit_long_term_memory("x", {"pinned": True})

    run(scenario)
