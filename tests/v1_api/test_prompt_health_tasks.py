"""/v1/memory/prompt, /v1/health, /v1/tasks, errors and authentication of the /v1 routes."""

from __future__ import annotations

import time

from memoryserver.auth.api_tokens import create_token
from tests.auth.conftest import bearer
from tests.helpers import conversation
from tests.v1_api.contract import checked, component, validate

PROMPT = "/v1/memory/prompt"


def setup_memories(api):
    memories = [
        {"id": "hike", "text": "User loves hiking in the Alps", "user_id": "u1", "session_id": "s1"},
        {"id": "tea", "text": "User drinks green tea every morning", "user_id": "u1", "session_id": "old"},
        {"id": "other", "text": "Someone else loves hiking too", "user_id": "u2", "session_id": "old"},
    ]
    assert api.post("/v1/long-term-memory", json={"memories": memories}).status_code == 200
    body = {"messages": conversation(3), "context": "They talked about holidays."}
    assert api.put("/v1/working-memory/s1", json=body, params={"user_id": "u1"}).status_code == 200


def test_prompt_with_a_session_and_a_search(api):
    setup_memories(api)
    body = {
        "query": "Where should I go hiking?",
        "session": {
            "session_id": "s1",
            "user_id": "u1",
            "model_name": "gpt-4o",
            "context_window_max": "4000",
        },
        "long_term_search": {"text": "ignored: the query is searched", "limit": 5},
    }
    result = checked(api.post(PROMPT, json=body), "post", PROMPT)
    messages = result["messages"]
    assert all(m["content"]["type"] == "text" for m in messages)
    assert messages[0]["role"] == "system" and "holidays" in messages[0]["content"]["text"]
    assert "hiking in the Alps" in messages[0]["content"]["text"]
    assert [m["content"]["text"] for m in messages[1:4]] == [m["content"] for m in conversation(3)]
    assert messages[-1] == {"role": "user", "content": {"type": "text", "text": "Where should I go hiking?"}}
    found = {memory["id"] for memory in result["long_term_memories"]}
    assert "hike" in found and "other" not in found  # the session's user is added as a filter


def test_prompt_with_search_true_leaves_out_the_sessions_own_memories(api):
    setup_memories(api)
    body = {"query": "hiking", "session": {"session_id": "s1", "user_id": "u1"}, "long_term_search": True}
    result = checked(api.post(PROMPT, json=body), "post", PROMPT)
    assert {memory["id"] for memory in result["long_term_memories"]} == {"tea"}


def test_prompt_without_memories_found_has_null_long_term_memories(api):
    body = {"query": "anything", "session": {"session_id": "none-yet"}}
    result = checked(api.post(PROMPT, json=body), "post", PROMPT)
    assert result["long_term_memories"] is None
    assert result["messages"] == [{"role": "user", "content": {"type": "text", "text": "anything"}}]


def test_prompt_needs_a_session_or_a_search(api):
    response = api.post(PROMPT, json={"query": "x"})
    assert checked(response, "post", PROMPT, status=422)["detail"][0]["loc"] == ["session"]


def test_prompt_with_an_unknown_model_warns(api):
    body = {"query": "x", "session": {"session_id": "s9", "model_name": "mystery-model"}}
    response = api.post(PROMPT, json=body)
    assert response.status_code == 200 and "mystery-model" in response.headers["warning"]


def test_health_reports_milliseconds_and_the_seed_path_seconds(api):
    now = checked(api.get("/v1/health"), "get", "/v1/health")["now"]
    assert abs(now - time.time() * 1000) < 5000
    assert abs(api.get("/health").json()["now"] - time.time()) < 5


def test_an_unknown_task_is_a_404(api):
    response = api.get("/v1/tasks/no-such-task")
    assert response.status_code == 404 and "no-such-task" in response.json()["detail"]


def test_unknown_v1_paths_are_json_404s(api):
    response = api.get("/v1/nothing")
    assert response.status_code == 404 and response.json()["detail"]


def test_malformed_json_is_a_400_with_a_message(api):
    response = api.put("/v1/working-memory/s", content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400 and isinstance(response.json()["detail"], str)


def token(redis_client, scope: str, **binding) -> dict[str, str]:
    secret, _ = create_token(redis_client, "v1 test", [scope], **binding)
    return bearer(secret)


def test_the_v1_routes_use_the_same_authentication(api, settings, redis_client):
    settings.AUTH_MODE = "token"
    assert api.get("/v1/health").status_code == 200  # public, as upstream
    refused = api.get("/v1/working-memory/")
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert isinstance(refused.json()["detail"], str)
    reader = token(redis_client, "memory:read")
    assert api.get("/v1/working-memory/", headers=reader).status_code == 200
    assert api.post("/v1/long-term-memory/search", json={"text": "x"}, headers=reader).status_code == 200
    denied = api.put("/v1/working-memory/s", json={}, headers=reader)
    assert denied.status_code == 403 and "memory:write" in denied.json()["detail"]
    forget = api.post("/v1/long-term-memory/forget", json={"policy": {}}, headers=reader)
    assert forget.status_code == 403


def test_a_bound_caller_stays_in_its_namespace(api, settings, redis_client):
    settings.AUTH_MODE = "token"
    headers = token(redis_client, "memory:admin", namespaces=["team"], user_id="u1")
    body = {
        "memories": [{"id": "mine", "text": "Mine"}, {"id": "theirs", "text": "Theirs", "namespace": "other"}]
    }
    assert api.post("/v1/long-term-memory", json=body, headers=headers).status_code == 403
    assert (
        api.post(
            "/v1/long-term-memory", json={"memories": [body["memories"][0]]}, headers=headers
        ).status_code
        == 200
    )
    record = api.get("/v1/long-term-memory/mine", headers=headers).json()
    assert (record["namespace"], record["user_id"]) == ("team", "u1")
    views = api.get("/v1/summary-views", headers=headers)
    assert views.status_code == 403 and "bound" in views.json()["detail"]
    validate(api.get("/v1/working-memory/", headers=headers).json(), component("SessionListResponse"))
