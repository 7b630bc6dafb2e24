"""ASGI middleware that refuses oversized request bodies with 413 before reading them.

Django's ASGI handler buffers the whole body before any view runs, so the limit has to
sit in front of it: by Content-Length when given, by counting chunks otherwise.
"""

from __future__ import annotations

from typing import Any

import orjson

Scope = dict[str, Any]
Message = dict[str, Any]


def _error(status: int, detail: str) -> tuple[Message, Message]:
    body = orjson.dumps({"detail": detail, "status_code": status})
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, {"type": "http.response.body", "body": body}


class BodySizeLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

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
        await self.app(scope, self._counting(receive, send), send)

    def _too_large(self) -> str:
        return f"Request body is larger than the limit of {self.max_bytes} bytes."

    async def _refuse(self, send: Any, status: int, detail: str) -> None:
        for message in _error(status, detail):
            await send(message)

    def _counting(self, receive: Any, send: Any) -> Any:
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message: Message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    await self._refuse(send, 413, self._too_large())
                    return {"type": "http.disconnect"}
            return message

        return counted_receive
