"""rest.hot: the hot /v1 routes answer exactly as their DRF views do, failures included, and
leave to Django what they cannot vouch for."""

from __future__ import annotations

import io
import re
import time
from datetime import datetime
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.urls import resolve

import rest.hot
import server.api_handler
from longterm_app.search import INDEX_SIZES
from longterm_app.services import ensure_memory_index, forget_namespace_indexes
from rest.hot import HotRoutes
from server.api_handler import hot_routes
from sessions_app import services as session_services
from tests.auth.conftest import bearer

ISO = re.compile(r"^\d{4}-\d\d-\d\dT")
SERVER_TIMES = {"created_at", "updated_at", "last_accessed", "persisted_at"}


def test_each_hot_route_is_the_hot_route_of_its_view_and_url_name():
    for route, _ in hot_routes._routes:
        path = route.template.replace("{session_id}", "s-1")
        assert "{" not in path
        match = resolve(path)
        assert match.url_name == route.name
        assert match.func.view_class is route.view  # type: ignore[attr-defined]
        assert hot_routes.find(scope(route.method, path)) is not None


def scope(method: str, path: str, host: bytes = b"testserver", **extra: Any) -> dict[str, Any]:
    return {"method": method, "path": path, "query_string": b"", "headers": [(b"host", host)], **extra}


@pytest.mark.parametrize(
    ("request_scope", "why"),
    [
        (scope("GET", "/v1/working-memory/s-1", host=b"evil.example"), "host outside ALLOWED_HOSTS"),
        (scope("GET", "/v1/working-memory/s-1", root_path="/memory"), "script prefix"),
        (scope("GET", "/v1/working-memory/s-1", query_string=b"namespace=\xff"), "query not UTF-8"),
        (scope("GET", "/v1/working-memory/s-1", query_string=b"&".join([b"a=1"] * 1001)), "too many fields"),
        (scope("DELETE", "/v1/working-memory/s-1"), "method without a hot route"),
        (scope("GET", "/v1/working-memory/s-1/messages"), "deeper path"),
        (scope("GET", "/v1/working-memory/"), "listing"),
    ],
)
def test_what_a_hot_route_cannot_vouch_for_is_left_to_django(settings, request_scope, why):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert hot_routes.find(request_scope) is None, why


