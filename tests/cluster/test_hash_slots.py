"""No multi-key operation crosses a hash slot: working memory's scripts run on a 3-primary
cluster (which refuses any that would), with the sessions spread over the primaries; long-term
memory and summary views are watched on the server (MONITOR) while every one of their writes
runs."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from typing import Any

import pytest
import redis
from redis.commands.core import AsyncScript, Script
from redis.crc import key_slot

from longterm_app import maintenance as longterm_maintenance
from longterm_app import repository as longterm_repository
from longterm_app.records import MemoryRecord
from longterm_app.repository import MemoryStore
from memoryserver.auth.api_tokens import create_token, list_tokens, remove_token
from memoryserver.redis import fresh_async_redis
from sessions_app import repository
from sessions_app.repository import SessionJobStore
from sessions_app.schemas import SessionKey
from summary_views_app import repository as views_repository
from tests.cluster.slot_monitor import watching
from tests.fake_openai import Reply


@pytest.fixture
def scripts_run(monkeypatch) -> list[tuple[str, list[Any]]]:
    """(script, keys) of every Lua script run meanwhile, by any client of this process."""
    runs: list[tuple[str, list[Any]]] = []
    sync_call, async_call = Script.__call__, AsyncScript.__call__

    def recorded(self, keys=None, args=None, client=None):
        runs.append(
            (self.script.decode() if isinstance(self.script, bytes) else self.script, list(keys or []))
        )
        return sync_call(self, keys, args, client)

    async def async_recorded(self, keys=None, args=None, client=None):
        runs.append(
            (self.script.decode() if isinstance(self.script, bytes) else self.script, list(keys or []))
        )
        return await async_call(self, keys, args, client)

    monkeypatch.setattr(Script, "__call__", recorded)
    monkeypatch.setattr(AsyncScript, "__call__", async_recorded)
    return runs


def message(number: int) -> dict[str, str]:
    return {"id": f"m{number}", "role": "user", "content": f"Message number {number}"}


def test_every_working_memory_script_keeps_its_keys_in_one_slot(api, working_client, scripts_run):
    session = SessionKey("default", "alice", "trip")
    path, owner = "/v1/working-memory/trip", {"user_id": "alice"}
    assert api.put(path, params=owner, json={"messages": [message(1)], "ttl_seconds": 1}).status_code == 200
    assert api.post(f"{path}/messages", params=owner, json={"messages": [message(2)]}).status_code == 200
    assert api.get(path, params=owner).status_code == 200
    jobs = SessionJobStore(working_client)
    assert jobs.claim_extraction(session, "job-1", ["m1"]) == ["m1"]
    jobs.finish_extraction(session, ["m1"])
    assert jobs.mark(
        session, "messages", "discrete_memory_extracted", "t", "content", {"m1": "Message number 1"}
    )
    assert jobs.apply_summary(session, None, "A summary.", ["m1"], -3, time.time()) == 1
    time.sleep(1.1)  # the session expires; the listing then forgets it
    assert api.get("/v1/working-memory/", params=owner).json()["sessions"] == []
    assert api.delete(path, params=owner).status_code == 200
    assert api.post(f"{path}/messages", params=owner, json={"messages": [message(3)]}).status_code == 200
    assert api.delete(path, params=owner, headers={"If-Match": "*"}).status_code == 200

    defined = {value for name, value in vars(repository).items() if name.endswith("_SCRIPT")}
    assert {script for script, _ in scripts_run} == defined  # each script ran at least once
    for script, keys in scripts_run:
        assert keys and len({key_slot(key.encode() if isinstance(key, str) else key) for key in keys}) == 1, (
            script.splitlines()[1],
            keys,
        )


def test_sessions_spread_over_the_primaries(api, working_memory_on_cluster):
    for number in range(30):
        assert (
            api.put(f"/v1/working-memory/s{number}", json={"messages": [message(number)]}).status_code == 200
        )
    holders: Counter[int] = Counter()
    for port in working_memory_on_cluster.primary_ports():
        with redis.Redis(port=port) as node:
            holders[port] = sum(1 for _ in node.scan_iter(match="working_memory:*"))
    assert sum(holders.values()) == 30 and len([port for port, count in holders.items() if count]) >= 2
    assert api.get("/v1/working-memory/").json()["total"] == 30


def test_api_tokens_are_kept_on_a_cluster(working_client):
    token, info = create_token(working_client, "ci", ["read"])
    assert [listed.id for listed in list_tokens(working_client)] == [info.id]
    assert remove_token(working_client, info.id) == info
    assert list_tokens(working_client) == [] and token.startswith("ams_")


def _sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


def _long_term_scripts() -> dict[str, str]:
    """Every Lua script of long-term memory and summary views, by SHA1."""
    scripts = {}
    for module in (longterm_repository, longterm_maintenance, views_repository):
        for name, value in vars(module).items():
            if (name.isupper() and isinstance(value, str) and value.startswith("#!lua")) or name.endswith(
                "_SCRIPT"
            ):
                scripts[_sha(value)] = f"{module.__name__}.{name}"
    return scripts


def test_no_long_term_operation_spans_hash_slots(api, chat_model, redis_client, use_test_redis):
    """Everything long-term memory and summary views send to Redis (scripts with the commands
    they ran, transactions, multi-key commands), watched on the server: every operation stays
    within one hash slot, and every script ran at least once. RQ's own keys are left out:
    the queues need one plain server (see memoryserver/redis_roles.py)."""
    with watching(use_test_redis) as watched:
        _every_long_term_write(api, chat_model)
        _move_a_memory_to_its_owner_key(redis_client)
    assert set(_long_term_scripts()) <= watched.scripts_run(), {
        name for sha, name in _long_term_scripts().items() if sha not in watched.scripts_run()
    }
    crossing = watched.crossing(ignore_prefixes=(b"rq:",))
    assert crossing == [], [op.commands[:3] for op in crossing[:3]]


def _every_long_term_write(api, chat_model) -> None:
    memories = [
        {"id": "a1", "text": "Ana keeps bees on her roof", "namespace": "team", "session_id": "s1"},
        {"id": "a2", "text": "The user is allergic to peanuts", "namespace": "team", "user_id": "u1"},
        {"id": "a3", "text": "The user has a peanut allergy", "namespace": "team", "user_id": "u1"},
        {"id": "b1", "text": "Bo sells honey at the market", "namespace": "shop", "user_id": "u1"},
    ]
    assert api.post("/long-term-memory", json={"memories": memories}).status_code == 200
    duplicate = {"id": "b2", "text": "bo sells HONEY at the market", "namespace": "shop", "user_id": "u1"}
    assert api.post("/long-term-memory", json={"memories": [duplicate]}).json()["merged"]
    for mode in ("semantic", "keyword", "hybrid"):  # across namespaces: hits of both are touched
        found = api.post("/long-term-memory/search", json={"text": "honey and bees", "search_mode": mode})
        assert found.status_code == 200 and found.json()["memories"], found.text
    edited = api.patch("/long-term-memory/a1", params={"namespace": "team"}, json={"text": "Ana keeps wasps"})
    assert edited.status_code == 200, edited.text
    moved = api.patch(
        "/long-term-memory/b1", params={"namespace": "shop", "user_id": "u1"}, json={"user_id": "u2"}
    )
    assert moved.status_code == 200, moved.text
    chat_model.push(Reply.text("The user is allergic to peanuts."))
    compacted = api.post("/long-term-memory/compact", json={"namespace": "team"})
    task = api.get(f"/tasks/{compacted.json()['task_id']}").json()
    assert task["status"] == "finished" and task["result"]["removed"] == 1, task
    view = api.post("/v1/summary-views", json={"source": "long_term", "group_by": ["user_id"]}).json()
    chat_model.push(Reply.text("A user with a peanut allergy."))
    run = api.post(f"/v1/summary-views/{view['id']}/partitions/run", json={"group": {"user_id": "u1"}})
    assert run.status_code == 200, run.text
    assert api.delete(f"/v1/summary-views/{view['id']}").status_code == 200
    asyncio.run(_fill_tags())
    gone = api.delete("/long-term-memory", params={"memory_ids": ["a1", "a2"], "namespace": "team"})
    assert gone.status_code == 200, gone.text


async def _fill_tags() -> None:
    async with fresh_async_redis("long_term") as client:
        store = MemoryStore(client)
        records = [MemoryRecord.model_validate_json(raw) for raw in await store.get_many("team", ["a1"])]
        assert await store.fill_tags([(record, ["bees"], ["Ana"]) for record in records]) == 1


def _move_a_memory_to_its_owner_key(redis_client) -> None:
    """Migration 3 on a user's memory stored without its owner in the key."""
    from longterm_app.maintenance import migrate
    from longterm_app.repository import MIGRATION_VERSION_KEY

    key = next(redis_client.scan_iter(match="memory:{shop}:~u2:*"))
    redis_client.rename(key, key.replace(b":~u2:", b":"))
    redis_client.set(MIGRATION_VERSION_KEY, 2)
    assert [applied.version for applied, moved in migrate(redis_client) if moved] == [3]
