"""Sessions stored before the hash-tagged key layout are moved once, at start-up (on a
cluster, tests/cluster re-runs these: there the keys move between slots by DUMP/RESTORE)."""

from __future__ import annotations

from memoryserver.redis import rename_unless_taken
from memoryserver.startup import check_redis
from sessions_app.repository import LAYOUT_KEY, upgrade_layout


def test_sessions_of_the_old_layout_are_moved_and_served(api, working_client):
    session = {"messages": [{"role": "user", "content": "Hello"}], "ttl_seconds": 500}
    assert api.put("/v1/working-memory/trip", params={"user_id": "alice"}, json=session).status_code == 200
    # As an older server stored it:
    rename_unless_taken(
        working_client, "working_memory:{default:alice:trip}", "working_memory:default:alice:trip"
    )
    working_client.hset("working_memory_extraction:default:alice:trip", "m1", "done")
    working_client.delete(LAYOUT_KEY)
    assert working_client.exists("working_memory:{default:alice:trip}") == 0

    check_redis()

    assert working_client.exists("working_memory:default:alice:trip") == 0
    assert 0 < working_client.ttl("working_memory:{default:alice:trip}") <= 500
    assert working_client.hget("working_memory_extraction:{default:alice:trip}", "m1") == b"done"
    got = api.get("/v1/working-memory/trip", params={"user_id": "alice"})
    assert got.status_code == 200 and got.json()["session_id"] == "trip"
    assert api.get("/v1/working-memory/").json()["sessions"] == ["trip"]
    assert working_client.get(LAYOUT_KEY) == b"2"


def test_the_upgrade_runs_once_and_a_newer_session_wins(working_client):
    working_client.set("working_memory:default::old", "{}")
    working_client.set("working_memory:{default::old}", '{"newer": true}')
    assert upgrade_layout(working_client) == 0  # the newer session stays, the old copy goes
    assert working_client.get("working_memory:{default::old}") == b'{"newer": true}'
    assert working_client.exists("working_memory:default::old") == 0
    working_client.set("working_memory:default::later", "{}")
    assert upgrade_layout(working_client) == 0  # done once: not scanned again
    assert working_client.exists("working_memory:default::later") == 1