def masked(value: Any) -> Any:
    """A response body without the times the server stamped on it just now."""
    if isinstance(value, dict):
        return {
            key: "<now>" if key in SERVER_TIMES and stamped(item) else masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def stamped(value: Any) -> bool:
    """A time within the last hour, as epoch seconds or ISO-8601 (the test's own are older)."""
    if isinstance(value, str) and ISO.match(value):
        value = datetime.fromisoformat(value).timestamp()
    return isinstance(value, float) and value > time.time() - 3600


# Headers that differ between any two answers, whichever route served them.
VARYING_HEADERS = {"date", "server", "x-request-id", "content-length", "transfer-encoding"}


def answer(response: httpx.Response) -> tuple[int, Any, dict[str, str]]:
    body = masked(response.json()) if response.content else None
    headers = {name: value for name, value in response.headers.items() if name not in VARYING_HEADERS}
    return response.status_code, body, headers


def token(*scopes: str) -> dict[str, str]:
    out = io.StringIO()
    arguments = [part for name in scopes for part in ("--scope", name)]
    call_command("token", "add", *arguments, stdout=out, stderr=io.StringIO())
    return bearer(out.getvalue().strip())


MESSAGES = [
    {
        "role": "user",
        "content": "I moved to Lisbon in May",
        "id": "m-1",
        "created_at": "2026-05-01T10:00:00Z",
    },
    {
        "role": "assistant",
        "content": "Noted: Lisbon since May.",
        "id": "m-2",
        "created_at": "2026-05-01T10:00:05Z",
    },
]


def scenario(api: httpx.Client) -> list[tuple[int, Any, dict[str, str | None]]]:
    """Successes and failures of every hot operation, on an empty Redis with fresh tokens."""
    writer, reader = token("memory:read", "memory:write"), token("memory:read")
    put_body = {"messages": MESSAGES, "data": {"city": "Lisbon"}, "context": "earlier: Porto"}
    path = "/v1/working-memory/s-1"
    space = {"namespace": "hot"}
    calls = [
        api.put(path, params=space, json=put_body, headers=writer),
        api.put(path, params=space, json=put_body, headers={**writer, "If-Match": '"1"'}),
        api.put(path, params=space, json=put_body, headers={**writer, "If-Match": '"1"'}),  # stale
        api.put(path, params=space, content=b"{not json", headers=writer),
        api.put(path, params=space, json={"messages": [{"role": "chef"}]}, headers=writer),
        api.put(path, params=space, json=put_body, headers=reader),  # no write scope
        api.put(path, params={**space, "context_window_max": "-5"}, json=put_body, headers=writer),
        api.get(path, params=space, headers=reader),
        api.get(path, params={**space, "model_name": "gpt-4o", "context_window_max": "500"}, headers=reader),
        api.get(path, params={**space, "model_name": "no-such-model"}, headers=reader),
        api.get(path, params={**space, "recent_messages_limit": "1"}, headers=reader),
        api.get(path, params={**space, "recent_messages_limit": "zero"}, headers=reader),
        api.get("/v1/working-memory/s-2", params=space, headers=reader),  # no such session
        api.get("/v1/working-memory/bad%20id", params=space, headers=reader),
        api.get(path, params=space),  # no credentials
        api.get(path, params=space, headers={"Authorization": "Bearer not-a-token"}),
        api.post("/v1/long-term-memory/search", json={"text": "Lisbon", "limit": 3}, headers=reader),
        api.post("/v1/long-term-memory/search", json={"text": "Lisbon", "limit": -1}, headers=reader),
        api.post("/v1/long-term-memory/search", content=b"", headers=reader),
        api.post("/v1/long-term-memory/search", json=[], headers=reader),
    ]
    memory = {
        "id": "lt-1",
        "text": "The user moved to Lisbon in May",
        "namespace": "hot",
        "topics": ["moves"],
    }
    seed_path = "/sessions/s-1/memory"
    seed_calls = [
        api.put(
            seed_path, params=space, json={"messages": MESSAGES, "context": "earlier: Porto"}, headers=writer
        ),
        api.put(seed_path, params=space, json={"messages": MESSAGES}, headers={**writer, "If-Match": '"9"'}),
        api.put(seed_path, params=space, json={"messages": "none"}, headers=writer),
        api.get(seed_path, params={**space, "window_size": "1"}, headers=reader),
        api.get(seed_path, params={**space, "window_size": "0"}, headers=reader),
        api.get("/sessions/s-9/memory", params=space, headers=reader),
        api.post("/long-term-memory", json={"memories": [memory]}, headers=writer),
        api.post("/long-term-memory", json={"memories": [memory]}, headers=reader),  # no write scope
        api.post("/long-term-memory", json={"memories": [{"text": ""}]}, headers=writer),
        api.post(
            "/long-term-memory/search", json={"text": "Lisbon", "namespace": {"eq": "hot"}}, headers=reader
        ),
        api.post("/long-term-memory/search", json={"text": "Lisbon", "search_mode": "fuzzy"}, headers=reader),
        api.post("/long-term-memory/search", content=b"[1", headers=reader),
    ]
    return [answer(response) for response in calls + seed_calls]


def empty_redis(redis_client) -> None:
    """As the redis_client fixture leaves it, with no index size remembered either."""
    redis_client.flushdb()
    forget_namespace_indexes()
    ensure_memory_index()
    INDEX_SIZES.clear()


@pytest.fixture
def counted_hot_calls(monkeypatch) -> list[str]:
    """The hot routes that served requests (the handler's `serve`, spied on)."""
    served: list[str] = []

    async def spy(match: Any, request_scope: Any, body: bytes) -> Any:
        served.append(match.route.name)
        return await rest.hot.serve(match, request_scope, body)

    monkeypatch.setattr(server.api_handler, "serve", spy)
    return served


def test_hot_routes_answer_as_their_views_do(api, settings, redis_client, monkeypatch, counted_hot_calls):
    settings.AUTH_MODE = "token"
    settings.AUTH_ENFORCE_SCOPES = True
    hot = scenario(api)
    assert len(counted_hot_calls) == len(hot)

    empty_redis(redis_client)
    counted_hot_calls.clear()
    monkeypatch.setattr(server.api_handler, "hot_routes", HotRoutes([]))
    through_django = scenario(api)
    assert counted_hot_calls == []

    for index, (left, right) in enumerate(zip(hot, through_django, strict=True)):
        assert left == right, index
    statuses = [status for status, _, _ in hot]
    v1_statuses = [
        200,
        200,
        412,
        400,
        422,
        403,
        422,
        200,
        200,
        200,
        200,
        422,
        404,
        422,
        401,
        401,
        200,
        422,
        400,
        422,
    ]
    assert statuses[:20] == v1_statuses
    assert statuses[20:] == [200, 412, 422, 200, 422, 404, 200, 403, 422, 200, 422, 400]
    assert [memory["id"] for memory in hot[29][1]["memories"]] == ["lt-1"]
    assert hot[0][2]["etag"] == '"1"' and hot[1][2]["etag"] == '"2"'
    assert hot[14][2]["www-authenticate"] == "Bearer"
    assert hot[0][2]["allow"] == "GET, PUT, DELETE, HEAD, OPTIONS"
    assert hot[0][2]["cache-control"] == "no-store"
    assert hot[8][1]["context_percentage_total_used"] is not None


def test_an_unexpected_failure_is_a_logged_500_with_the_json_error_body(api, monkeypatch, caplog):
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(session_services, "get_working_memory", broken)
    response = api.get("/v1/working-memory/s-1", params={"namespace": "hot"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "status_code": 500}
    assert "disk on fire" not in response.text
    assert any(record.exc_info and "disk on fire" in str(record.exc_info[1]) for record in caplog.records)


def test_two_authorization_headers_are_one_invalid_token(api, settings):
    settings.AUTH_MODE = "token"
    valid = token("memory:read")["Authorization"]
    headers = [("Authorization", valid), ("Authorization", "Bearer someone-else")]
    response = api.get("/v1/working-memory/s-1", params={"namespace": "hot"}, headers=headers)
    assert response.status_code == 401
    assert (
        api.get(
            "/v1/working-memory/s-1", params={"namespace": "hot"}, headers={"Authorization": valid}
        ).status_code
        == 404
    )


def test_a_query_django_refuses_is_refused_not_a_500(api):
    too_many = "&".join(f"p{i}=1" for i in range(1001))
    response = api.get(f"/v1/working-memory/s-1?namespace=hot&{too_many}")
    assert response.status_code == 400
    assert response.json()["status_code"] == 400, response.text


def test_a_host_outside_allowed_hosts_is_a_json_400_that_does_not_echo_it(api, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    response = api.get(
        "/v1/working-memory/s-1", params={"namespace": "hot"}, headers={"host": "evil.example"}
    )
    assert response.status_code == 400
    assert response.json()["status_code"] == 400 and "evil" not in response.text
