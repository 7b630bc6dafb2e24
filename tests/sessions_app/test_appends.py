"""Appending messages atomically, and conditional replaces: concurrent writers lose nothing."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

CLIENTS = 10
PER_CLIENT = 20


def message(text: str, **extra: object) -> dict:
    return {"role": "user", "content": text, **extra}


def contents(memory: dict) -> list[str]:
    return [m["content"] for m in memory["messages"]]


def test_append_creates_the_session_then_adds_to_its_end(api):
    first = api.post("/sessions/s/messages", json={"messages": [message("one"), message("two")]})
    assert first.status_code == 200, first.text
    assert contents(first.json()) == ["one", "two"]
    assert first.json()["version"] == 1 and first.headers["ETag"] == '"1"'
    assert all(m["id"] and m["created_at"] for m in first.json()["messages"])

    second = api.post("/sessions/s/messages", json={"messages": [message("three")]})
    assert contents(second.json()) == ["one", "two", "three"]
    assert second.json()["version"] == 2
    assert second.json()["created_at"] == first.json()["created_at"]
    stored = api.get("/sessions/s/memory")
    assert contents(stored.json()) == ["one", "two", "three"]
    assert stored.headers["ETag"] == '"2"'
    assert stored.json()["tokens"] == second.json()["tokens"] > first.json()["tokens"]


def test_a_retried_append_adds_nothing_twice(api):
    batch = {"messages": [message("hello", id="m1"), message("again", id="m2")]}
    api.post("/sessions/s/messages", json=batch)
    retried = api.post("/sessions/s/messages", json=batch)
    assert retried.status_code == 200
    assert contents(retried.json()) == ["hello", "again"]
    assert retried.json()["version"] == 1  # nothing changed


def test_an_append_keeps_the_context_data_and_memories(api):
    api.put(
        "/sessions/s/memory",
        json={"messages": [message("old")], "context": "summary", "data": {"k": 1}, "ttl_seconds": 600},
    )
    appended = api.post("/sessions/s/messages", json={"messages": [message("new")]}).json()
    assert appended["context"] == "summary" and appended["data"] == {"k": 1}
    assert appended["ttl_seconds"] == 600


def test_an_append_keeps_and_refreshes_the_sessions_ttl(api, working_client):
    api.put("/sessions/s/memory", json={"messages": [message("old")], "ttl_seconds": 600})
    (key,) = working_client.scan_iter(match="working_memory:*")
    working_client.expire(key, 100)
    api.post("/sessions/s/messages", json={"messages": [message("new")]})
    assert 590 <= working_client.ttl(key) <= 600
    api.post("/sessions/s/messages", json={"messages": [message("newer")], "ttl_seconds": 50})
    assert working_client.ttl(key) <= 50


def test_an_append_answers_with_the_window_and_queues_a_summary(api, settings):
    settings.ENABLE_DISCRETE_MEMORY_EXTRACTION = False
    batch = [message(f"m{i}") for i in range(6)]
    appended = api.post("/sessions/s/messages", json={"messages": batch}, params={"window_size": 4})
    assert appended.status_code == 200
    assert contents(appended.json()) == ["m2", "m3", "m4", "m5"]
    assert appended.json()["summarization"]["reason"]


def test_an_append_past_the_message_limit_is_refused_and_writes_nothing(api):
    from sessions_app.schemas import MAX_MESSAGES

    full = [message(f"m{i}") for i in range(MAX_MESSAGES)]
    assert api.post("/sessions/s/messages", json={"messages": full}).status_code == 200
    refused = api.post("/sessions/s/messages", json={"messages": [message("one too many")]})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "messages"
    assert api.get("/sessions/s/memory").json()["version"] == 1


@pytest.mark.parametrize(
    "body",
    [{}, {"messages": []}, {"messages": [{"role": "robot", "content": "x"}]}, {"messages": "hi"}],
)
def test_a_bad_append_is_a_422_naming_the_field(api, body):
    response = api.post("/sessions/s/messages", json=body)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("messages")
    assert api.get("/sessions/s/memory").status_code == 404


def test_a_stale_if_match_is_412_and_writes_nothing(api):
    created = api.put("/sessions/s/memory", json={"messages": [message("one")]})
    etag = created.headers["ETag"]
    api.post("/sessions/s/messages", json={"messages": [message("two")]})
    stale = api.put(
        "/sessions/s/memory", json={"messages": [message("replaced")]}, headers={"If-Match": etag}
    )
    assert stale.status_code == 412
    assert stale.json()["status_code"] == 412 and "version 2" in stale.json()["detail"]
    assert contents(api.get("/sessions/s/memory").json()) == ["one", "two"]

    current = api.get("/sessions/s/memory").headers["ETag"]
    replaced = api.put(
        "/sessions/s/memory", json={"messages": [message("replaced")]}, headers={"If-Match": current}
    )
    assert replaced.status_code == 200 and replaced.headers["ETag"] == '"3"'
    assert contents(api.get("/sessions/s/memory").json()) == ["replaced"]


@pytest.mark.parametrize("if_match", ['"1"', "*", '"garbage"'])
def test_if_match_on_a_missing_session_is_412(api, if_match):
    response = api.put("/sessions/s/memory", json={"messages": []}, headers={"If-Match": if_match})
    assert response.status_code == 412
    assert api.get("/sessions/s/memory").status_code == 404


@pytest.mark.parametrize("if_match", ["garbage", '"3', "W/3", "3, 4"])
def test_an_if_match_that_is_no_entity_tag_is_refused_by_name(api, if_match):
    api.put("/sessions/s/memory", json={"messages": [message("one")]})
    response = api.put("/sessions/s/memory", json={"messages": []}, headers={"If-Match": if_match})
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["If-Match"]
    assert '"3" (quotes included)' in response.json()["errors"][0]["message"]
    assert contents(api.get("/sessions/s/memory").json()) == ["one"]


def test_a_foreign_entity_tag_is_412_naming_what_it_asked_for(api):
    api.put("/sessions/s/memory", json={"messages": [message("one")]})
    response = api.put("/sessions/s/memory", json={}, headers={"If-Match": '"abc"'})
    assert response.status_code == 412
    assert "is at version 1, not the entity tag If-Match names" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/sessions/s/memory", "/v1/working-memory/s"], ids=["seed", "v1"])
def test_a_delete_with_if_match_deletes_only_the_version_it_names(api, path):
    api.put("/sessions/s/memory", json={"messages": [message("one")]})
    api.post("/sessions/s/messages", json={"messages": [message("two")]})
    stale = api.delete(path, headers={"If-Match": '"1"'})
    assert (
        stale.status_code == 412
        and "is at version 2, not version 1; nothing was deleted" in stale.json()["detail"]
    )
    assert contents(api.get("/sessions/s/memory").json()) == ["one", "two"]
    assert api.get("/sessions/").json()["sessions"] == ["s"]
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 200
    assert api.get("/sessions/s/memory").status_code == 404
    assert api.get("/sessions/").json()["sessions"] == []
    missing = api.delete(path, headers={"If-Match": "*"})
    assert missing.status_code == 412 and "there is no session 's'" in missing.json()["detail"]


@pytest.mark.parametrize(
    "path", ["/sessions/s/messages", "/v1/working-memory/s/messages"], ids=["seed", "v1"]
)
def test_an_append_refuses_if_match_rather_than_ignore_it(api, path):
    api.put("/sessions/s/memory", json={"messages": [message("one")]})
    response = api.post(path, json={"messages": [message("two")]}, headers={"If-Match": '"1"'})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "If-Match" and "an append takes none" in error["message"]
    assert contents(api.get("/sessions/s/memory").json()) == ["one"]


def test_if_match_star_and_weak_tags_match_an_existing_session(api):
    api.put("/sessions/s/memory", json={"messages": []})
    assert api.put("/sessions/s/memory", json={}, headers={"If-Match": "*"}).status_code == 200
    assert api.put("/sessions/s/memory", json={}, headers={"If-Match": 'W/"2"'}).status_code == 200
    assert api.put("/sessions/s/memory", json={}, headers={"If-Match": '"2"'}).status_code == 412


def test_a_folded_summary_moves_the_version(api, redis_client):
    from memoryserver.redis import get_redis
    from sessions_app.repository import SessionJobStore
    from sessions_app.schemas import SessionKey

    put = api.put("/sessions/s/memory", json={"messages": [message("a", id="a"), message("b", id="b")]})
    SessionJobStore(get_redis()).apply_summary(SessionKey("default", None, "s"), None, "sum", ["a"], 0, 1.0)
    stale = api.put("/sessions/s/memory", json={}, headers={"If-Match": put.headers["ETag"]})
    assert stale.status_code == 412


def run_clients(worker: Callable[[httpx.Client, int], None], base_url: str) -> None:
    def run(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=30) as client:
            worker(client, index)

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for future in [pool.submit(run, index) for index in range(CLIENTS)]:
            future.result()


def assert_all_in_order(texts: list[str]) -> None:
    assert len(texts) == CLIENTS * PER_CLIENT
    for index in range(CLIENTS):
        mine = [text for text in texts if text.startswith(f"c{index}-")]
        assert mine == [f"c{index}-{n}" for n in range(PER_CLIENT)]


@pytest.mark.parametrize("path", ["/sessions/race/messages", "/v1/working-memory/race/messages"])
def test_concurrent_appends_lose_nothing(api, live_server_url, path):
    def append(client: httpx.Client, index: int) -> None:
        for n in range(PER_CLIENT):
            response = client.post(path, json={"messages": [message(f"c{index}-{n}")]})
            assert response.status_code == 200, response.text

    run_clients(append, live_server_url)
    stored = api.get("/sessions/race/memory", params={"window_size": 1000}).json()
    assert_all_in_order(contents(stored))


@pytest.mark.parametrize("path", ["/sessions/race/memory", "/v1/working-memory/race"])
def test_read_modify_write_with_if_match_retries_loses_nothing(api, live_server_url, path):
    api.put("/sessions/race/memory", json={"messages": []})
    params = {"window_size": 1000} if path.startswith("/sessions") else {}

    def append(client: httpx.Client, index: int) -> None:
        for n in range(PER_CLIENT):
            while True:
                read = client.get(path, params=params)
                messages = [*read.json()["messages"], message(f"c{index}-{n}")]
                etag = read.headers["ETag"]
                written = client.put(path, json={"messages": messages}, headers={"If-Match": etag})
                if written.status_code == 200:
                    break
                assert written.status_code == 412, written.text

    run_clients(append, live_server_url)
    stored = api.get("/sessions/race/memory", params={"window_size": 1000}).json()
    assert_all_in_order(contents(stored))


def test_an_id_sent_twice_in_one_append_counts_once_where_it_first_appears(api):
    batch = [message("one", id="a"), message("two", id="b"), message("one again", id="a")]
    appended = api.post("/sessions/s/messages", json={"messages": batch})
    assert contents(appended.json()) == ["one", "two"]
    more = [message("three", id="c"), message("two again", id="b"), message("three again", id="c")]
    appended = api.post("/sessions/s/messages", json={"messages": more})
    assert contents(appended.json()) == ["one", "two", "three"]


def test_a_write_no_replica_confirms_is_refused_as_unavailable(api, settings, working_client):
    settings.WORKING_MEMORY_WAIT_REPLICAS = 1  # the test servers have no replicas
    appended = api.post("/sessions/s/messages", json={"messages": [message("hello")]})
    assert appended.status_code == 503 and appended.headers["Retry-After"] == "1"
    assert "only 0 of 1 replicas confirmed it" in appended.json()["detail"]
    put = api.put("/sessions/s/memory", json={"messages": [message("hello")]})
    assert put.status_code == 503
    settings.WORKING_MEMORY_WAIT_REPLICAS = 0
    assert [m["content"] for m in api.get("/sessions/s/memory").json()["messages"]] == ["hello"]
    assert api.get("/sessions/").json()["sessions"] == ["s"]  # listed even though it was refused
