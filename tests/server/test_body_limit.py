"""server.body_limit, called as an ASGI wrapper with the client scripted here: bodies too large
(413) or too slow (408) are answered before the application has read them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from server.body_limit import BodySizeLimit

LIMIT = 100
Message = dict[str, Any]


class Client:
    """Sends body chunks, each after `delay` seconds, then nothing. A client that `stalls`
    announces more body after its last chunk and never sends it."""

    def __init__(self, *chunks: bytes, delay: float = 0.0, stalls: bool = False) -> None:
        self.chunks, self.delay, self.stalls, self.taken = list(chunks), delay, stalls, 0

    async def receive(self) -> Message:
        if self.taken == len(self.chunks):
            await asyncio.Event().wait()  # never set
        await asyncio.sleep(self.delay)
        self.taken += 1
        more = self.stalls or self.taken < len(self.chunks)
        return {"type": "http.request", "body": self.chunks[self.taken - 1], "more_body": more}


class BodyReader:
    """Reads the body as Django's handler does (to the last chunk or a disconnect), then
    answers 200 with the number of bytes it got."""

    def __init__(self) -> None:
        self.seen: list[Message] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        while not self.seen or self.seen[-1].get("more_body"):
            self.seen.append(await receive())
            if self.seen[-1]["type"] == "http.disconnect":
                return
        size = sum(len(message["body"]) for message in self.seen)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(size).encode()})


def call(
    app: Any, client: Client, length: bytes | None = None, timeout: float | None = None
) -> list[Message]:
    headers = [(b"content-length", length)] if length is not None else []
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/long-term-memory", "headers": headers}
    asyncio.run(BodySizeLimit(app, LIMIT, timeout)(scope, client.receive, send))
    return sent


def answer(sent: list[Message]) -> tuple[int, dict[bytes, bytes], dict[str, Any]]:
    """(status, headers, JSON body) of the one response that was sent."""
    start, body = sent
    return start["status"], dict(start["headers"]), json.loads(body["body"])


def test_a_declared_body_over_the_limit_gets_413_and_the_app_is_never_called():
    app, client = BodyReader(), Client(b"x" * (LIMIT + 1))
    status, headers, body = answer(call(app, client, str(LIMIT + 1).encode()))
    assert (status, body) == (
        413,
        {"detail": f"Request body is larger than the limit of {LIMIT} bytes.", "status_code": 413},
    )
    assert headers[b"content-type"] == b"application/json"
    assert int(headers[b"content-length"]) == len(json.dumps(body, separators=(",", ":")))
    assert app.seen == [] and client.taken == 0


@pytest.mark.parametrize("declared", [b"ten", b"-1", b"1e3", b" 5", b""])
def test_a_content_length_that_is_not_a_number_is_a_400_before_the_app(declared):
    app = BodyReader()
    status, _, body = answer(call(app, Client(b"{}"), declared))
    assert (status, body["detail"], app.seen) == (400, "Content-Length is not a number.", [])


def test_an_undeclared_body_of_exactly_the_limit_reaches_the_app():
    sent = call(BodyReader(), Client(b"x" * 60, b"y" * 40))
    assert (sent[0]["status"], sent[1]["body"]) == (200, str(LIMIT).encode())


def test_an_undeclared_body_is_cut_off_as_it_passes_the_limit_and_the_app_sees_a_disconnect():
    app, client = BodyReader(), Client(b"a" * 60, b"b" * 60, b"c" * 10)
    assert answer(call(app, client))[0] == 413  # and nothing of the app's own
    assert client.taken == 2  # the third chunk was never asked for
    assert [message["type"] for message in app.seen] == ["http.request", "http.disconnect"]


def test_a_body_that_stalls_gets_408_with_the_connection_closed():
    app = BodyReader()
    status, headers, body = answer(call(app, Client(b"[", stalls=True), b"50", timeout=0.05))
    assert (status, headers[b"connection"]) == (408, b"close")
    assert (
        body["detail"]
        == "The request body did not arrive within 0.05 seconds (REQUEST_BODY_TIMEOUT_SECONDS)."
    )
    assert app.seen[-1] == {"type": "http.disconnect"}


def test_the_deadline_covers_the_whole_body_not_each_chunk():
    client = Client(*[b"x" * 5] * 6, delay=0.03)  # each chunk in time, all of them not
    assert answer(call(BodyReader(), client, timeout=0.1))[0] == 408
    assert client.taken < 6


def test_a_slow_view_after_the_body_is_complete_is_not_timed_out():
    """Django keeps listening for a disconnect while the view runs; that wait has no deadline."""

    async def slow_view(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert not (await receive())["more_body"]
        with pytest.raises(TimeoutError):  # the client stays connected and silent
            await asyncio.wait_for(receive(), 0.2)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    sent = call(slow_view, Client(b"{}"), b"2", timeout=0.05)
    assert [message.get("status") for message in sent] == [200, None]
