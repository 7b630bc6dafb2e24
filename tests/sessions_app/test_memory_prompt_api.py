"""POST /memory-prompt over REST: the same service as the MCP tool."""

from __future__ import annotations


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
