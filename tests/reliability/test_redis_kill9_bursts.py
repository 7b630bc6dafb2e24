"""Redis is killed (kill -9) and restarted: once it answers again, no request gets a 503.

Issue 13's probe: auth on (API tokens, checked in Redis), one web process, Redis with AOF;
after the restart a burst of 30 concurrent requests got 13 times 503, one per connection the
pool still held from the dead server. Concurrency matters: only a burst fills the pool.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis

from memoryserver.auth.api_tokens import create_token
from memoryserver.auth.principal import READ, WRITE
from server.localredis import LocalRedis
from tests.reliability.processes import base_env, web_server

BURST = 30


@dataclass
class Traffic:
    """Concurrent bursts over working and long-term memory, reads and writes, counted by status."""

    client: httpx.Client
    sent: int = 0
    bursts: list[Counter[int]] = field(default_factory=list)

    def request(self, i: int) -> int:
        kind = i % 4
        if kind == 0:
            body = {"messages": [{"role": "user", "content": f"m{i}"}]}
            response = self.client.put(f"/sessions/s{i}/memory", json=body)
        elif kind == 1:
            response = self.client.get("/sessions/s0/memory")  # written before the first burst
        elif kind == 2:
            body = {"memories": [{"id": f"lt{i}", "text": f"fact number {i}"}]}
            response = self.client.post("/long-term-memory", json=body)
        else:
            response = self.client.post("/long-term-memory/search", json={"text": "fact", "limit": 5})
        return response.status_code

    def burst(self) -> Counter[int]:
        first, self.sent = self.sent, self.sent + BURST
        with ThreadPoolExecutor(BURST) as pool:
            counts = Counter(pool.map(self.request, range(first, first + BURST)))
        self.bursts.append(counts)
        return counts


@dataclass
class SteadyLoad:
    """One request after another, each noted with the time it started and its status."""

    traffic: Traffic
    answers: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        i = 1
        while not self.stop.is_set():
            started = time.monotonic()
            self.answers.append((started, self.traffic.request(i)))
            i += 4  # reads of s0 only: they succeed whenever Redis is up
            time.sleep(0.01)


def kill9_and_restart(server: LocalRedis) -> float:
    """Kill -9, let requests fail for a moment, restart; returns when Redis answers again."""
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    server.process = None
    time.sleep(0.5)
    server.start()
    return time.monotonic()


@pytest.mark.timeout(180)
def test_no_503_once_redis_is_back_after_kill9(tmp_path: Path) -> None:
    server = LocalRedis(data_dir=tmp_path / "redis").start()
    try:
        with redis.Redis.from_url(server.url) as admin:
            token, _ = create_token(admin, "restart probe", [READ, WRITE])
        auth_on = {"DISABLE_AUTH": "false", "AUTH_MODE": "token"}
        env = base_env(server.url, tmp_path, ENABLE_DISCRETE_MEMORY_EXTRACTION="false", **auth_on)
        with (
            web_server(env, tmp_path / "server.log") as url,
            httpx.Client(
                base_url=url,
                timeout=10,
                headers={"Authorization": f"Bearer {token}"},
                limits=httpx.Limits(max_connections=BURST + 5),
            ) as client,
        ):
            traffic = Traffic(client)
            assert traffic.request(0) == 200
            for _ in range(2):
                assert traffic.burst() == Counter({200: BURST})  # fills the server's Redis pools
            load = SteadyLoad(traffic)
            steady = threading.Thread(target=load.run)
            steady.start()
            try:
                back = kill9_and_restart(server)
                after = [traffic.burst()]
                time.sleep(2)  # idle, as between the probe's bursts
                after += [traffic.burst(), traffic.burst()]
            finally:
                load.stop.set()
                steady.join(timeout=30)

            print("after the restart, per burst:", after)  # noqa: T201  (figures for the issue)
            assert after == [Counter({200: BURST})] * 3
            first_after_restart = [status for started, status in load.answers if started >= back]
            assert first_after_restart[:1] == [200] and set(first_after_restart) == {200}
    finally:
        server.stop()
