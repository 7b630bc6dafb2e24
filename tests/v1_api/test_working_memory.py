"""/v1/working-memory: list, get, put, delete in the upstream shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.v1_api.contract import assert_complete, checked

PATH = "/v1/working-memory/{session_id}"
NOW = datetime.now(UTC).replace(microsecond=0)


def put(api, session_id, body, **params):
    response = api.put(f"/v1/working-memory/{session_id}", json=body, params=params)
    return checked(response, "put", PATH)


def test_put_then_get_round_trips_in_the_upstream_shape(api):
    body = {
        "messages": [
            {"role": "user", "content": "Hello", "id": "m1", "created_at": NOW.isoformat()},
            {"role": "assistant", "content": "Hi there", "id": "m2", "created_at": NOW.isoformat()},
        ],
        "memories": [{"id": "mem-1", "text": "User prefers direct communication", "memory_type": "semantic"}],
        "context": "Earlier: greetings",
        "data": {"theme": "dark"},
        "namespace": "chat",
    }
    stored = put(api, "s1", body, user_id="alice")
    assert_complete(stored, "WorkingMemoryResponse")
    assert stored["session_id"] == "s1" and stored["namespace"] == "chat" and stored["user_id"] == "alice"
    assert stored["context_percentage_total_used"] is None  # no model named
    got = checked(
        api.get("/v1/working-memory/s1", params={"namespace": "chat", "user_id": "alice"}), "get", PATH
    )
    assert_complete(got, "WorkingMemoryResponse")
    assert [m["content"] for m in got["messages"]] == ["Hello", "Hi there"]
    assert datetime.fromisoformat(got["messages"][0]["created_at"]) == NOW
    assert_complete(got["memories"][0], "MemoryRecord")
    assert got["memories"][0]["memory_type"] == "semantic" and got["data"] == {"theme": "dark"}
