"""Sessions stored before the hash-tagged key layout are renamed once, at start-up."""

from __future__ import annotations

from memoryserver.startup import check_redis
from sessions_app.repository import LAYOUT_KEY, upgrade_layout


def test_sessions_of_the_old_layout_are_renamed_and_served(api, redis_client):
    session = {"messages": [{"role": "user", "content": "Hello"}], "ttl_seconds": 500}
    assert api.put("/v1/working-memory/trip", params={"user_id": "alice"}, json=session).status_code == 200
    # As an older server stored it:
    redis_client.rename("working_memory:{default:alice:trip}", "working_memory:default:alice:trip")
    redis_client.hset("working_memory_extraction:default:alice:trip", "m1", "done")
    redis_client.delete(LAYOUT_KEY)

    check_redis()

    assert redis_client.exists("working_memory:default:alice:trip") == 0
    assert 0 < redis_client.ttl("working_memory:{default:alice:trip}") <= 500
    assert redis_client.hget("working_memory_extraction:{default:alice:trip}", "m1") == b"done"
    got = api.get("/v1/working-memory/trip", params={"user_id": "alice"})
    assert got.status_code == 200 and got.json()["session_id"] == "trip"
    assert api.get("/v1/working-memory/").json()["sessions"] == ["trip"]
    assert redis_client.get(LAYOUT_KEY) == b"2"


def test_the_upgrade_runs_once_and_a_newer_session_wins(redis_client):
    redis_client.set("working_memory:default::old", "{}")
    redis_client.set("working_memory:{default::old}", '{"newer": true}')
    assert upgrade_layout(redis_client) == 0  # the newer session stays, the old copy goes
    assert redis_client.get("working_memory:{default::old}") == b'{"newer": true}'
    assert redis_client.exists("working_memory:default::old") == 0
    redis_client.set("working_memory:default::later", "{}")
    assert upgrade_layout(redis_client) == 0  # done once: not scanned again
    assert redis_client.exists("working_memory:default::later") == 1
