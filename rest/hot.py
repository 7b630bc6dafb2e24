"""The hottest API operations, served straight from ASGI with neither Django's request cycle nor DRF.

An agent reads and writes its working memory and searches its memories on every turn, so
these few routes carry most of the traffic. Their views are thin: the work is in an
operation function that takes an `ApiCall` and answers with an `HttpResponse`. The DRF view
(which the OpenAPI schema, OPTIONS and every other method still use) and the hot route call
the same operation, so the contract is one piece of code; the hot route only skips what
costs a JSON API time and gives it nothing: building an `ASGIRequest` and a DRF `Request`,
URL resolution through every pattern, content negotiation and `finalize_response`.

A hot route authenticates and checks scopes as `ApiView` does, answers failures with the
same translation its view's exception handler uses, and leaves to Django every request it
cannot vouch for (a host outside ALLOWED_HOSTS, a script prefix), so Django answers those
exactly as before.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.request import split_domain_port, validate_host

from memoryserver.asgi_headers import header
from memoryserver.auth.authenticate import authenticate
from memoryserver.auth.principal import Scope
from memoryserver.errors import error_body
from rest.errors import INTERNAL_ERROR
from rest.plumbing import ApiCall, ApiView

logger = logging.getLogger("django.request")  # where Django logs a view's unhandled error

Operation = Callable[..., Awaitable[HttpResponse]]
_PARAMETER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class HotRoute:
    """One operation: its method, path template (`/v1/x/{name}`; a parameter is one path
    segment, as Django's `<str:name>`), URL pattern name (for metrics), the view it is the
    hot route of (whose scope, error translation and Allow header it keeps) and the
    operation both call."""

    method: str
    template: str
    name: str
    view: type[ApiView]
    operation: Operation

    def pattern(self) -> re.Pattern[str]:
        parts = _PARAMETER.split(self.template)
        # split() alternates literal text and parameter names
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        return re.compile(regex)

    @cached_property
    def scope(self) -> Scope:
        return self.view.scope_for(self.method)

    @cached_property
    def allow(self) -> str:
        """The Allow header DRF gives every answer of the view."""
        view = self.view()
        view.setup(HttpRequest())  # as as_view() sets it up (a view with GET answers HEAD too)
        return ", ".join(view.allowed_methods)


class HotRoutes:
    """Finds the hot route of an ASGI request, if it has one."""

    def __init__(self, routes: list[HotRoute]) -> None:
        assert not any(route.view.public for route in routes), "hot routes authenticate every call"
        self._routes = [(route, route.pattern()) for route in routes]

    def find(self, scope: Mapping[str, Any]) -> HotMatch | None:
        method, path = scope["method"], scope["path"]
        for route, pattern in self._routes:
            if route.method == method and (match := pattern.fullmatch(path)):
                return _vouched(scope, HotMatch(route, match.groupdict(), {}))
        return None


def _vouched(scope: Mapping[str, Any], match: HotMatch) -> HotMatch | None:
    """The match with its query parameters, unless Django should answer: a script prefix, a
    host outside ALLOWED_HOSTS, or a query string Django refuses (not UTF-8, too many fields)."""
    if scope.get("root_path") or not _host_allowed(scope):
        return None
    try:
        query = QueryDict(scope.get("query_string", b"").decode())
    except (UnicodeDecodeError, SuspiciousOperation):
        return None
    return replace(match, query=query.dict())


@dataclass(frozen=True)
class HotMatch:
    route: HotRoute
    parameters: dict[str, str]
    query: dict[str, str]  # the last value of each parameter, as QueryDict.dict() gives it


def _host_allowed(scope: Mapping[str, Any]) -> bool:
    """The Host header passes ALLOWED_HOSTS as `HttpRequest.get_host()` checks it. Anything
    less plain (no Host header, X-Forwarded-Host in use) is left to Django."""
    if settings.USE_X_FORWARDED_HOST:
        return False
    host = header(scope, b"host")
    if host is None:
        return False
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


async def serve(match: HotMatch, scope: Mapping[str, Any], body: bytes) -> HttpResponse:
    """Authenticate, run the operation and answer, failures included."""
    route = match.route
    try:
        principal = await authenticate(header(scope, b"authorization"))
        principal.require(route.scope)
        call = ApiCall(principal, match.query, body, header(scope, b"if-match"))
        response = await route.operation(call, **match.parameters)
    except Exception as error:
        response = _failure(route, scope, error)
    response["Allow"] = route.allow
    return response


def _failure(route: HotRoute, scope: Mapping[str, Any], error: Exception) -> HttpResponse:
    translated = route.view.translate(error)
    if translated is None:
        logger.error("Internal Server Error: %s", scope["path"], exc_info=error, extra={"status_code": 500})
        translated = 500, error_body(500, INTERNAL_ERROR), {}
    status, body, headers = translated
    response = HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
    for name, value in headers.items():
        response[name] = value
    return response
