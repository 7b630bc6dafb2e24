"""Pooled connections of a Redis that was killed (kill -9) and restarted are not handed out again.

Issue 13: after a restart, the first burst of requests got one 503 per connection left in
the pool. These tests use the project's client factories on a real Redis with AOF.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import redis
from django.test import override_settings

from memoryserver.redis import close_async_clients, close_sync_clients, get_async_redis, get_redis
from server.localredis import LocalRedis, free_port

BURST = 20
ONE_URL = {"WORKING_MEMORY_REDIS_URL": "", "LONG_TERM_MEMORY_REDIS_URL": ""}  # all stores on REDIS_URL


def kill9_and_restart(server: LocalRedis) -> None:
    """SIGKILL, as the probe did: no shutdown, the kernel closes every client socket."""
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)
    server.process = None
    server.start()


def connected_clients(url: str) -> int:
    with redis.Redis.from_url(url) as admin:
        return int(admin.info("clients")["connected_clients"]) - 1


@contextmanager
def redis_with_aof(tmp_path: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(data_dir=tmp_path / "redis").start()
    try:
        with override_settings(REDIS_URL=server.url, **ONE_URL):
            yield server
    finally:
        close_sync_clients()
        server.stop()


@pytest.mark.timeout(60)
def test_async_client_reuses_no_connection_of_a_killed_redis(tmp_path: Path) -> None:
    with redis_with_aof(tmp_path) as server:

        async def burst() -> list[BaseException | None]:
            client = get_async_redis()

            async def one(i: int) -> None:
                await client.incr("counter")
                await client.get("counter")

            return await asyncio.gather(*(one(i) for i in range(BURST)), return_exceptions=True)

        async def scenario() -> tuple[int, list[BaseException | None]]:
            assert not any(await burst())
            pooled = connected_clients(server.url)
            # In a thread, so the event loop keeps running meanwhile, as in a live server.
            await asyncio.to_thread(kill9_and_restart, server)
            try:
                return pooled, await burst()
            finally:
                await close_async_clients()

        pooled, after_restart = asyncio.run(scenario())
        assert pooled >= BURST // 2  # several connections were in the pool when Redis died
        assert [f"{type(e).__name__}: {e}" for e in after_restart if e is not None] == []
        # Each INCR ran exactly once: AOF kept the first burst, nothing was sent twice.
        assert int(redis.Redis.from_url(server.url).get("counter") or 0) == 2 * BURST


@pytest.mark.timeout(60)
def test_sync_client_reuses_no_connection_of_a_killed_redis(tmp_path: Path) -> None:
    with redis_with_aof(tmp_path) as server:

        def burst() -> list[str]:
            def one(i: int) -> str:
                try:
                    get_redis().incr("counter")
                    get_redis().get("counter")
                except redis.RedisError as error:
                    return repr(error)
                return ""

            with ThreadPoolExecutor(BURST) as pool:
                return [e for e in pool.map(one, range(BURST)) if e]

        assert burst() == []
        kill9_and_restart(server)
        assert burst() == []
        assert int(redis.Redis.from_url(server.url).get("counter") or 0) == 2 * BURST


class ReplyDroppingProxy:
    """A TCP relay to a real Redis that, when told, passes one command on and then hangs up
    on the client before the reply comes back: the command ran, its answer was lost."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.cut_next = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._sockets += [client, upstream]
            cut = threading.Event()
            threading.Thread(target=self._to_upstream, args=(client, upstream, cut), daemon=True).start()
            threading.Thread(target=self._to_client, args=(upstream, client, cut), daemon=True).start()

    def _to_upstream(self, client: socket.socket, upstream: socket.socket, cut: threading.Event) -> None:
        while data := self._recv(client):
            if self.cut_next.is_set():
                self.cut_next.clear()
                cut.set()
            upstream.sendall(data)

    def _to_client(self, upstream: socket.socket, client: socket.socket, cut: threading.Event) -> None:
        while data := self._recv(upstream):
            if cut.is_set():
                break
            client.sendall(data)
        self._hang_up(client, upstream)

    @staticmethod
    def _hang_up(*sockets: socket.socket) -> None:
        # shutdown, not just close: the other relay thread may still block in recv().
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @staticmethod
    def _recv(sock: socket.socket) -> bytes:
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    def close(self) -> None:
        self._listener.close()
        self._hang_up(*self._sockets)


@pytest.mark.timeout(60)
def test_a_read_whose_reply_was_lost_is_sent_again_but_a_write_is_not(tmp_path: Path) -> None:
    with LocalRedis() as server:
        proxy = ReplyDroppingProxy(server.port)
        direct = redis.Redis.from_url(server.url)
        try:
            with override_settings(REDIS_URL=proxy.url, **ONE_URL):

                async def scenario() -> None:
                    client = get_async_redis()
                    await client.set("counter", 0)
                    proxy.cut_next.set()
                    with pytest.raises(redis.ConnectionError):
                        await client.incr("counter")  # ran once; its reply was lost
                    assert direct.get("counter") == b"1"  # not run a second time

                    proxy.cut_next.set()
                    assert await client.get("counter") == b"1"  # a read is simply asked again
                    assert await client.incr("counter") == 2  # and the client goes on normally
                    await close_async_clients()

                asyncio.run(scenario())

                get_redis().set("counter", 0)
                proxy.cut_next.set()
                with pytest.raises(redis.ConnectionError):
                    get_redis().incr("counter")
                assert direct.get("counter") == b"1"
                proxy.cut_next.set()
                assert get_redis().get("counter") == b"1"
        finally:
            close_sync_clients()
            direct.close()
            proxy.close()
