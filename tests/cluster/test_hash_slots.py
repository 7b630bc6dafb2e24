"""Working memory on a Redis Cluster: every script keeps its keys in one hash slot, and the
sessions spread over the primaries."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import pytest
import redis
from redis.commands.core import AsyncScript, Script
from redis.crc import key_slot

from memoryserver.auth.api_tokens import create_token, list_tokens, remove_token
from sessions_app import repository
from sessions_app.repository import SessionJobStore
from sessions_app.schemas import SessionKey


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
