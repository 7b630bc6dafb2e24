"""POST /memory-prompt over REST: the same service as the MCP tool."""

from __future__ import annotations

import pytest


def test_prompt_has_summary_memories_history_then_query(api):
    api.put(
        "/sessions/chat/memory",
        json={
            "context": "Alice is planning a trip.",
            "messages": [
                {"role": "user", "content": "I want to visit Portugal"},
                {"role": "assistant", "content": "Lisbon or Porto?"},
            ],
        },
    )
    api.post(
        "/long-term-memory", json={"memories": [{"text": "Alice is vegetarian"}, {"text": "Tax is due"}]}
    )
    response = api.post(
        "/memory-prompt",
        json={
            "query": "What should I eat in Lisbon?",
            "session": {"session_id": "chat", "window_size": 10},
            "long_term_search": {"text": "vegetarian food", "limit": 1},
        },
    )
    assert response.status_code == 200, response.text
    messages = response.json()["messages"]
    system = messages[0]["content"]["text"]
    assert messages[0]["role"] == "system" and "Alice is planning a trip." in system
    assert "- Alice is vegetarian" in system and "Tax is due" not in system
    assert [m["content"]["text"] for m in messages[1:]] == [
        "I want to visit Portugal",
        "Lisbon or Porto?",
        "What should I eat in Lisbon?",
    ]
    assert response.json()["long_term_memories"][0]["text"] == "Alice is vegetarian"


@pytest.mark.parametrize("path", ["/memory-prompt", "/v1/memory/prompt"])
def test_a_sessions_prompt_recalls_only_its_owners_memories(api, path):
    session = {"session_id": "chat", "namespace": "app", "user_id": "alice"}
    api.post(
        "/long-term-memory",
        json={
            "memories": [
                {"text": "Alice books hotels near the beach", "namespace": "app", "user_id": "alice"},
                {"text": "Bob books hotels near the station", "namespace": "app", "user_id": "bob"},
                {"text": "Alice books hotels with a pool", "namespace": "other", "user_id": "alice"},
            ]
        },
    )
    for search in (True, {"text": "hotels"}):
        response = api.post(
            path, json={"query": "Which hotel should I book?", "session": session, "long_term_search": search}
        )
        assert response.status_code == 200, response.text
        system = response.json()["messages"][0]["content"]["text"]
        assert "near the beach" in system and "station" not in system and "pool" not in system
    # A search that names other owners gets them.
    named = {"text": "hotels", "namespace": {"eq": "other"}, "user_id": {"eq": "alice"}}
    response = api.post(path, json={"query": "Which hotel?", "session": session, "long_term_search": named})
    system = response.json()["messages"][0]["content"]["text"]
    assert "pool" in system and "beach" not in system


@pytest.mark.parametrize("path", ["/memory-prompt", "/v1/memory/prompt"])
@pytest.mark.parametrize(
    ("search", "field", "words"),
    [
        ({"limit": 0}, "long_term_search.limit", "greater than or equal to 1"),
        ({"text": "x", "limit": "many"}, "long_term_search.limit", "valid integer"),
        (3, "long_term_search", "must be an object or a boolean"),
        ([], "long_term_search", "must be an object or a boolean"),
    ],
)
def test_a_bad_long_term_search_is_named_once_by_its_own_path(api, path, search, field, words):
    response = api.post(path, json={"query": "q", "long_term_search": search})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == field and words in error["message"]


@pytest.mark.parametrize("path", ["/memory-prompt", "/v1/memory/prompt"])
@pytest.mark.parametrize("search", [True, {"limit": 3}])
def test_a_query_too_long_to_search_with_is_refused_by_name(api, path, search):
    response = api.post(path, json={"query": "word " * 2001, "long_term_search": search})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "query" and "a long-term search takes at most 10000" in error["message"]
    # A search with a text of its own, or none, leaves the query's length alone.
    alone = api.post(path, json={"query": "word " * 2001, "session": {"session_id": "s"}})
    assert alone.status_code == 200


def test_bad_prompt_requests_are_4xx(api):
    assert api.post("/memory-prompt", json={}).status_code == 422
    unknown_model = api.post(
        "/memory-prompt", json={"query": "q", "session": {"session_id": "s", "model_name": "nope"}}
    )
    assert unknown_model.status_code == 422 and "model_name" in unknown_model.text
    assert (
        api.post("/memory-prompt", content=b"{", headers={"content-type": "application/json"}).status_code
        == 400
    )


def test_missing_session_contributes_nothing(api):
    response = api.post("/memory-prompt", json={"query": "hello", "session": {"session_id": "none"}})
    assert response.json()["messages"] == [{"role": "user", "content": {"type": "text", "text": "hello"}}]


def test_unified_search_covers_the_session_and_long_term_memory(api):
    api.put(
        "/sessions/chat/memory",
        params={"user_id": "alice"},
        json={
            "messages": [
                {"id": "m1", "role": "user", "content": "My train to Porto leaves at nine"},
                {"id": "m2", "role": "assistant", "content": "Noted, have a good evening"},
            ],
            "memories": [{"id": "wm1", "text": "Alice takes the train, never flights"}],
        },
    )
    api.post(
        "/long-term-memory",
        json={"memories": [{"id": "lt1", "text": "Alice lives in Lisbon", "user_id": "alice"}]},
    )
    response = api.post(
        "/memory-search",
        json={
            "text": "train to Porto",
            "user_id": {"eq": "alice"},
            "session": {"session_id": "chat", "user_id": "alice"},
        },
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert [m["id"] for m in result["long_term"]["memories"]] == ["lt1"]
    working = result["working_memory"]
    assert [(hit["kind"], hit["id"]) for hit in working] == [("message", "m1"), ("memory", "wm1")]
    assert working[0]["score"] == 1.0 and working[0]["role"] == "user"


def test_unified_search_without_a_session_or_with_a_missing_one(api):
    assert api.post("/memory-search", json={"text": "x"}).json()["working_memory"] == []
    missing = api.post("/memory-search", json={"text": "x", "session": {"session_id": "none"}})
    assert missing.status_code == 200 and missing.json()["working_memory"] == []
    assert api.post("/memory-search", json={"session": {"session_id": "bad id"}}).status_code == 422
