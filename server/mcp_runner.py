"""Start the MCP server on one transport: stdio, SSE or streamable HTTP (used by `manage.py mcp`)."""

from __future__ import annotations

import logging
from typing import Literal

import anyio
import uvicorn

from mcp_app.http import build_http_app
from mcp_app.server import MemoryMCP, build_server
from mcp_app.tenancy import Binding
from memoryserver.redis import close_async_clients
from server.warm_up import warm_up

logger = logging.getLogger(__name__)

Mode = Literal["stdio", "sse", "streamable-http"]
ENDPOINTS = {"sse": "/sse", "streamable-http": "/mcp"}


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
