"""The request id: taken from a safe incoming `X-Request-ID` or generated, kept in a contextvar.

Every log record of a request carries it (see `logs.RequestIdFilter`) and the response
returns it in `X-Request-ID`. The lean API handler sets it inline; `RequestIdMiddleware`
does the same for the full Django stack (admin, docs) and the MCP HTTP transports.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar
from typing import Any

HEADER = "X-Request-ID"
# Where the id is left in the ASGI scope, for middleware outside the handler (tracing).
REQUEST_ID_SCOPE_KEY = "memoryserver.request_id"
_HEADER_KEY = b"x-request-id"
# Short and safe to echo into logs and headers: no spaces, quotes, CR/LF or markup.
_SAFE = re.compile(rb"[A-Za-z0-9._:-]{1,64}")

current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def request_id_for(headers: list[tuple[bytes, bytes]] | None) -> str:
    """The client's `X-Request-ID` when it is 1-64 safe characters, else a new random id."""
    for name, value in headers or ():
        if name.lower() == _HEADER_KEY:
            if _SAFE.fullmatch(value):
                return value.decode("ascii")
            break
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """ASGI middleware: sets the request id for the request and adds it to the response headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope[REQUEST_ID_SCOPE_KEY] = request_id_for(scope.get("headers"))
        header = (_HEADER_KEY, request_id.encode("ascii"))

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = [pair for pair in message.get("headers", []) if pair[0].lower() != _HEADER_KEY]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = current_request_id.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            current_request_id.reset(token)
