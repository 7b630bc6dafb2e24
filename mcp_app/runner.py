"""Start the MCP server on one transport: stdio, SSE or streamable HTTP (used by `manage.py mcp`)."""

from __future__ import annotations

import logging
from typing import Literal

import anyio
import uvicorn
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from longterm_app.services import ensure_memory_index
from mcp_app.http import build_http_app
from mcp_app.server import MemoryMCP, build_server
from mcp_app.tenancy import Binding
from memoryserver.embeddings import get_embedder
from memoryserver.redis import close_async_clients
from memoryserver.tokens import count_text

logger = logging.getLogger(__name__)

Mode = Literal["stdio", "sse", "streamable-http"]
ENDPOINTS = {"sse": "/sse", "streamable-http": "/mcp"}


def warm_up() -> None:
    """Load the tokenizer and embedding model, and make sure the search index exists.

    Done before serving, so the first tool call is not the slow one.
    """
    count_text("warm up")
    embedder = get_embedder()
    embedder.embed("warm up")
    try:
        ensure_memory_index(embedder)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("Redis is unreachable at start-up; the search index will be created on first use.")


async def _serve_stdio(server: MemoryMCP) -> None:
    try:
        await server.run_stdio_async()
    finally:
        await close_async_clients()


def run(mode: Mode, host: str, port: int, binding: Binding) -> None:
    """Serve until stdin closes (stdio) or the process is interrupted (HTTP)."""
    warm_up()
    server = build_server(binding, host=host, port=port)
    if mode == "stdio":
        logger.info("MCP server on stdio (%s)", binding.describe())
        anyio.run(_serve_stdio, server)
        return
    logger.info("MCP server at http://%s:%s%s (%s)", host, port, ENDPOINTS[mode], binding.describe())
    app = build_http_app(server, mode, binding)
    # log_config=None: uvicorn's loggers go through Django's LOGGING (stderr), like everything else.
    uvicorn.run(app, host=host, port=port, lifespan="on", log_config=None, access_log=False)
