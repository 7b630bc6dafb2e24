"""The SSE (/sse) and streamable-HTTP (/mcp) transports, served by uvicorn, behind the REST auth."""

from __future__ import annotations

import io

import httpx
import pytest
from django.core.management import call_command

from tests.mcp_app.conftest import HTTP_MODES, http_session
from tests.mcp_app.upstream import CONVERSATION, check_upstream_tools

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("mode", HTTP_MODES)]

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "0"},
    },
}


def add_token(*options: str) -> str:
    out = io.StringIO()
    call_command("token", "add", *options, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


async def open_without_mcp(url: str, mode: str, token: str | None = None) -> httpx.Response:
    """The transport's first request, made by hand, to see the HTTP answer itself."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as http:
        if mode == "sse":
            return await http.get("/sse")
        return await http.post(
            "/mcp", json=INITIALIZE, headers={"Accept": "application/json, text/event-stream"}
        )


async def test_tools_round_trip_over_http(api, redis_client, mcp_urls, mode):
    async with http_session(mcp_urls[mode], mode) as client:
        check_upstream_tools((await client.session.list_tools()).tools)
        await client.call("set_working_memory", session_id="web", messages=CONVERSATION, context="A trip.")
        assert len(api.get("/sessions/web/memory").json()["messages"]) == 3
        created = await client.call(
            "create_long_term_memories",
            memories=[{"id": "tea", "text": "User drinks green tea every morning"}],
        )
        assert created["stored"] == ["tea"]
        assert api.get("/long-term-memory/tea").json()["text"] == "User drinks green tea every morning"
        found = await client.call("search_long_term_memory", text="morning drink")
        assert [m["id"] for m in found["memories"]] == ["tea"]
        prompt = await client.call("memory_prompt", query="Tea?", session_id={"eq": "web"})
        assert "- User drinks green tea every morning" in prompt["messages"][0]["content"]["text"]
        assert len(prompt["messages"]) == 5
        prefixed = await client.call("search_long_term_memory", text="tea", topics={"startswith": "dri"})
        assert prefixed["memories"] == []  # "tea" has no topics: the prefix filter applied
        assert (await client.call("get_long_term_memory", memory_id="tea"))["id"] == "tea"


async def test_http_transports_need_a_valid_token_in_token_mode(api, settings, mcp_urls, mode):
    settings.AUTH_MODE = "token"
    url = mcp_urls[mode]
    missing = await open_without_mcp(url, mode)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert missing.json() == {"detail": "Invalid token: Missing authorization header", "status_code": 401}
    unknown = await open_without_mcp(url, mode, token="ams_made-up")
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "Invalid token: unknown or revoked API token"

    async with http_session(url, mode, add_token("--description", "ide")) as client:
        await client.call("set_working_memory", session_id="s", messages=CONVERSATION[:1])
    async with http_session(url, mode, add_token("--scope", "memory:read")) as client:
        assert (await client.call("get_working_memory", session_id="s"))["session_id"] == "s"
        refused = await client.fail("set_working_memory", session_id="s")
        assert refused == "This operation needs the 'memory:write' scope."


async def test_a_namespace_bound_token_stays_in_its_namespace(api, settings, mcp_urls, mode):
    settings.AUTH_MODE = "token"
    api.post("/long-term-memory", json={"memories": [{"id": "b1", "text": "in b", "namespace": "b"}]})
    async with http_session(mcp_urls[mode], mode, add_token("--namespace", "a")) as client:
        await client.call("create_long_term_memories", memories=[{"id": "a1", "text": "in a"}])
        found = await client.call("search_long_term_memory", text="")
        assert [m["id"] for m in found["memories"]] == ["a1"]
        refused = await client.fail("get_long_term_memory", memory_id="b1", namespace="b")
        assert refused == "Namespace 'b' is outside this caller's namespaces."
    settings.AUTH_MODE = "disabled"
    assert api.get("/long-term-memory/a1", params={"namespace": "a"}).status_code == 200
