"""uvicorn's httptools protocol with a deadline for request headers (slowloris protection).

uvicorn times out idle keep-alive connections but not a request whose headers never
finish: a client can open a connection, send half a request line and hold the socket
(and a slot of `limit_concurrency`) for as long as it likes. Headers arrive before the
ASGI application sees anything, so the deadline has to live in the protocol: it runs from
the moment the connection opens (first request) or the request's first byte arrives (later
requests on a keep-alive connection) until the headers are complete, however slowly the
bytes trickle in. A request that misses it gets 408 and the connection is closed.

The body has its own deadline in `server.body_limit`, where the application can
answer with the API's JSON error. Use it as `uvicorn.run(..., http=HeaderTimeoutProtocol)`
(`agent-memory api` does) or `uvicorn --http server.http_protocol:HeaderTimeoutProtocol`.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def header_timeout_seconds() -> float:
    """REQUEST_HEADER_TIMEOUT_SECONDS, read when a connection opens (Django is set up by then)."""
    from django.conf import settings

    return float(settings.CONFIG.request_header_timeout_seconds)


def timeout_response(detail: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete HTTP/1.1 408 with the API's JSON error body, closing the connection."""
    body = orjson.dumps({"detail": detail, "status_code": 408})
    head = [b"HTTP/1.1 408 Request Timeout"]
    head += [name + b": " + value for name, value in default_headers]
    head += [
        b"content-type: application/json",
        b"content-length: " + str(len(body)).encode("ascii"),
        b"connection: close",
    ]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that answers 408 and closes when headers take longer than the timeout."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout_seconds()
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that never sends a byte is covered too: the first deadline runs from here.
        self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # Keeps the connection's deadline for its first request; starts one for later requests.
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request stalled behind a response still being sent: writing the 408
            # now would cut into that response, so let it finish and close the connection then.
            self.cycle.keep_alive = False
            return
        detail = (
            f"The request headers did not arrive within {self.header_timeout:g} seconds "
            "(REQUEST_HEADER_TIMEOUT_SECONDS)."
        )
        self.transport.write(timeout_response(detail, self.server_state.default_headers))
        self.transport.close()
