"""server.http_protocol, served in-process on a free port as uvicorn builds it: request headers
must be complete within REQUEST_HEADER_TIMEOUT_SECONDS (tests/reliability drives the real command)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from server.http_protocol import HeaderTimeoutProtocol

TIMEOUT_S = 0.3
Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture(autouse=True)
def short_header_timeout(settings):
    settings.CONFIG = settings.CONFIG.model_copy(update={"request_header_timeout_seconds": TIMEOUT_S})


class SlowApp:
    """Answers "ok" after `delay` seconds; counts its requests."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.calls = delay, 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def connection(app: SlowApp) -> AsyncIterator[Connection]:
    config = uvicorn.Config(app, lifespan="off", log_level="warning")
    config.load()
    state = ServerState()
    state.default_headers = [(b"server", b"memory-test")]
    server = await asyncio.get_running_loop().create_server(
        lambda: HeaderTimeoutProtocol(config=config, server_state=state, app_state={}), "127.0.0.1", 0
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
    try:
        yield reader, writer
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("sent", [b"GET /health HT", b"GET /health HTTP/1.1\r\nHost: test\r\nX-Half: "])
def test_headers_not_complete_in_time_get_a_json_408_and_the_app_never_runs(sent):
    app = SlowApp()

    async def stalled() -> tuple[bytes, float]:
        async with connection(app) as (reader, writer):
            started = time.monotonic()
            writer.write(sent)
            reply = await asyncio.wait_for(reader.read(), TIMEOUT_S + 10)  # until the server closes
            return reply, time.monotonic() - started

    reply, elapsed = asyncio.run(stalled())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ") and b"server: memory-test" in head
    assert f"content-length: {len(body)}".encode() in head and b"connection: close" in head
    assert json.loads(body) == {
        "detail": f"The request headers did not arrive within {TIMEOUT_S:g} seconds "
        "(REQUEST_HEADER_TIMEOUT_SECONDS).",
        "status_code": 408,
    }
    assert elapsed >= TIMEOUT_S - 0.05 and app.calls == 0


def test_the_deadline_ends_with_the_headers_so_a_slow_app_keeps_its_connection():
    """A deadline still running while the app works would close the kept-alive connection."""
    app = SlowApp(delay=TIMEOUT_S * 2)

    async def two_requests_on_one_connection() -> list[bytes]:
        replies = []
        async with connection(app) as (reader, writer):
            for _ in range(2):
                writer.write(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT_S + 10)
                replies.append(head + await reader.readexactly(2))
        return replies

    replies = asyncio.run(two_requests_on_one_connection())
    assert all(reply.startswith(b"HTTP/1.1 200 ") and reply.endswith(b"ok") for reply in replies)
    assert not any(b"connection: close" in reply for reply in replies)
    assert app.calls == 2
