"""Memories and summary views stored before the namespace hash tags move to them once, at
start-up, and are then served as before: by id, by search, and for deduplication."""

from __future__ import annotations

from longterm_app.repository import LAYOUT_KEY
from memoryserver.startup import check_redis
from summary_views_app.repository import LAYOUT_KEY as VIEWS_LAYOUT_KEY


def _untagged(name: bytes) -> bytes:
    return name.replace(b"{", b"").replace(b"}", b"")


def _as_an_older_server_stored_them(redis_client) -> None:
    """Every long-term key renamed to the layout before hash tags, dedup entries naming those keys."""
    for pattern in ("memory:*", "memory_hash:*", "memory_access:*", "memory_session_seq:*", "summary_view*"):
        for key in redis_client.scan_iter(match=pattern):
            if b"{" in key:
                redis_client.rename(key, _untagged(key))
    for key in redis_client.scan_iter(match="memory_hash:*"):
        redis_client.set(key, _untagged(redis_client.get(key)))
    redis_client.delete(LAYOUT_KEY, VIEWS_LAYOUT_KEY)


def test_memories_of_the_old_layout_are_moved_and_served(api, redis_client):
    memories = [
        {"id": "m1", "text": "Ana keeps bees on her roof", "namespace": "team", "session_id": "s"},
        {"id": "m2", "text": "The lamp in the hall is broken", "namespace": "team", "user_id": "bo"},
    ]
    assert api.post("/long-term-memory", json={"memories": memories}).status_code == 200
    search = {"text": "bees on the roof", "namespace": {"eq": "team"}, "limit": 1}
    assert api.post("/long-term-memory/search", json=search).json()["memories"][0]["id"] == "m1"
    assert api.post("/long-term-memory/search", json=search).status_code == 200  # an access to keep
    _as_an_older_server_stored_them(redis_client)
    assert redis_client.exists("memory:team:m1", "memory:team:~bo:m2") == 2
    # The namespace's index as an older server made it: on the untagged prefix.
    redis_client.execute_command("FT.DROPINDEX", "memory_idx:ns:team")
    redis_client.execute_command(
        "FT.CREATE", "memory_idx:ns:team", "ON", "JSON", "PREFIX", "1", "memory:team:",
        "SCHEMA", "$.record.text", "AS", "text", "TEXT",
    )  # fmt: skip

    check_redis()

    assert redis_client.exists("memory:team:m1", "memory:team:~bo:m2") == 0
    assert redis_client.exists("memory:{team}:m1", "memory:{team}:~bo:m2") == 2
    assert redis_client.execute_command("FT._LIST").count(b"memory_idx:ns:team") == 0  # built again on use
    assert api.get("/long-term-memory/m1", params={"namespace": "team"}).json()["access_count"] >= 1
    assert api.post("/long-term-memory/search", json=search).json()["memories"][0]["id"] == "m1"
    again = {"id": "m3", "text": "ana keeps BEES on her roof", "namespace": "team", "session_id": "s"}
    created = api.post("/long-term-memory", json={"memories": [again]}).json()
    assert created["merged"] == [{"id": "m3", "into": "m1"}]  # the dedup entry followed its memory
    later = {"id": "m4", "text": "Ana sells honey", "namespace": "team", "session_id": "s"}
    assert api.post("/long-term-memory", json={"memories": [later]}).status_code == 200
    assert api.get("/long-term-memory/m4", params={"namespace": "team"}).json()["session_seq"] == 2
    assert check_redis() is None and redis_client.get(LAYOUT_KEY) == b"2"


def test_summary_views_of_the_old_layout_are_moved(api, redis_client):
    body = {"source": "long_term", "group_by": ["user_id"], "name": "per user"}
    view = api.post("/v1/summary-views", json=body).json()
    _as_an_older_server_stored_them(redis_client)
    assert api.get(f"/v1/summary-views/{view['id']}").status_code == 404

    check_redis()

    assert api.get(f"/v1/summary-views/{view['id']}").json() == view
    assert [listed["id"] for listed in api.get("/v1/summary-views").json()] == [view["id"]]
