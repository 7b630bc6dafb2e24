"""Operator commands: rebuild the index, re-embed after a model change, data migrations."""

from __future__ import annotations

import io

import orjson
import pytest
from django.core.management import CommandError, call_command

from longterm_app.repositories.index import META_KEY
from longterm_app.repository import LAYOUT_KEY, MIGRATION_VERSION_KEY
from longterm_app.services import ensure_memory_index
from memoryserver.errors import Conflict


def create(api, *memories):
    response = api.post("/long-term-memory", json={"memories": list(memories)})
    assert response.status_code == 200, response.text


def search_ids(api, text, **body):
    response = api.post("/long-term-memory/search", json={"text": text, **body})
    return [m["id"] for m in response.json()["memories"]], response.json()["total"]


def run(command, *args):
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def test_rebuild_index_keeps_every_memory(api, redis_client):
    create(api, *({"id": f"m{i}", "text": f"fact number {i} about rivers"} for i in range(30)))
    output = run("rebuild_index")
    assert "30 memories indexed" in output
    ids, total = search_ids(api, "rivers", limit=100)
    assert total == 30 and len(ids) == 30


def test_reembed_recomputes_vectors(api, redis_client):
    create(
        api,
        {"id": "cat", "text": "A grey cat sleeps on the sofa"},
        {"id": "tax", "text": "Taxes are due in April"},
    )
    (key,) = [k for k in redis_client.keys("memory:*") if k.endswith(b":cat")]
    redis_client.execute_command("JSON.SET", key, "$.embedding", orjson.dumps([0.0] * 383 + [1.0]))
    run("rebuild_index", "--reembed")
    ids, _ = search_ids(api, "kitten on a couch", limit=1)
    assert ids == ["cat"]


def test_a_changed_embedding_model_is_caught(api, redis_client):
    # An index built by an earlier release, whose default local model was all-MiniLM-L6-v2.
    redis_client.hset(META_KEY, "model", "local:all-MiniLM-L6-v2:384")
    with pytest.raises(Conflict, match="rebuild_index --reembed"):
        ensure_memory_index()
    with pytest.raises(CommandError, match="Run with --reembed"):
        run("rebuild_index")
    run("rebuild_index", "--reembed")
    assert redis_client.hget(META_KEY, "model") == b"local:multilingual-e5-small:384"
    ensure_memory_index()


def test_server_refuses_to_start_with_a_changed_model(redis_client):
    import asyncio

    from server.asgi import application

    redis_client.hset(META_KEY, "model", "openai:text-embedding-3-small:1536")
    sent = []
    messages = iter([{"type": "lifespan.startup"}])

    async def receive():
        return next(messages)

    async def send(message):
        sent.append(message)

    asyncio.run(application({"type": "lifespan"}, receive, send))
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "rebuild_index --reembed" in sent[0]["message"]


def test_migrations_backfill_old_memories_and_are_reentrant(api, redis_client):
    create(api, {"id": "new", "text": "written by this version"})
    old = {
        "record": {
            "id": "old",
            "text": "Written  before dedup",
            "namespace": "default",
            "topics": [],
            "entities": [],
            "created_at": 1,
            "updated_at": 1,
            "last_accessed": 1,
        },
        "embedding": [0.0] * 383 + [1.0],
    }
    redis_client.execute_command("JSON.SET", "memory:default:old", "$", orjson.dumps(old))
    first = run("migrate_memories")
    assert "Applied 1: backfill memory_hash" in first and "(1 memories)" in first
    assert "Applied 2: backfill access_count" in first
    record = api.get("/long-term-memory/old").json()
    assert len(record["memory_hash"]) == 64 and record["access_count"] == 0
    duplicate = api.post(
        "/long-term-memory", json={"memories": [{"id": "dup", "text": "written before DEDUP"}]}
    )
    assert duplicate.json()["merged"] == [{"id": "dup", "into": "old"}]
    assert "Up to date (version 3)" in run("migrate_memories")
    assert redis_client.get(MIGRATION_VERSION_KEY) == b"3"


def test_migration_moves_users_memories_to_their_own_keys_and_is_reentrant(api, redis_client):
    create(api, {"id": "pref", "text": "Alice likes tea", "user_id": "alice"})
    create(api, {"id": "plain", "text": "The office opens at nine"})
    # Rewrite Alice's memory as an older layout had it: under memory:<ns>:<id> (before hash
    # tags and per-owner keys), with its side keys.
    (new_key,) = [k for k in redis_client.keys("memory:{default}:*") if k.endswith(b":pref")]
    assert new_key == b"memory:{default}:~alice:pref"
    redis_client.rename(new_key, "memory:default:pref")
    redis_client.hset("memory_access:default:pref", mapping={"n": 3, "t": 5})
    (hash_key,) = [k for k in redis_client.keys("memory_hash:{default}:*") if redis_client.get(k) == new_key]
    redis_client.rename(hash_key, hash_key.replace(b"{default}", b"default"))
    redis_client.set(hash_key.replace(b"{default}", b"default"), "memory:default:pref")
    redis_client.set(MIGRATION_VERSION_KEY, 2)
    redis_client.delete(LAYOUT_KEY)

    assert "(1 memories)" in run("migrate_memories")
    assert redis_client.exists("memory:default:pref", "memory_access:default:pref") == 0
    assert redis_client.exists("memory:{default}:pref", "memory_access:{default}:pref") == 0
    assert redis_client.get(hash_key) == new_key
    assert redis_client.hget("memory_access:{default}:~alice:pref", "n") == b"3"
    owned = api.get("/long-term-memory/pref", params={"user_id": "alice"}).json()
    assert owned["text"] == "Alice likes tea" and owned["access_count"] == 3
    assert api.get("/long-term-memory/plain").status_code == 200  # memories without a user stay
    duplicate = api.post(
        "/long-term-memory",
        json={"memories": [{"id": "again", "text": "alice LIKES tea", "user_id": "alice"}]},
    )
    assert duplicate.json()["merged"] == [{"id": "again", "into": "pref"}]  # dedup entry follows

    redis_client.set(MIGRATION_VERSION_KEY, 2)  # run it again, as after an interruption
    assert "(0 memories)" in run("migrate_memories")
    assert api.get("/long-term-memory/pref", params={"user_id": "alice"}).json()["text"] == "Alice likes tea"
