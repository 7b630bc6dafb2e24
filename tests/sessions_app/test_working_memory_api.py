"""Working memory over REST, end to end against the real Redis."""

from __future__ import annotations

import time

import pytest

from tests.helpers import conversation


def put(api, session_id, body, **params):
    return api.put(f"/sessions/{session_id}/memory", json=body, params=params)


def test_put_then_get_returns_everything_stored(api):
    body = {
        "messages": [
            {"role": "user", "content": "Hello", "id": "m-1", "created_at": 1700000000},
            {"role": "assistant", "content": "Hi there", "created_at": "2024-01-01T00:00:00Z"},
        ],
        "memories": [{"id": "mem-123", "text": "User prefers direct communication"}],
        "context": "Previous conversation summary...",
        "data": {"theme": "dark", "nested": {"list": [1, 2, 3]}},
        "session_id": "session-123",
        "namespace": "default",
    }
    stored = put(api, "session-123", body)
    assert stored.status_code == 200, stored.text
    assert stored.json()["summarization"] is None

    got = api.get("/sessions/session-123/memory").json()
    assert [m["content"] for m in got["messages"]] == ["Hello", "Hi there"]
    assert got["messages"][0]["id"] == "m-1"
    assert got["messages"][0]["created_at"] == 1700000000
    assert got["messages"][1]["created_at"] == 1704067200
    assert got["messages"][1]["id"]  # generated
    memory = got["memories"][0]
    assert memory["id"] == "mem-123" and memory["memory_type"] == "semantic"
    assert (memory["session_id"], memory["namespace"]) == ("session-123", "default")
    assert got["context"] == "Previous conversation summary..."
    assert got["data"] == {"theme": "dark", "nested": {"list": [1, 2, 3]}}
    assert got["session_id"] == "session-123" and got["namespace"] == "default"
    assert got["user_id"] is None and got["ttl_seconds"] is None
    assert got["tokens"] > 0
    assert got["created_at"] <= got["updated_at"] <= got["last_accessed"] <= time.time() + 1


def test_unknown_session_is_404_with_a_clear_body(api):
    response = api.get("/sessions/nobody/memory", params={"namespace": "ns1"})
    assert response.status_code == 404
    assert response.json()["detail"] == "No working memory for session 'nobody' in namespace 'ns1'."
    assert response.json()["status_code"] == 404


def test_put_replaces_the_whole_session_but_keeps_created_at(api):
    first = put(api, "s", {"messages": conversation(3), "data": {"a": 1}}).json()
    time.sleep(0.01)
    second = put(api, "s", {"messages": conversation(1, prefix="new")}).json()
    got = api.get("/sessions/s/memory").json()
    assert [m["content"] for m in got["messages"]] == [m["content"] for m in second["messages"]]
    assert got["data"] is None
    assert got["created_at"] == first["created_at"] == second["created_at"]
    assert got["updated_at"] > first["updated_at"]


def test_a_memory_not_yet_promoted_can_be_sent_back_unchanged(api):
    # No worker runs here: the memory keeps persisted_at null, and the client sends it back as it read it.
    body = {"memories": [{"id": "p1", "text": "User likes tea"}]}
    first = api.put("/sessions/pending/memory", json=body)
    assert first.status_code == 200 and first.json()["memories"][0]["persisted_at"] is None
    again = api.put("/sessions/pending/memory", json={"memories": first.json()["memories"]})
    assert again.status_code == 200, again.text
    assert again.json()["memories"][0]["persisted_at"] is None


def test_get_marks_the_session_accessed(api):
    put(api, "s", {"messages": conversation(1)})
    first = api.get("/sessions/s/memory").json()["last_accessed"]
    time.sleep(0.01)
    second = api.get("/sessions/s/memory").json()["last_accessed"]
    assert second > first


def test_delete_removes_the_session_and_its_listing(api):
    put(api, "gone", {"messages": conversation(1)})
    put(api, "kept", {"messages": conversation(1)})
    response = api.delete("/sessions/gone/memory")
    assert response.json() == {"status": "ok", "deleted": True}
    assert api.get("/sessions/gone/memory").status_code == 404
    assert api.get("/sessions/").json() == {"sessions": ["kept"], "total": 1}
    assert api.delete("/sessions/gone/memory").json() == {"status": "ok", "deleted": False}


def test_list_is_most_recently_updated_first_with_paging(api):
    for name in ["a", "b", "c", "d", "e"]:
        put(api, name, {"messages": conversation(1)})
    put(api, "b", {"messages": conversation(2)})  # b becomes the most recent
    assert api.get("/sessions/").json() == {"sessions": ["b", "e", "d", "c", "a"][:10], "total": 5}
    page = api.get("/sessions/", params={"limit": 2, "offset": 1}).json()
    assert page == {"sessions": ["e", "d"], "total": 5}
    assert api.get("/sessions/", params={"offset": 10}).json() == {"sessions": [], "total": 5}


