"""ASGI middleware that guards request bodies: too large (413) or too slow (408).

Django's ASGI handler buffers the whole body before any view runs, so both guards have to
sit in front of it. Size: by Content-Length when given, by counting chunks otherwise.
Time: the whole body must arrive within the timeout, counted from the moment the headers
were complete; otherwise a client that sends headers and then stalls holds the request
(and a worker slot) open for as long as it likes. The deadline ends with the body: Django
keeps calling `receive` while the view runs, to notice a disconnect, and a slow view is
not a slow client.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

Scope = dict[str, Any]
Message = dict[str, Any]
_DISCONNECT: Message = {"type": "http.disconnect"}


def _error(status: int, detail: str) -> tuple[Message, Message]:
    body = orjson.dumps({"detail": detail, "status_code": status})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 408:
        # The rest of the body may still arrive; it must not be read as the next request.
        headers.append((b"connection", b"close"))
    start = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body}


class BodySizeLimit:
    """Refuses bodies over `max_bytes` (413) and bodies not complete within `timeout_seconds` (408)."""

    def __init__(self, app: Any, max_bytes: int, timeout_seconds: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(send, 400, "Content-Length is not a number.")
                return
            if int(declared) > self.max_bytes:
                await self._refuse(send, 413, self._too_large())
                return
        await self.app(scope, _Guarded(self, receive, send), send)

    def _too_large(self) -> str:
        return f"Request body is larger than the limit of {self.max_bytes} bytes."

    def _too_slow(self) -> str:
        return (
            f"The request body did not arrive within {self.timeout_seconds:g} seconds "
            "(REQUEST_BODY_TIMEOUT_SECONDS)."
        )

    async def _refuse(self, send: Any, status: int, detail: str) -> None:
        for message in _error(status, detail):
            await send(message)


class _Guarded:
    """The `receive` handed to the application: counts body bytes and enforces the deadline."""

    def __init__(self, limit: BodySizeLimit, receive: Any, send: Any) -> None:
        self.limit = limit
        self.receive = receive
        self.send = send
        self.received = 0
        self.complete = False
        self.refused = False
        timeout = limit.timeout_seconds
        self.deadline = None if timeout is None else asyncio.get_running_loop().time() + timeout

    async def __call__(self) -> Message:
        if self.refused:
            return _DISCONNECT
        if self.complete or self.deadline is None:
            message: Message = await self.receive()
        else:
            try:
                async with asyncio.timeout_at(self.deadline):
                    message = await self.receive()
            except TimeoutError:
                return await self._refuse(408, self.limit._too_slow())
        if message["type"] == "http.request":
            self.complete = not message.get("more_body", False)
            self.received += len(message.get("body", b""))
            if self.received > self.limit.max_bytes:
                return await self._refuse(413, self.limit._too_large())
        return message

    async def _refuse(self, status: int, detail: str) -> Message:
        # The application sees a disconnect (Django then stops without answering); the
        # client gets the error instead.
        self.refused = True
        await self.limit._refuse(self.send, status, detail)
        return _DISCONNECT
