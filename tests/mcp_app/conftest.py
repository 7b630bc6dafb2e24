"""Real MCP servers for the tests, driven by the official `mcp` client.

stdio: `manage.py mcp --mode stdio` in a subprocess on the test Redis. HTTP: the SSE and
streamable-HTTP apps served by uvicorn in threads of the test process (so settings
overrides such as AUTH_MODE reach them), one server per transport for the module.
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, InitializeResult, TextContent

from mcp_app.http import HttpMode, build_http_app
from mcp_app.server import build_server
from mcp_app.tenancy import Binding
from server.localredis import free_port

BASE_DIR = Path(__file__).resolve().parents[2]
HTTP_MODES: tuple[HttpMode, ...] = ("sse", "streamable-http")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Client:
    """An MCP client session with assertions: `call` expects success, `fail` a tool error."""

    def __init__(self, session: ClientSession, initialized: InitializeResult) -> None:
        self.session = session
        self.server_info = initialized.serverInfo

    async def tool_names(self) -> set[str]:
        return {tool.name for tool in (await self.session.list_tools()).tools}

    async def raw(self, name: str, **arguments: Any) -> CallToolResult:
        return await self.session.call_tool(name, arguments)

    async def call(self, name: str, **arguments: Any) -> dict[str, Any]:
        result = await self.raw(name, **arguments)
        assert not result.isError, f"{name} failed: {text_of(result)}"
        assert result.structuredContent is not None
        return result.structuredContent

    async def fail(self, name: str, **arguments: Any) -> str:
        result = await self.raw(name, **arguments)
        assert result.isError, f"{name} should have failed: {result.structuredContent}"
        return text_of(result)


def text_of(result: CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def child_env(redis_url: str) -> dict[str, str]:
    """The stdio server's environment: the test Redis, no auth, no developer .env file."""
    return {
        "REDIS_URL": redis_url,
        "DISABLE_AUTH": "true",
        "MEMORY_SERVER_ENV_FILE": str(BASE_DIR / "no-such-file.env"),
        "EMBEDDING_PROVIDER": "local",
        "LOG_LEVEL": "WARNING",
    }


@asynccontextmanager
async def stdio_session(redis_url: str, *options: str) -> AsyncIterator[Client]:
    """`manage.py mcp --mode stdio` in a subprocess; fails if stdout carries anything but protocol."""
    params = StdioServerParameters(
        command=sys.executable,
        args=[str(BASE_DIR / "manage.py"), "mcp", "--mode", "stdio", *options],
        env=child_env(redis_url),
        cwd=BASE_DIR,
    )
    stray: list[Exception] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):  # a stdout line that is not a JSON-RPC message
            stray.append(message)

    with tempfile.TemporaryFile("w+") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write, message_handler=on_message) as session,
        ):
            yield Client(session, await session.initialize())
        errlog.seek(0)
        assert not stray, f"stdout carried non-protocol output: {stray}; stderr: {errlog.read()}"


@asynccontextmanager
async def http_session(url: str, mode: HttpMode, token: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if mode == "sse":
        async with (
            sse_client(f"{url}/sse", headers=headers) as (read, write),
            ClientSession(read, write) as session,
        ):
            yield Client(session, await session.initialize())
        return
    timeout = httpx.Timeout(30, read=300)
    async with (
        httpx.AsyncClient(headers=headers, timeout=timeout) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        yield Client(session, await session.initialize())


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free port."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def mcp_urls(use_test_redis: str) -> Iterator[dict[HttpMode, str]]:
    """One MCP server per HTTP transport, unbound, for the module."""
    with serve(_app("sse")) as sse_url, serve(_app("streamable-http")) as http_url:
        yield {"sse": sse_url, "streamable-http": http_url}


def _app(mode: HttpMode) -> Any:
    binding = Binding()
    return build_http_app(build_server(binding), mode, binding)
