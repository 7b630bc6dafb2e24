"""A lean Django ASGI handler for the JSON API, and the router that chooses it by path.

Django's stock ASGI handler is built for pages: each request gets a fresh executor thread
(ThreadSensitiveContext), the request_started/finished signals and every MiddlewareMixin
middleware hop to that thread, and a second task listens for disconnects. On this API
that costs several milliseconds a request. API requests need none of it: they use no
database, sessions, CSRF or messages. So API paths run through the same URLconf and
views with no middleware and no thread hops; everything else (admin, console, docs,
static files) keeps the full stack.

The lean handler is also where API requests are observed, once each: the request id
(`X-Request-ID`, in a contextvar for the logs) and the latency histogram by URL pattern name.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import DisallowedHost, RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.exception import convert_exception_to_response, response_for_exception
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import set_script_prefix

from memoryserver.observability.metrics import get_metrics
from memoryserver.observability.request_id import (
    HEADER,
    REQUEST_ID_SCOPE_KEY,
    RequestIdMiddleware,
    current_request_id,
    request_id_for,
)
from memoryserver.observability.tracing import ROUTE_SCOPE_KEY
from rest.hot import HotRoutes, serve
from rest.seed.urls import hot_routes as seed_hot_routes
from rest.v1.urls import hot_routes as v1_hot_routes

API_PREFIXES = (
    "/health",
    "/info",
    "/metrics",
    "/sessions/",
    "/long-term-memory",
    "/memory-prompt",
    "/memory-search",
    "/tasks/",
    "/v1/",
)
API_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
hot_routes = HotRoutes([*seed_hot_routes, *v1_hot_routes])


class ApiASGIHandler(ASGIHandler):
    """Serves API requests on the event loop: no middleware, signals or executor threads."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        # Django's own inner handler (URL resolution, view call), which stubs do not declare.
        inner = self._get_response_async  # type: ignore[attr-defined]
        self._middleware_chain = convert_exception_to_response(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        request_id = scope[REQUEST_ID_SCOPE_KEY] = request_id_for(scope.get("headers"))
        token = current_request_id.set(request_id)
        try:
            try:
                body_file = await self.read_body(receive)
            except RequestAborted:
                return
            try:
                route, response = await self._handle(scope, body_file)
            finally:
                body_file.close()
            for name, value in API_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers[HEADER] = request_id
            await self.send_response(response, send)
            scope[ROUTE_SCOPE_KEY] = route
            elapsed = time.perf_counter() - started
            get_metrics().observe_request(route, scope.get("method", ""), response.status_code, elapsed)
        finally:
            current_request_id.reset(token)

    async def _handle(self, scope: dict[str, Any], body_file: Any) -> tuple[str, HttpResponseBase]:
        """The route's name (for metrics) and the response: from a hot route when the request
        has one, otherwise from Django's URLconf and views."""
        hot = hot_routes.find(scope)
        if hot is not None:
            return hot.route.name, await serve(hot, scope, body_file.read())
        set_script_prefix(get_script_prefix(scope))
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None  # Django returns one or the other
            return _route_name(None), error_response
        response = await self._respond(request)
        return _route_name(request), response  # resolved while responding

    async def _respond(self, request: HttpRequest) -> HttpResponseBase:
        try:
            request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware would check
        except DisallowedHost as error:
            return response_for_exception(request, error)
        return await self.get_response_async(request)


def _route_name(request: HttpRequest | None) -> str:
    """The URL pattern's name (or route), never the raw path: one time series per endpoint."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unmatched"
    return str(match.url_name or match.route or "unnamed")


class PathRouter:
    """Sends API paths to the lean handler and everything else to the full application.

    The full application gets request ids from `RequestIdMiddleware`; the lean handler
    sets its own, with no extra ASGI layer on the API's path.
    """

    def __init__(self, api: Any, full: Any) -> None:
        self.api = api
        self.full = RequestIdMiddleware(full)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        app = self.api if scope["path"].startswith(API_PREFIXES) else self.full
        await app(scope, receive, send)
