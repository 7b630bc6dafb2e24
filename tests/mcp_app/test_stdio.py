"""`manage.py mcp --mode stdio` in a subprocess, driven by the official MCP client.

Every tool is called; what it writes lands in Redis and comes back through the REST API,
bad arguments are tool errors (the server keeps serving), and a process bound to a
namespace and user cannot step outside them.
"""

from __future__ import annotations

import pytest
from rq.job import Job

from longterm_app.repository import MemoryStore
from memoryserver import __version__
from sessions_app.repository import doc_key
from sessions_app.schemas import SessionKey
from tests.mcp_app.conftest import stdio_session
from tests.mcp_app.upstream import CONVERSATION, check_upstream_tools

pytestmark = pytest.mark.anyio


async def test_every_tool_round_trips_through_redis_and_rest(api, redis_client, use_test_redis):
    async with stdio_session(use_test_redis) as client:
        assert (client.server_info.name, client.server_info.version) == ("Agent Memory Server", __version__)
        check_upstream_tools((await client.session.list_tools()).tools)
        now = await client.call("get_current_datetime")
        assert now["iso_utc"].endswith("Z") and now["unix_ts"] > 1_700_000_000

        saved = await client.call(
            "set_working_memory",
            session_id="trip",
            messages=CONVERSATION,
            context="The user is planning a holiday.",
            data={"cities": ["Tokyo", "Kyoto"]},
            memories=[{"text": "User wants to see cherry blossoms", "topics": ["travel"]}],
        )
        assert saved["namespace"] == "default" and saved["ttl_seconds"] == 3600
        assert redis_client.exists(doc_key(SessionKey("default", None, "trip")))
        rest = api.get("/sessions/trip/memory").json()
        assert [m["content"] for m in rest["messages"]] == [m["content"] for m in CONVERSATION]
        assert rest["data"] == {"cities": ["Tokyo", "Kyoto"]}

        recent = await client.call("get_working_memory", session_id="trip", recent_messages_limit=1)
        assert [m["content"] for m in recent["messages"]] == [CONVERSATION[-1]["content"]]
        assert recent["context"] == "The user is planning a holiday."

        created = await client.call(
            "create_long_term_memories",
            memories=[
                {"id": "food", "text": "User is vegetarian and loves ramen", "topics": ["food"]},
                {
                    "id": "trip",
                    "text": "User travels to Japan in April 2026",
                    "memory_type": "episodic",
                    "event_date": "2026-04-01T00:00:00Z",
                    "topics": ["travel"],
                    "pinned": False,  # an upstream-only field: accepted and ignored
                },
                {"text": "User's favourite colour is green"},
            ],
        )
        assert created["status"] == "ok" and len(created["stored"]) == 3
        assert redis_client.exists(MemoryStore.key("default", "food"))
        trip = api.get("/long-term-memory/trip").json()
        assert trip["event_date"] == 1775001600.0 and trip["memory_type"] == "episodic"

        found = await client.call("search_long_term_memory", text="What does the user eat?")
        assert found["memories"][0]["id"] == "food" and found["total"] == 3
        for mode in ("keyword", "hybrid"):
            result = await client.call("search_long_term_memory", text="ramen", search_mode=mode)
            assert result["memories"][0]["id"] == "food", mode
        filtered = await client.call(
            "search_long_term_memory",
            text="",
            topics={"field": "topics", "any": ["travel"], "startswith": None},
            event_date={"field": "event_date", "gte": "2026-01-01T00:00:00Z", "inclusive": "both"},
            memory_type={"eq": "episodic", "enum_class": None},
        )
        assert [m["id"] for m in filtered["memories"]] == ["trip"]
        between = await client.call(
            "search_long_term_memory",
            text=None,
            event_date={"between": ["2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"], "inclusive": "right"},
        )
        assert between["total"] == 0  # the start bound is excluded

        memory = await client.call("get_long_term_memory", memory_id="food")
        assert memory["text"] == "User is vegetarian and loves ramen"
        edited = await client.call(
            "edit_long_term_memory",
            memory_id="food",
            text="User is vegan",
            entities=["ramen"],
            event_date="2025-01-01T00:00:00Z",
        )
        assert edited["text"] == "User is vegan"
        stored = api.get("/long-term-memory/food").json()
        assert (stored["entities"], stored["event_date"]) == (["ramen"], 1735689600.0)

        prompt = await client.call(
            "memory_prompt", query="What should I eat in Kyoto?", session_id={"eq": "trip"}, limit=2
        )
        system, *history, last = prompt["messages"]
        assert system["role"] == "system"
        assert "The user is planning a holiday." in system["content"]["text"]
        assert "- User is vegan" in system["content"]["text"]
        assert [m["content"]["text"] for m in history] == [m["content"] for m in CONVERSATION]
        assert last == {"role": "user", "content": {"type": "text", "text": "What should I eat in Kyoto?"}}

        deleted = await client.call("delete_long_term_memories", memory_ids=["trip", "never-was"])
        assert deleted == {"status": "ok", "deleted": 1, "missing": ["never-was"]}
        assert api.get("/long-term-memory/trip").status_code == 404

        queued = await client.call("compact_long_term_memories", namespace="default")
        assert queued["status"] == "queued" and api.get(f"/tasks/{queued['task_id']}").status_code == 200
        assert Job.fetch(queued["task_id"], connection=redis_client).kwargs["dry_run"] is False
        dry = await client.call("compact_long_term_memories", namespace="default", dry_run=True)
        assert Job.fetch(dry["task_id"], connection=redis_client).kwargs["dry_run"] is True
        refused = await client.fail("compact_long_term_memories", session_id="s")
        assert "compaction works per namespace and user" in refused
        unknown = await client.fail("compact_long_term_memories", namespace="default", dryrun=True)
        assert "dryrun: not an argument of compact_long_term_memories" in unknown
        assert "dry_run" in unknown

        first = await client.call(
            "append_working_memory_messages", session_id="trip", messages=[{"role": "user", "content": "One"}]
        )
        appended = await client.call(
            "append_working_memory_messages", session_id="trip", messages=[{"role": "user", "content": "Two"}]
        )
        assert appended["version"] == first["version"] + 1
        assert [m["content"] for m in appended["messages"]][-2:] == ["One", "Two"]


