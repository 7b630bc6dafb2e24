"""MCP tools: memory ids are per owner, so another user's id looks like a free one."""

from __future__ import annotations

import pytest

from tests.mcp_app.conftest import http_session, text_of
from tests.mcp_app.test_http import add_token

pytestmark = pytest.mark.anyio


async def _answers(client, memory_id: str) -> list[tuple[bool, str]]:
    calls = [
        await client.raw("get_long_term_memory", memory_id=memory_id, namespace="team"),
        await client.raw("edit_long_term_memory", memory_id=memory_id, namespace="team", topics=["x"]),
        await client.raw("delete_long_term_memories", memory_ids=[memory_id], namespace="team"),
        await client.raw(
            "create_long_term_memories",
            memories=[{"id": memory_id, "text": f"u1 notes {memory_id}", "namespace": "team"}],
        ),
    ]
    return [(result.isError, text_of(result).replace(memory_id, "<id>")) for result in calls]


async def test_another_users_id_answers_as_a_free_one(api, settings, mcp_urls):
    mode = "streamable-http"
    memories = [
        {"id": "pref", "text": "u1 prefers tea", "namespace": "team", "user_id": "u1"},
        {"id": "pref", "text": "u2 prefers coffee", "namespace": "team", "user_id": "u2"},
    ]
    for memory in memories:
        assert api.post("/long-term-memory", json={"memories": [memory]}).status_code == 200
    settings.AUTH_MODE = "token"
    u2 = add_token("--namespace", "team", "--user-id", "u2")
    async with http_session(mcp_urls[mode], mode, u2) as client:
        found = await client.call("get_long_term_memory", memory_id="pref", namespace="team")
        assert found["text"] == "u2 prefers coffee"
    u1 = add_token("--namespace", "team", "--user-id", "u1")
    async with http_session(mcp_urls[mode], mode, u1) as client:
        await client.call("delete_long_term_memories", memory_ids=["pref"], namespace="team")
        assert await _answers(client, "pref") == await _answers(client, "nobody-has-it")
    async with http_session(mcp_urls[mode], mode, add_token()) as client:
        refused = await client.fail("get_long_term_memory", memory_id="pref", namespace="team")
        assert "name the user_id" in refused  # u2's and u1's new 'pref'
        mine = await client.call("get_long_term_memory", memory_id="pref", namespace="team", user_id="u2")
        assert mine["text"] == "u2 prefers coffee"
        # An edit names the owner apart from `user_id`, which would give the memory away.
        assert "name the user_id" in await client.fail(
            "edit_long_term_memory", memory_id="pref", namespace="team", topics=["drinks"]
        )
        edited = await client.call(
            "edit_long_term_memory", memory_id="pref", namespace="team", owner_user_id="u2", topics=["drinks"]
        )
        assert (edited["user_id"], edited["topics"]) == ("u2", ["drinks"])
