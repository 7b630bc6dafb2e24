"""/v1/working-memory: list, get, put, delete in the upstream shapes, over real HTTP and Redis."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fake_openai import Reply
from tests.helpers import conversation
from tests.v1_api.contract import assert_complete, checked, component, validate

PATH = "/v1/working-memory/{session_id}"
NOW = datetime.now(UTC).replace(microsecond=0)


def put(api, session_id, body, **params):
    return checked(api.put(f"/v1/working-memory/{session_id}", json=body, params=params), "put", PATH)


def get(api, session_id, **params):
    return checked(api.get(f"/v1/working-memory/{session_id}", params=params), "get", PATH)


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
    assert (stored["session_id"], stored["namespace"], stored["user_id"]) == ("s1", "chat", "alice")
    assert stored["context_percentage_total_used"] is None  # no model named, as upstream
    assert stored["long_term_memory_strategy"] == {"strategy": "discrete", "config": {}}
    got = get(api, "s1", namespace="chat", user_id="alice")
    assert_complete(got, "WorkingMemoryResponse")
    assert [m["content"] for m in got["messages"]] == ["Hello", "Hi there"]
    assert datetime.fromisoformat(got["messages"][0]["created_at"]) == NOW
    assert_complete(got["messages"][0], "MemoryMessage")
    assert_complete(got["memories"][0], "MemoryRecord")
    assert got["memories"][0]["memory_type"] == "semantic" and got["data"] == {"theme": "dark"}
    assert got["context"] == "Earlier: greetings"


def test_a_missing_session_is_a_404_with_a_detail(api):
    response = api.get("/v1/working-memory/nobody", params={"namespace": "chat"})
    assert response.status_code == 404
    assert "nobody" in response.json()["detail"]


def test_put_is_a_full_replace_that_ignores_computed_and_unknown_fields(api):
    put(api, "s2", {"messages": conversation(2), "memories": [{"text": "User likes tea"}], "data": {"a": 1}})
    replaced = put(
        api,
        "s2",
        {
            "messages": conversation(1, prefix="again"),
            "session_id": "s2",
            "tokens": 999,
            "context_percentage_total_used": 50.0,
            "context_percentage_until_summarization": 70.0,
            "new_session": True,
            "unsaved": False,
            "last_accessed": NOW.isoformat(),
            "some_future_field": {"x": 1},
        },
    )
    assert [m["content"] for m in replaced["messages"]] == [conversation(1, prefix="again")[0]["content"]]
    assert replaced["memories"] == [] and replaced["data"] is None
    assert replaced["tokens"] != 999 and replaced["context_percentage_total_used"] is None
    assert get(api, "s2")["memories"] == []


def test_memories_in_working_memory_take_upstream_defaults_and_nulls(api):
    stored = put(
        api, "s3", {"memories": [{"id": "w1", "text": "User is vegan", "topics": None, "entities": None}]}
    )
    (memory,) = stored["memories"]
    assert memory["memory_type"] == "message" and memory["topics"] == [] and memory["session_id"] == "s3"


@pytest.mark.parametrize("where", ["body", "query"])
def test_user_id_may_come_in_the_body_or_the_query(api, where):
    body = {"messages": conversation(1)}
    params = {}
    if where == "body":
        body["user_id"] = "bob"
    else:
        params["user_id"] = "bob"
    assert put(api, "s4", body, **params)["user_id"] == "bob"
    assert get(api, "s4", user_id="bob")["user_id"] == "bob"
    assert api.get("/v1/working-memory/s4").status_code == 404  # another user's session is another session


def test_conflicting_user_ids_are_a_validation_error_in_the_upstream_shape(api):
    response = api.put("/v1/working-memory/s5", json={"user_id": "bob"}, params={"user_id": "carol"})
    body = checked(response, "put", PATH, status=422)
    assert body["detail"][0]["loc"] == ["user_id"] and "carol" in body["detail"][0]["msg"]
    assert body["status_code"] == 422 and body["errors"][0]["field"] == "user_id"


def test_invalid_messages_name_the_field(api):
    response = api.put("/v1/working-memory/s6", json={"messages": [{"role": "robot", "content": "x"}]})
    body = checked(response, "put", PATH, status=422)
    assert body["detail"][0]["loc"] == ["messages", 0, "role"]


def test_without_recent_messages_limit_every_message_comes_back(api):
    put(api, "long", {"messages": conversation(30)})
    assert len(get(api, "long")["messages"]) == 30  # clients read, append and PUT: nothing may be lost
    recent = get(api, "long", recent_messages_limit=5)["messages"]
    assert [m["content"] for m in recent] == [m["content"] for m in conversation(30)[-5:]]


def test_context_percentages_for_a_known_model_and_a_string_budget(api):
    put(api, "p1", {"messages": conversation(4, words=50)})
    known = get(api, "p1", model_name="gpt-4o")
    assert 0 < known["context_percentage_total_used"] < known["context_percentage_until_summarization"] < 1
    small = get(api, "p1", context_window_max="200")  # clients send it as a string
    assert len(small["messages"]) < 4  # trimmed to the window, then measured
    assert 50 < small["context_percentage_total_used"] <= 100
    assert small["context_percentage_until_summarization"] == 100.0  # past 70% of 200 tokens


def test_an_unknown_model_gets_a_default_window_and_a_warning(api):
    response = api.get("/v1/working-memory/p2", params={"model_name": "my-local-llama"})
    assert response.status_code == 404  # the model name itself is no error
    put(api, "p2", {"messages": conversation(2)})
    response = api.get("/v1/working-memory/p2", params={"model_name": "my-local-llama"})
    assert response.status_code == 200
    assert "my-local-llama" in response.headers["warning"] and "16000" in response.headers["warning"]
    assert response.json()["context_percentage_total_used"] > 0
    listed = api.put("/v1/working-memory/p2", json={}, params={"model_name": "gpt-5.2-chat-latest"})
    assert listed.status_code == 200 and "warning" not in listed.headers


def test_list_sessions_pages_and_filters(api):
    for session_id in ("a", "b", "c"):
        put(api, session_id, {"messages": conversation(1), "namespace": "team"})
    put(api, "d", {"messages": conversation(1), "namespace": "team", "user_id": "erin"})
    put(api, "elsewhere", {"messages": conversation(1)})
    everything = checked(
        api.get("/v1/working-memory/", params={"namespace": "team"}), "get", "/v1/working-memory/"
    )
    assert set(everything["sessions"]) == {"a", "b", "c", "d"} and everything["total"] == 4
    page = api.get("/v1/working-memory/", params={"namespace": "team", "limit": 2, "offset": 1}).json()
    assert len(page["sessions"]) == 2 and page["total"] == 4
    erin = api.get("/v1/working-memory/", params={"namespace": "team", "user_id": "erin"}).json()
    assert erin == {"sessions": ["d"], "total": 1}
    assert api.get("/v1/working-memory", params={"limit": 101}).status_code == 422  # upstream's maximum


def test_delete_acknowledges_and_the_session_is_gone(api):
    put(api, "gone", {"messages": conversation(1)})
    ack = checked(api.delete("/v1/working-memory/gone"), "delete", PATH)
    assert ack == {"status": "ok"}
    assert api.get("/v1/working-memory/gone").status_code == 404
    assert api.delete("/v1/working-memory/gone").json() == {"status": "ok"}


def test_ttl_zero_means_the_session_never_expires(api, working_client):
    stored = put(api, "ttl", {"messages": conversation(1), "ttl_seconds": 0})
    assert stored["ttl_seconds"] is None
    put(api, "ttl2", {"messages": conversation(1), "ttl_seconds": 60})
    keys = {key.decode(): working_client.ttl(key) for key in working_client.scan_iter("working_memory:*ttl*")}
    assert sorted(ttl > 0 for ttl in keys.values()) == [False, True]


def test_messages_marked_extracted_are_never_extracted_again(api, chat_model):
    chat_model.push(Reply.json({"memories": []}))
    messages = [
        {"id": "old", "role": "user", "content": "I live in Porto", "discrete_memory_extracted": "t"},
        {"id": "new", "role": "user", "content": "I started learning the cello"},
    ]
    stored = put(api, "x1", {"messages": messages})
    prompts = [
        body["messages"][-1]["content"]
        for body in chat_model.bodies("/v1/chat/completions")
        if "Resolve relative dates" in body["messages"][0]["content"]
    ]
    assert len(prompts) == 1 and "cello" in prompts[0] and "Porto" not in prompts[0]
    assert [m["discrete_memory_extracted"] for m in get(api, "x1")["messages"]] == ["t", "t"]
    assert stored["messages"][0]["discrete_memory_extracted"] == "t"


def test_the_working_memory_schema_validates_a_full_response(api):
    put(
        api,
        "v",
        {"messages": conversation(2), "memories": [{"text": "User likes jazz", "topics": ["music"]}]},
    )
    validate(get(api, "v", model_name="claude-3-5-sonnet-latest"), component("WorkingMemoryResponse"))
