"""server.api_handler, called with ASGI messages: API paths go to the lean handler, pages to
Django's full stack, and both answer with a request id."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memoryserver.observability.tracing import ROUTE_SCOPE_KEY
from server.api_handler import ApiASGIHandler, PathRouter

Message = dict[str, Any]
EMPTY_BODY = {"type": "http.request", "body": b""}


def http_scope(path: str, request_id: bytes | None = None) -> dict[str, Any]:
    headers = [(b"host", b"testserver")] + ([(b"x-request-id", request_id)] if request_id else [])
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": headers}


async def exchange(app: Any, scope: dict[str, Any], *incoming: Message) -> list[Message]:
    """What `app` sends for one request whose client sends `incoming`, then disconnects."""
    queue, sent = list(incoming), []

    async def receive() -> Message:
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


def call(app: Any, scope: dict[str, Any], *incoming: Message) -> tuple[list[Message], dict[str, list[str]]]:
    """The messages sent, and the response's headers by lower-case name with all their values."""
    sent = asyncio.run(exchange(app, scope, *incoming))
    headers: dict[str, list[str]] = {}
    for name, value in sent[0]["headers"] if sent else []:
        headers.setdefault(name.decode().lower(), []).append(value.decode())
    return sent, headers


class Named:
    """An application that answers with its name, and a request id header of its own."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"x-request-id", b"set-by-the-app")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": self.name.encode()})


ROUTER = PathRouter(Named("api"), Named("full"))


@pytest.mark.parametrize(
    ("path", "served_by"),
    [
        ("/health", "api"),
        ("/sessions/s-1/memory", "api"),
        ("/tasks/job-1", "api"),
        ("/v1/working-memory/", "api"),
        ("/docs", "full"),
        ("/admin/login/", "full"),
        ("/v1", "full"),
    ],
)
def test_api_paths_go_to_the_lean_handler_and_pages_to_the_full_stack(path, served_by):
    sent, _ = call(ROUTER, http_scope(path))
    assert sent[1]["body"] == served_by.encode()


@pytest.mark.parametrize(("sent_id", "kept"), [(b"trace-7:a.b", True), (b"<script>", False)])
def test_the_full_stack_sets_one_request_id_keeping_a_safe_one_from_the_client(sent_id, kept):
    _, headers = call(ROUTER, http_scope("/docs", sent_id))
    (request_id,) = headers["x-request-id"]  # the app's own header was replaced
    assert (request_id == sent_id.decode()) is kept
    assert kept or len(request_id) == 32


def test_the_lean_handler_answers_with_the_request_id_safety_headers_and_the_route_name():
    scope = http_scope("/health", b"trace-7")
    sent, headers = call(ApiASGIHandler(), scope, EMPTY_BODY)
    assert sent[0]["status"] == 200 and b'"now":' in sent[1]["body"]
    assert headers["x-request-id"] == ["trace-7"]
    assert (headers["x-content-type-options"], headers["cache-control"]) == (["nosniff"], ["no-store"])
    assert scope[ROUTE_SCOPE_KEY] == "health"  # what metrics and tracing name it by


def test_a_path_no_route_matches_is_a_json_404_named_unmatched_not_by_its_path():
    scope = http_scope("/sessions/s-1/no-such-thing")
    sent, headers = call(ApiASGIHandler(), scope, EMPTY_BODY)
    assert sent[0]["status"] == 404 and headers["content-type"] == ["application/json"]
    assert len(headers["x-request-id"][0]) == 32 and headers["cache-control"] == ["no-store"]
    assert scope[ROUTE_SCOPE_KEY] == "unmatched"


def test_a_client_gone_before_its_body_arrived_gets_no_answer():
    assert call(ApiASGIHandler(), http_scope("/health"))[0] == []