def test_same_session_id_in_two_namespaces_is_two_sessions(api):
    put(api, "shared", {"messages": conversation(1, prefix="one")}, namespace="ns1")
    put(api, "shared", {"messages": conversation(2, prefix="two")}, namespace="ns2")
    put(api, "only2", {"messages": conversation(1)}, namespace="ns2")
    one = api.get("/sessions/shared/memory", params={"namespace": "ns1"}).json()
    two = api.get("/sessions/shared/memory", params={"namespace": "ns2"}).json()
    assert len(one["messages"]) == 1 and one["messages"][0]["content"].startswith("one")
    assert len(two["messages"]) == 2 and two["namespace"] == "ns2"
    assert api.get("/sessions/shared/memory").status_code == 404  # default namespace
    assert api.get("/sessions/", params={"namespace": "ns1"}).json() == {"sessions": ["shared"], "total": 1}
    assert api.get("/sessions/", params={"namespace": "ns2"}).json()["total"] == 2
    assert api.get("/sessions/").json()["total"] == 3

    api.delete("/sessions/shared/memory", params={"namespace": "ns1"})
    assert api.get("/sessions/shared/memory", params={"namespace": "ns2"}).status_code == 200


def test_users_in_one_namespace_do_not_see_each_others_session(api):
    put(api, "s", {"messages": conversation(1, prefix="alice"), "user_id": "alice"})
    put(api, "s", {"messages": conversation(1, prefix="bob")}, user_id="bob")
    alice = api.get("/sessions/s/memory", params={"user_id": "alice"}).json()
    assert alice["user_id"] == "alice" and alice["messages"][0]["content"].startswith("alice")
    assert api.get("/sessions/s/memory", params={"user_id": "bob"}).json()["user_id"] == "bob"
    assert api.get("/sessions/s/memory").status_code == 404


def test_ids_with_colons_cannot_collide(api):
    put(api, "b:c", {"messages": conversation(1, prefix="first")}, namespace="a")
    put(api, "c", {"messages": conversation(1, prefix="second")}, namespace="a:b")
    first = api.get("/sessions/b:c/memory", params={"namespace": "a"}).json()
    assert first["messages"][0]["content"].startswith("first")
    assert api.get("/sessions/", params={"namespace": "a"}).json() == {"sessions": ["b:c"], "total": 1}


def test_window_size_returns_the_most_recent_messages(api):
    put(api, "s", {"messages": conversation(10)}, window_size=50)
    got = api.get("/sessions/s/memory", params={"window_size": 3}).json()
    assert [m["content"].split()[1] for m in got["messages"]] == ["7", "8", "9"]


def test_default_window_comes_from_settings(api, settings):
    settings.WINDOW_SIZE = 4
    put(api, "s", {"messages": conversation(6)})
    got = api.get("/sessions/s/memory").json()
    assert len(got["messages"]) == 4


def test_ttl_is_honoured_by_redis_and_the_listing(api, working_client):
    response = put(api, "short", {"messages": conversation(1), "ttl_seconds": 1})
    assert response.json()["ttl_seconds"] == 1
    put(api, "long", {"messages": conversation(1)})
    keys = [k for k in working_client.scan_iter(match="working_memory:*") if b"short" in k]
    assert 0 < working_client.pttl(keys[0]) <= 1000
    time.sleep(1.2)
    assert api.get("/sessions/short/memory").status_code == 404
    assert api.get("/sessions/").json() == {"sessions": ["long"], "total": 1}


