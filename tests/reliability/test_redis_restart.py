"""Redis stops and starts again (AOF on) under a stream of writes: nothing acknowledged is lost."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest

from server.localredis import LocalRedis
from tests.reliability.processes import base_env, wait_for, web_server


@dataclass
class Stream:
    """Writes working and long-term memory one after another, recording every answer."""

    client: httpx.Client
    acknowledged: list[int] = field(default_factory=list)
    refused: list[tuple[int, dict, float]] = field(default_factory=list)
    transport_errors: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def write(self, i: int) -> httpx.Response:
        if i % 2:
            return self.client.put(
                f"/sessions/s{i}/memory", json={"messages": [{"role": "user", "content": f"m{i}"}]}
            )
        return self.client.post(
            "/long-term-memory", json={"memories": [{"id": f"lt{i}", "text": f"fact number {i}"}]}
        )

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            started = time.monotonic()
            try:
                response = self.write(i)
            except httpx.TransportError:
                self.transport_errors += 1
                continue
            if response.status_code == 200:
                self.acknowledged.append(i)
            else:
                self.refused.append((response.status_code, response.json(), time.monotonic() - started))
                time.sleep(0.02)


@pytest.mark.timeout(240)
def test_acknowledged_writes_survive_a_redis_restart(tmp_path):
    redis_server = LocalRedis(data_dir=tmp_path / "redis").start()
    try:
        env = base_env(redis_server.url, tmp_path, ENABLE_DISCRETE_MEMORY_EXTRACTION="false")
        with (
            web_server(env, tmp_path / "server.log") as url,
            httpx.Client(base_url=url, timeout=10) as client,
        ):
            stream = Stream(client)
            writer = threading.Thread(target=stream.run)
            writer.start()
            try:
                wait_for(lambda: len(stream.acknowledged) >= 20, 60, "writes before the outage")
                redis_server.stop()
                wait_for(lambda: len(stream.refused) >= 5, 30, "refused writes during the outage")
                before_restart = len(stream.acknowledged)
                redis_server.start()
                wait_for(
                    lambda: len(stream.acknowledged) >= before_restart + 20, 60, "writes after the restart"
                )
            finally:
                stream.stop.set()
                writer.join(timeout=30)

            assert stream.transport_errors == 0
            for status, body, seconds in stream.refused:
                assert status == 503 and body["status_code"] == 503 and "Redis" in body["detail"]
                assert seconds < 5  # a clear answer, not a hang
            for i in stream.acknowledged:
                if i % 2:
                    memory = client.get(f"/sessions/s{i}/memory")
                    assert memory.status_code == 200 and memory.json()["messages"][0]["content"] == f"m{i}"
                else:
                    assert client.get(f"/long-term-memory/lt{i}").json()["text"] == f"fact number {i}"
            last = max(i for i in stream.acknowledged if i % 2 == 0)
            found = client.post("/long-term-memory/search", json={"text": f"fact number {last}", "limit": 50})
            assert f"lt{last}" in [m["id"] for m in found.json()["memories"]]  # still indexed
    finally:
        redis_server.stop()
