"""A primary fails over to its replica while the server appends to sessions: every append
the server acknowledged is still there afterwards. A planned failover (CLUSTER FAILOVER)
refuses nothing; after a crash, with WORKING_MEMORY_WAIT_REPLICAS, only appends made while
the slot had no primary are refused (503), and none that was acknowledged is lost."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from redis.crc import key_slot

from server.localcluster import ClusterNode, LocalCluster
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


def _owner_of(cluster: LocalCluster, session: str, ask: ClusterNode | None = None) -> int:
    """The port of the primary serving that session's slot, as a node sees it."""
    slot = key_slot(doc_key(SessionKey("default", None, session)).encode())
    for first, last, primary, *_ in (ask or cluster.nodes[0]).client.execute_command("CLUSTER", "SLOTS"):
        if first <= slot <= last:
            return int(primary[1])
    raise AssertionError(f"slot {slot} is not served")


def test_no_acknowledged_append_is_lost_in_a_failover(live_server_url, redis_client, on_replicated_cluster):
    cluster = on_replicated_cluster
    acknowledged, refused, stop = _stream_of_appends(live_server_url)
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
    stop()
    assert _owner_of(cluster, SESSIONS[0]) == replica.port  # the failover happened
    assert sum(map(len, acknowledged.values())) > before + 10  # and appends went on through it
    assert refused == []
    _assert_all_stored(live_server_url, acknowledged)


def _stream_of_appends(base_url: str) -> tuple[dict[str, list[str]], list[int], Callable[[], None]]:
    """Appends to SESSIONS in turn, from a thread, until the returned `stop` is called: the ids
    of the acknowledged messages per session, and the status of each refused append."""
    acknowledged: dict[str, list[str]] = {session: [] for session in SESSIONS}
    refused: list[int] = []
    stopped = threading.Event()

    def write() -> None:
        number = 0
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while not stopped.is_set():
                session = SESSIONS[number % len(SESSIONS)]
                message = {"id": f"m{number}", "role": "user", "content": f"Message {number}"}
                response = client.post(f"/v1/working-memory/{session}/messages", json={"messages": [message]})
                if response.status_code == 200:
                    acknowledged[session].append(message["id"])
                else:
                    refused.append(response.status_code)
                number += 1

    writer = threading.Thread(target=write)
    writer.start()

    def stop() -> None:
        stopped.set()
        writer.join(timeout=60)

    return acknowledged, refused, stop


def _assert_all_stored(base_url: str, acknowledged: dict[str, list[str]]) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for session, ids in acknowledged.items():
            stored = client.get(f"/v1/working-memory/{session}", params={"window_size": 100000}).json()
            held = [message["id"] for message in stored["messages"]]
            assert [i for i in held if i in set(ids)] == ids, session  # in order, none missing


def test_with_replica_waits_no_acknowledged_append_is_lost_when_a_primary_crashes(
    live_server_url, redis_client, settings
):
    settings.WORKING_MEMORY_WAIT_REPLICAS = 1
    # Two replicas per primary: after the crash, the promoted one still has a replica to
    # confirm writes (with one, its slots could not take a confirmed write until another
    # joins); three primaries, so that two remain to elect it.
    with LocalCluster(primaries=3, replicas=2) as cluster:
        settings.WORKING_MEMORY_REDIS_URL = cluster.url
        acknowledged, refused, stop = _stream_of_appends(live_server_url)
        try:
            time.sleep(1.0)
            victim = _owner_of(cluster, SESSIONS[0])
            (primary,) = [node for node in cluster.nodes if node.port == victim]
            primary.process.kill()  # a crash: no hand-over
            deadline = time.monotonic() + 30
            while _owner_of(cluster, SESSIONS[0], ask=cluster.nodes[-1]) == victim:
                assert time.monotonic() < deadline, "no replica took over"
                time.sleep(0.1)
            taken_over = {session: len(ids) for session, ids in acknowledged.items()}
            # Every session takes appends again, the crashed primary's too.
            while any(len(acknowledged[session]) <= count for session, count in taken_over.items()):
                assert time.monotonic() < deadline + 30, "appends did not resume on every session"
                time.sleep(0.1)
        finally:
            stop()
        assert set(refused) <= {503}, refused  # while the slot had no primary
        _assert_all_stored(live_server_url, acknowledged)
