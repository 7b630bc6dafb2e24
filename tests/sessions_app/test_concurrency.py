"""Concurrent writers and readers of one session: last write wins whole, nothing corrupts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.helpers import conversation

ROUNDS = 40


def version(writer: str, round_: int) -> dict:
    tag = f"{writer}-{round_}"
    return {
        "messages": conversation(5, prefix=tag),
        "context": tag,
        "data": {"writer": writer, "round": round_},
        "memories": [{"text": f"memory of {tag}"}],
    }


def assert_whole(document: dict) -> None:
    """Every part of the document comes from the same write."""
    tag = document["context"]
    assert all(m["content"].startswith(tag + " ") for m in document["messages"]), document
    assert len(document["messages"]) == 5
    assert document["data"] == {"writer": tag.split("-")[0], "round": int(tag.split("-")[1])}
    assert document["memories"][0]["text"] == f"memory of {tag}"


def test_concurrent_writers_and_readers_never_see_half_a_session(live_server_url, redis_client):
    def write(writer: str) -> list[int]:
        with httpx.Client(base_url=live_server_url, timeout=10) as client:
            return [
                client.put("/sessions/race/memory", json=version(writer, i)).status_code
                for i in range(ROUNDS)
            ]

    def read() -> list[dict]:
        seen = []
        with httpx.Client(base_url=live_server_url, timeout=10) as client:
            for _ in range(ROUNDS):
                response = client.get("/sessions/race/memory")
                if response.status_code == 200:
                    seen.append(response.json())
                else:
                    assert response.status_code == 404
        return seen

    with ThreadPoolExecutor(max_workers=5) as pool:
        writers = [pool.submit(write, name) for name in ("alpha", "beta", "gamma")]
        readers = [pool.submit(read) for _ in range(2)]
        statuses = [status for future in writers for status in future.result()]
        seen = [document for future in readers for document in future.result()]

    assert statuses == [200] * (3 * ROUNDS)
    for document in seen:
        assert_whole(document)
    with httpx.Client(base_url=live_server_url) as client:
        final = client.get("/sessions/race/memory").json()
        assert client.get("/sessions/").json() == {"sessions": ["race"], "total": 1}
    assert_whole(final)
    assert final["context"] in {f"{w}-{ROUNDS - 1}" for w in ("alpha", "beta", "gamma")}


def test_concurrent_writers_of_different_sessions_all_land(live_server_url, redis_client):
    def write(index: int) -> int:
        with httpx.Client(base_url=live_server_url, timeout=10) as client:
            return client.put(f"/sessions/s{index}/memory", json=version(f"w{index}", 0)).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(write, range(50))) == [200] * 50
    with httpx.Client(base_url=live_server_url) as client:
        assert client.get("/sessions/", params={"limit": 100}).json()["total"] == 50
        for index in range(50):
            assert_whole(client.get(f"/sessions/s{index}/memory").json())