def test_put_without_ttl_makes_the_session_permanent_again(api, working_client):
    put(api, "s", {"messages": conversation(1), "ttl_seconds": 100})
    put(api, "s", {"messages": conversation(1)})
    (key,) = working_client.scan_iter(match="working_memory:*")
    assert working_client.ttl(key) == -1
    assert working_client.zcard("working_memory_expiries") == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "user"}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
        ({"messages": [{"role": "user", "content": "x", "id": "bad id!"}]}, "messages.0.id"),
        (
            {"messages": [{"role": "user", "content": "x", "created_at": "yesterday"}]},
            "messages.0.created_at",
        ),
        ({"messages": [{"role": "user", "content": "x", "created_at": -1e11}]}, "messages.0.created_at"),
        ({"messages": "hello"}, "messages"),
        ({"memories": [{"text": ""}]}, "memories.0.text"),
        ({"memories": [{"text": "x", "memory_type": "dream"}]}, "memories.0.memory_type"),
        ({"memories": [{"text": "x", "topics": [""]}]}, "memories.0.topics.0"),
        ({"context": ["not", "text"]}, "context"),
        ({"data": [1, 2]}, "data"),
        ({"data": {"a": float("nan")}}, "data"),
        ({"ttl_seconds": 0}, "ttl_seconds"),
        ({"ttl_seconds": "soon"}, "ttl_seconds"),
        ({"namespace": "has space"}, "namespace"),
        ({"user_id": "x" * 201}, "user_id"),
        ({"session_id": "other"}, "session_id"),
        ({"mesages": []}, "mesages"),
        ({"messages": [{"role": "user", "content": "a", "id": "m"}] * 2}, "messages.1.id"),
        ({"memories": [{"text": "a", "id": "x"}, {"text": "b", "id": "x"}]}, "memories.1.id"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(api, body, field):
    response = api.put(
        "/sessions/s/memory",
        content=__import__("json").dumps(body, allow_nan=True),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["status_code"] == 422
    assert field in [error["field"] for error in payload["errors"]], payload
    assert api.get("/sessions/s/memory").status_code == 404  # nothing half-written


def test_a_misspelt_field_replaces_nothing_but_a_session_read_back_is_taken(api):
    put(api, "kept", {"messages": [{"role": "user", "content": "Book the hotel"}], "data": {"a": 1}})
    misspelt = api.put("/sessions/kept/memory", json={"mesages": [], "data": {"b": 2}})
    assert misspelt.status_code == 422
    assert [(e["field"], e["message"]) for e in misspelt.json()["errors"]] == [
        ("mesages", "Extra inputs are not permitted")
    ]
    read = api.get("/sessions/kept/memory").json()
    assert [m["content"] for m in read["messages"]] == ["Book the hotel"] and read["data"] == {"a": 1}
    # What a GET answers (tokens, version, times) can be sent back as it is.
    read["data"] = {"a": 2}
    assert api.put("/sessions/kept/memory", json=read).status_code == 200
    assert api.get("/sessions/kept/memory").json()["data"] == {"a": 2}


def test_deeply_nested_data_is_refused(api):
    data: dict = {}
    node = data
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    response = put(api, "s", {"data": data})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "data"


@pytest.mark.parametrize(
    ("content", "status"),
    [(b"{not json", 400), (b"", 400), (b"   ", 400), (b"[1, 2]", 422), (b'"text"', 422), (b"\xff\xfe", 400)],
)
def test_malformed_bodies(api, content, status):
    response = api.put("/sessions/s/memory", content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["field"] == "body"


def test_namespace_in_body_and_query_must_agree(api):
    response = put(api, "s", {"namespace": "a"}, namespace="b")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "namespace", "message": "body says 'a' but the query says 'b'"}
    ]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/sessions/", {"limit": 0}, "limit"),
        ("/sessions/", {"limit": 1001}, "limit"),
        ("/sessions/", {"limit": "ten"}, "limit"),
        ("/sessions/", {"offset": -1}, "offset"),
        ("/sessions/", {"namespace": "bad/ns"}, "namespace"),
        ("/sessions/s/memory", {"window_size": 0}, "window_size"),
        ("/sessions/s/memory", {"context_window_max": -3}, "context_window_max"),
        ("/sessions/s/memory", {"model_name": "gpt-99-ultra"}, "model_name"),
        ("/sessions/bad%20id/memory", {}, "session_id"),
        ("/sessions/" + "x" * 201 + "/memory", {}, "session_id"),
    ],
)
def test_bad_query_parameters_are_422_naming_the_field(api, path, params, field):
    response = api.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_unknown_model_error_lists_known_models(api):
    put(api, "s", {"messages": conversation(1)})
    response = api.get("/sessions/s/memory", params={"model_name": "gpt-99-ultra"})
    message = response.json()["errors"][0]["message"]
    assert (
        "unknown model 'gpt-99-ultra'" in message and "gpt-4o" in message and "claude-3-5-sonnet" in message
    )


def test_oversized_body_is_413(api, settings):
    big = "x" * (settings.MAX_REQUEST_BODY_BYTES + 10)
    response = put(api, "s", {"messages": [{"role": "user", "content": big}]})
    assert response.status_code == 413
    assert response.json()["status_code"] == 413
    assert api.get("/sessions/s/memory").status_code == 404


def test_oversized_chunked_body_is_413(api, settings):
    chunk = b"x" * 65536

    def chunks():
        yield b'{"context": "'
        for _ in range(settings.MAX_REQUEST_BODY_BYTES // len(chunk) + 2):
            yield chunk
        yield b'"}'

    response = api.put("/sessions/s/memory", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_chunked_body_within_the_limit_is_accepted(api):
    def chunks():
        yield b'{"messages": [{"role": "user",'
        yield b' "content": "streamed"}]}'

    response = api.put("/sessions/s/memory", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["messages"][0]["content"] == "streamed"


def test_redis_down_is_503_not_500(api, settings):
    from server.localredis import free_port

    settings.REDIS_URL = settings.WORKING_MEMORY_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = api.get("/sessions/")
    assert response.status_code == 503
    assert response.json() == {
        "detail": "The memory store (Redis) is unavailable. Try again shortly.",
        "status_code": 503,
    }
