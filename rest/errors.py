"""Translate every failure into the JSON error shape of the contract.

Body: {"detail": str, "status_code": int, "errors": [{"field": str, "message": str}]}
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from rest_framework import exceptions as drf
from rest_framework.response import Response

from memoryserver.errors import (
    REDIS_DOWN,
    BackendUnavailable,
    FeatureDisabled,
    FieldProblem,
    MemoryServerError,
    Unauthenticated,
    error_body,
)
from memoryserver.redis import REDIS_UNAVAILABLE

logger = logging.getLogger(__name__)

# An error response: status, JSON body, extra headers.
Translated = tuple[int, dict[str, Any], dict[str, str]]


def _drf_problems(detail: Any, prefix: str = "") -> list[FieldProblem]:
    """Flatten DRF's nested validation detail into field paths like `messages.3.role`."""
    if isinstance(detail, dict):
        problems = []
        for key, value in detail.items():
            field = prefix if key == "non_field_errors" else f"{prefix}.{key}".strip(".")
            problems.extend(_drf_problems(value, field))
        return problems
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [FieldProblem(prefix, str(item)) for item in detail]
        problems = []
        for index, item in enumerate(detail):
            problems.extend(_drf_problems(item, f"{prefix}.{index}".strip(".")))
        return problems
    return [FieldProblem(prefix, str(detail))]


def translate(exc: Exception) -> Translated | None:
    """The error response of a known failure; None for anything else (a 500)."""
    if isinstance(exc, MemoryServerError):
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else {}
        if isinstance(exc, BackendUnavailable) and exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return exc.status_code, error_body(exc.status_code, exc.detail, exc.problems), headers
    if isinstance(exc, RequestDataTooBig):
        return 413, error_body(413, "Request body is too large."), {}
    if isinstance(exc, REDIS_UNAVAILABLE):
        logger.warning("Redis unavailable: %s", type(exc).__name__)
        return 503, error_body(503, REDIS_DOWN), {"Retry-After": "1"}
    if isinstance(exc, drf.ValidationError):
        problems = _drf_problems(exc.detail)
        return 422, error_body(422, "Invalid input.", problems), {}
    if isinstance(exc, drf.APIException):
        headers = {}
        if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
            headers["WWW-Authenticate"] = "Bearer"
        return exc.status_code, error_body(exc.status_code, str(exc.detail)), headers
    return None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF hook: known failures become JSON errors; anything else stays a 500."""
    return drf_response(translate(exc))


def drf_response(translated: Translated | None) -> Response | None:
    if translated is None:
        return None
    status_code, body, headers = translated
    response = Response(body, status=status_code, headers=headers)
    if status_code == FeatureDisabled.status_code:
        # A feature switched off (no chat model...) answers 501 by design, saying what to
        # configure: worth a line, not the ERROR Django logs for a server-side 5xx.
        logger.info("Feature off: %s", body["detail"])
        response._has_been_logged = True  # Django's own marker
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django's 400s (a refused Host header, too many parameters), in the API's error shape;
    the detail is fixed text, never the refused value."""
    if isinstance(exception, DisallowedHost):
        detail = "The Host header names a host this server does not answer to (ALLOWED_HOSTS)."
    elif isinstance(exception, (TooManyFieldsSent, TooManyFilesSent)):
        detail = f"Too many parameters: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} are accepted."
    else:
        detail = "Bad request."
    return JsonResponse(error_body(400, detail), status=400)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    detail = f"No endpoint at {request.path}."
    if _resolves(_other_slash(request.path_info)):
        # The routes say exactly where their slashes go: name the one a client just missed.
        detail += f" Did you mean {_other_slash(request.path)}?"
    return JsonResponse(error_body(404, detail), status=404)


def _other_slash(path: str) -> str:
    return path[:-1] if path.endswith("/") else f"{path}/"


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True


INTERNAL_ERROR = "Internal server error."  # all a client learns of an unexpected failure


def server_error(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body(500, INTERNAL_ERROR), status=500)
