"""The HTTP transports (SSE at /sse, streamable HTTP at /mcp) behind the REST API's auth.

`McpAuth` is ASGI middleware around FastMCP's Starlette app. It authenticates every HTTP
request as the REST API does (AUTH_MODE oauth2 / token / disabled, bearer token), narrows
the principal to the process's tenant binding, and leaves it in the ASGI scope, where the
server finds it for each tool call: the SDK hands tools the request that carried the call.
(A context variable would not do: streamable-HTTP sessions run in tasks started by the
session's first request, so they would keep its caller.) Failures answer like the REST
API: 401 with `WWW-Authenticate: Bearer`, 403, or 503, as `{"detail", "status_code"}`.
`/health` answers `{"now": <epoch seconds>}` without authentication, as the REST API does.
"""

from __future__ import annotations

import time
from typing import Literal

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_app.server import PRINCIPAL_SCOPE_KEY, MemoryMCP
from mcp_app.tenancy import Binding
from memoryserver.asgi_headers import header
from memoryserver.auth.authenticate import authenticate
from memoryserver.auth.principal import Principal
from memoryserver.errors import REDIS_DOWN, MemoryServerError, Unauthenticated, error_body
from memoryserver.observability.request_id import RequestIdMiddleware
from memoryserver.redis import REDIS_UNAVAILABLE, close_async_clients

HttpMode = Literal["sse", "streamable-http"]


def _refusal(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, detail), status_code=status, headers=headers)


class McpAuth:
    """Authenticates each HTTP request and closes this loop's Redis clients at shutdown."""

    def __init__(self, app: ASGIApp, binding: Binding) -> None:
        self.app = app
        self.binding = binding

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing_clients(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/health":  # liveness for containers and load balancers, like the API's
            await JSONResponse({"now": int(time.time())})(scope, receive, send)
            return
        try:
            principal = await self._authenticate(scope)
        except MemoryServerError as error:
            is_401 = isinstance(error, Unauthenticated)
            headers = {"WWW-Authenticate": "Bearer"} if is_401 else None
            await _refusal(error.status_code, error.detail, headers)(scope, receive, send)
            return
        except REDIS_UNAVAILABLE:
            await _refusal(503, REDIS_DOWN, {"Retry-After": "1"})(scope, receive, send)
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> Principal:
        return self.binding.bind(await authenticate(header(scope, b"authorization")))

    @staticmethod
    def _closing_clients(send: Send) -> Send:
        """Close the Redis clients of the serving loop before reporting shutdown complete."""

        async def send_after_closing(message: Message) -> None:
            if message["type"] == "lifespan.shutdown.complete":
                await close_async_clients()
            await send(message)

        return send_after_closing


def build_http_app(server: MemoryMCP, mode: HttpMode, binding: Binding) -> RequestIdMiddleware:
    """The ASGI app of one HTTP transport: SSE (/sse, /messages/) or streamable HTTP (/mcp).

    Also answers GET /health without authentication, and gives every request an X-Request-ID.
    """
    inner = server.sse_app() if mode == "sse" else server.streamable_http_app()
    return RequestIdMiddleware(McpAuth(inner, binding))
