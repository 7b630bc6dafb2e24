"""A primary fails over to its replica while the server appends to sessions: every append
the server acknowledged is still there afterwards, and appends go on without errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from redis.crc import key_slot

from memoryserver.localcluster import LocalCluster
from sessions_app.repository import doc_key
from sessions_app.schemas import SessionKey

SESSIONS = [f"s{number}" for number in range(12)]


@pytest.fixture(scope="module")
def replicated_cluster() -> Iterator[LocalCluster]:
    with LocalCluster(primaries=3, replicas=1) as cluster:
        yield cluster


@pytest.fixture
def on_replicated_cluster(settings, replicated_cluster: LocalCluster) -> LocalCluster:
    replicated_cluster.flush()
    settings.WORKING_MEMORY_REDIS_URL = replicated_cluster.url
    return replicated_cluster


def _owner_of(cluster: LocalCluster, session: str) -> int:
    """The port of the primary serving that session's slot."""
    slot = key_slot(doc_key(SessionKey("default", None, session)).encode())
    for first, last, primary, *_ in cluster.nodes[0].client.execute_command("CLUSTER", "SLOTS"):
        if first <= slot <= last:
            return int(primary[1])
    raise AssertionError(f"slot {slot} is not served")


def test_no_acknowledged_append_is_lost_in_a_failover(live_server_url, redis_client, on_replicated_cluster):
    cluster = on_replicated_cluster
    acknowledged: dict[str, list[str]] = {session: [] for session in SESSIONS}
    failures: list[str] = []
    stop = threading.Event()

    def write() -> None:
        number = 0
        with httpx.Client(base_url=live_server_url, timeout=30) as client:
            while not stop.is_set():
                session = SESSIONS[number % len(SESSIONS)]
                message = {"id": f"m{number}", "role": "user", "content": f"Message {number}"}
                response = client.post(f"/v1/working-memory/{session}/messages", json={"messages": [message]})
                if response.status_code == 200:
                    acknowledged[session].append(message["id"])
                else:
                    failures.append(f"{response.status_code} {response.text}")
                number += 1

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(1.0)
    old_primary = _owner_of(cluster, SESSIONS[0])
    (replica,) = [node for node in cluster.nodes if node.replica_of == old_primary]
    before = sum(map(len, acknowledged.values()))
    replica.client.execute_command("CLUSTER", "FAILOVER")
    deadline = time.monotonic() + 20
    while replica.client.info("replication")["role"] != "master":
        assert time.monotonic() < deadline, "the replica did not take over"
        time.sleep(0.05)
    time.sleep(1.0)
    stop.set()
    writer.join(timeout=30)

    assert _owner_of(cluster, SESSIONS[0]) == replica.port  # the failover happened
    assert sum(map(len, acknowledged.values())) > before + 10  # and appends went on through it
    assert failures == []
    with httpx.Client(base_url=live_server_url, timeout=30) as client:
        for session, ids in acknowledged.items():
            stored = client.get(f"/v1/working-memory/{session}", params={"window_size": 100000}).json()
            assert [message["id"] for message in stored["messages"]] == ids, session