async def test_bad_arguments_are_tool_errors_and_the_server_keeps_serving(api, use_test_redis):
    async with stdio_session(use_test_redis) as client:
        failures = {
            "startswith": await client.fail("search_long_term_memory", text="x", topics={"startswith": "t"}),
            "operator": await client.fail("search_long_term_memory", text="x", user_id={"like": "a%"}),
            "field": await client.fail(
                "search_long_term_memory", text="x", topics={"field": "entities", "eq": "a"}
            ),
            "date": await client.fail("search_long_term_memory", text="x", created_at={"gt": "last tuesday"}),
            "limit": await client.fail("search_long_term_memory", text="x", limit=1000),
            "mode": await client.fail("search_long_term_memory", text="x", search_mode="fuzzy"),
            "no text": await client.fail("create_long_term_memories", memories=[{"topics": ["a"]}]),
            "bad id": await client.fail("create_long_term_memories", memories=[{"id": "a b", "text": "x"}]),
            "role": await client.fail("set_working_memory", session_id="s", messages=[{"role": "bot"}]),
            "strategy": await client.fail(
                "set_working_memory", session_id="s", long_term_memory_strategy={"strategy": "custom"}
            ),
            "missing session": await client.fail("get_working_memory", session_id="nobody"),
            "model": await client.fail("get_working_memory", session_id="s", model_name="gpt-99"),
            "missing memory": await client.fail("get_long_term_memory", memory_id="nope"),
            "pinned": await client.fail("edit_long_term_memory", memory_id="nope", pinned=True),
            "pinned memory": await client.fail(
                "create_long_term_memories", memories=[{"text": "a"}, {"text": "b", "pinned": True}]
            ),
            "pinned session memory": await client.fail(
                "set_working_memory", session_id="s", memories=[{"text": "b", "pinned": True}]
            ),
            "prompt": await client.fail("memory_prompt", query="hi", include_long_term_search=False),
            "prompt session": await client.fail("memory_prompt", query="hi", session_id={"any": ["a", "b"]}),
            "required": await client.fail("get_long_term_memory"),
            "empty edit": await client.fail("edit_long_term_memory", memory_id="nope"),
            "window": await client.fail("get_working_memory", session_id="s", recent_messages_limit=0),
            "long query": await client.fail("memory_prompt", query="word " * 2001),
            "ids": await client.fail("delete_long_term_memories", memory_ids=["fine", "bad id!"]),
            "unknown tool": await client.fail("forget_everything"),
        }
        assert await client.call("get_current_datetime")  # still serving
    expected = {
        "startswith": "topics.startswith: String should have at least 2 characters",
        "operator": "user_id: unsupported operator 'like'; use eq, ne, any, all or startswith",
        "field": "topics.field: is 'entities' but this filter is for 'topics'; omit it",
        "date": "created_at.gt: must be epoch seconds or an ISO-8601 date-time",
        "limit": "limit: Input should be less than or equal to 100",
        "mode": "search_mode: Input should be 'semantic', 'keyword' or 'hybrid'",
        "no text": "memories.0.text: Field required",
        "bad id": "memories.0.id: must be 1-200 characters",
        "role": "messages.0.role: Input should be 'user', 'assistant', 'system' or 'tool'",
        "strategy": "strategy 'custom' needs a custom_prompt",
        "missing session": "No working memory for session 'nobody' in namespace 'default'.",
        "model": "model_name: unknown model 'gpt-99'",
        "missing memory": "No memory 'nope' in namespace 'default'.",
        "pinned": "pinned: pinning memories is not supported",
        "pinned memory": "memories.1.pinned: pinning memories is not supported",
        "pinned session memory": "memories.0.pinned: pinning memories is not supported",
        "prompt": "session_id: give a session_id, or set include_long_term_search to true",
        "prompt session": 'session_id: name the session as {"eq": "<session id>"}',
        "required": "memory_id: Field required",
        "empty edit": "no fields to update",
        "window": "recent_messages_limit: Input should be greater than or equal to 1",
        "long query": "query: has 10005 characters and a long-term search takes at most 10000",
        "ids": "memory_ids.1: must be 1-200 characters",
        "unknown tool": "Unknown tool: forget_everything",
    }
    for case, message in expected.items():
        assert message in failures[case], (case, failures[case])


async def test_a_process_bound_to_a_namespace_and_user_stays_in_them(api, use_test_redis):
    api.post(
        "/long-term-memory", json={"memories": [{"id": "other", "text": "Bob's secret", "namespace": "b"}]}
    )
    async with stdio_session(use_test_redis, "--namespace", "team-a", "--user-id", "alice") as client:
        created = await client.call(
            "create_long_term_memories", memories=[{"id": "mine", "text": "Alice likes tea"}]
        )
        assert created["stored"] == ["mine"]
        await client.call("set_working_memory", session_id="s1", messages=CONVERSATION[:1])
        found = await client.call("search_long_term_memory", text="secret")
        assert [m["id"] for m in found["memories"]] == ["mine"]
        refused = [
            await client.fail("get_long_term_memory", memory_id="other", namespace="b"),
            await client.fail("search_long_term_memory", text="secret", namespace={"eq": "b"}),
            await client.fail("create_long_term_memories", memories=[{"text": "x", "namespace": "b"}]),
            await client.fail("create_long_term_memories", memories=[{"text": "x", "user_id": "bob"}]),
            await client.fail("set_working_memory", session_id="s2", namespace="b"),
            await client.fail("get_working_memory", session_id="s1", user_id="bob"),
            await client.fail("delete_long_term_memories", memory_ids=["other"], namespace="b"),
        ]
    assert all("outside this caller's namespaces" in m or "is not this caller's user" in m for m in refused)
    mine = api.get("/long-term-memory/mine", params={"namespace": "team-a"}).json()
    assert (mine["namespace"], mine["user_id"]) == ("team-a", "alice")
    session = api.get("/sessions/s1/memory", params={"namespace": "team-a", "user_id": "alice"})
    assert session.status_code == 200
    assert api.get("/long-term-memory/other", params={"namespace": "b"}).status_code == 200
